"""The Answer record every answerer returns, and its JSON form (the CLI contract of issue 3)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from assistant.types import Passage

MODES = ("auto", "qa", "compare")
OFFLINE = "offline"
OFFLINE_LABEL = "（离线摘录：以下内容直接摘自报告原文，未经大模型生成）"
OFFLINE_NOT_FOUND_LABEL = "（离线摘录模式，未调用大模型）"
NOT_COVERED = "该报告未涉及"

# Keys of the JSON object, in contract order; other tools depend on exactly these.
JSON_KEYS = (
    "question",
    "standalone_question",
    "mode",
    "answerer",
    "answer",
    "found",
    "citations",
    "unsupported",
    "regions",
    "retrieved",
    "timings_ms",
)


@dataclass
class Citation:
    """One `[n]` of an answer: the passage it points at, quoted."""

    n: int
    chunk_id: str
    doc_id: str
    region: str
    title: str
    section: str
    start: int
    end: int
    quote: str
    page: int = 0  # page of the source the passage starts on; 0 = not paged or unknown

    @classmethod
    def from_passage(cls, n: int, passage: Passage) -> Citation:
        c = passage.chunk
        return cls(
            n=n,
            chunk_id=c.chunk_id,
            doc_id=c.doc_id,
            region=c.region,
            title=c.title,
            section=c.section,
            start=c.start,
            end=c.end,
            quote=c.text,
            page=c.page,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "chunk_id": self.chunk_id,
            "doc_id": self.doc_id,
            "region": self.region,
            "title": self.title,
            "section": self.section,
            "start": self.start,
            "end": self.end,
            "quote": self.quote,
        }


@dataclass
class Unsupported:
    """A sentence the citation check could not back with its cited passages."""

    sentence: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"sentence": self.sentence, "reason": self.reason}


@dataclass
class RegionSummary:
    """One region's (or one document's) part of a cross-district answer.

    `practice` is the main measure as a whole quoted sentence and `figures` the key figures
    with what they count ("社区党群服务站68个"), each ending in its `[n]`; `strength` is the
    best evidence score of the region's passages (what a chart may show).
    """

    region: str
    found: bool
    summary: str
    citations: list[Citation] = field(default_factory=list)
    practice: str = ""
    figures: list[str] = field(default_factory=list)
    strength: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "found": self.found,
            "summary": self.summary,
            "citations": [c.to_dict() for c in self.citations],
        }


@dataclass
class Answer:
    """What the assistant says to one question, with everything needed to check it.

    `complete` is False when a model's answer was cut off or failed (deadline, broken stream,
    length limit); `answer` then holds the offline extract and `notice` says what happened,
    so a half-written answer is never shown as the answer. `partial` keeps the cut text for
    the UI to show clearly marked as incomplete, if it wants to.
    """

    question: str
    standalone_question: str = ""
    mode: str = "qa"
    answerer: str = OFFLINE
    answer: str = ""
    found: bool = False
    citations: list[Citation] = field(default_factory=list)
    unsupported: list[Unsupported] = field(default_factory=list)
    regions: list[RegionSummary] = field(default_factory=list)
    retrieved: list[Passage] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    # Not part of the JSON contract:
    complete: bool = True
    notice: str = ""
    partial: str = ""
    prompt: str = ""  # prompt profile used, "" for the default
    evidence: str = ""  # strong / moderate / weak
    failure: str = ""  # one of FAILURES, "" when answered

    @property
    def is_offline(self) -> bool:
        return self.answerer == OFFLINE

    @property
    def answerer_label(self) -> str:
        """Who answered, in words for people."""
        if self.is_offline:
            return "离线摘录模式（答案直接摘自报告原文）"
        return f"大模型回答（{self.answerer.removeprefix('llm:')}）"

    def to_json(self) -> dict[str, Any]:
        """The JSON object of the CLI contract, exactly these keys."""
        out: dict[str, Any] = {
            "question": self.question,
            "standalone_question": self.standalone_question or self.question,
            "mode": self.mode,
            "answerer": self.answerer,
            "answer": self.answer,
            "found": self.found,
            "citations": [c.to_dict() for c in self.citations],
            "unsupported": [u.to_dict() for u in self.unsupported],
            "regions": [r.to_dict() for r in self.regions],
            "retrieved": [
                {
                    "chunk_id": p.chunk.chunk_id,
                    "doc_id": p.chunk.doc_id,
                    "region": p.chunk.region,
                    "score": round(float(p.score), 6),
                    "text": p.chunk.text,
                }
                for p in self.retrieved
            ],
            "timings_ms": {
                key: round(float(self.timings_ms.get(key, 0.0)), 1)
                for key in ("retrieve", "answer", "total")
            },
        }
        assert tuple(out) == JSON_KEYS
        return out


# ---- Markdown made inert -----------------------------------------------------------------

# A `<` preceded by an even number of backslashes is live in Markdown.
_HTML_OPEN = re.compile(r"(?<!\\)((?:\\\\)*)<(?=[A-Za-z/!?])")
# `![` starts an image unless it is a citation marker after a "!" ("……成效![1]").
_IMAGE = re.compile(r"!\[(?!\d{1,3}\](?!\())")
# "[x]: url" at a line start defines a link target that `![x]` or `[x]` would load.
_LINK_DEF = re.compile(r"(?m)^(\s{0,3})\[(?=[^\]\n]+\]:)")
_JS_SCHEME = re.compile(r"(?i)\b(javascript|vbscript|data)\s*:")


def neutralize_markdown(text: str) -> str:
    """Report text (and model output quoting it) rendered as Markdown stays inert.

    No raw HTML tags, no images, no links: `<tag` -> `\\<tag`, `![` -> `!\\[`, `](` -> `]\\(`,
    and `javascript:` loses its colon, so a renderer shows the characters instead of acting.
    """
    if not text:
        return text
    text = _HTML_OPEN.sub(lambda m: m.group(1) + "\\<", text)
    text = _IMAGE.sub("!\\\\[", text)
    text = _LINK_DEF.sub(lambda m: m.group(1) + "\\[", text)
    text = text.replace("](", "]\\(")
    return _JS_SCHEME.sub(lambda m: m.group(1) + "\\:", text)


# ---- what an answerer hands back to the chain --------------------------------------------

# Why an answer holds no answer, as a type the UI and the API can branch on.
FAILURES = (
    "not_found",  # the reports hold nothing that answers it (weak evidence)
    "place_not_in_library",  # the question names a place no report covers
    "model_failed",  # the LLM failed; the offline extract was used instead
    "model_uncited",  # the LLM answered without any citation; the offline extract shown
    "prompt_error",  # a prompt file is broken
    "error",  # anything else (details in the log)
    "invalid_question",  # empty, only punctuation
    "empty_scope",  # no report matches the chosen documents/regions/kinds/years
)


@dataclass
class DraftSentence:
    """One sentence of an answer with the passage numbers it cites."""

    text: str
    citations: list[int]
    region: str = ""


@dataclass
class Draft:
    """An answerer's output, before the chain checks its citations.

    `text` is the Markdown shown and exported; `sentences` the same answer as records (the
    offline extract fills them; for a model's text the chain derives them after checking).
    `evidence` is strong / moderate / weak; `failure` one of FAILURES or "".
    """

    text: str
    answerer: str
    found: bool = True
    complete: bool = True
    notice: str = ""
    partial: str = ""
    require_citation: bool = True  # every sentence must cite (LLM); offline text is quoted
    regions: list[RegionSummary] = field(default_factory=list)
    sentences: list[DraftSentence] = field(default_factory=list)
    evidence: str = ""
    failure: str = ""
    # The passages the [n] markers count in, when the answerer used fewer than it was given
    # (packed into a model's context window); None: the ones it was given.
    passages: list[Passage] | None = None


class Answerer(Protocol):
    """Offline extract and LLM both answer through this; the chain does not care which.

    Built once per process by `answer_llm.make_answerer`; shared by every session, so it
    keeps no per-question state: the deadline of one answer is passed to each call.
    """

    name: str

    def answer(
        self,
        question: str,
        passages: list[Passage],
        *,
        regions: list[str] | None = None,
        style: str = "",
        on_token: Callable[[str], None] | None = None,
        deadline: Any = None,
    ) -> Draft: ...

    def compare(
        self,
        question: str,
        plan: Any,
        *,
        style: str = "",
        on_token: Callable[[str], None] | None = None,
        deadline: Any = None,
    ) -> Draft: ...

    def condense(self, history_text: str, question: str, deadline: Any = None) -> str | None:
        """A standalone rewrite of a follow-up, or None to use the offline rewrite."""
        ...
