"""Quality evaluation: retrieval and answer metrics over a question file, for any pipeline.

A pipeline is anything with `retrieve(question, k) -> list[Hit]` and
`answer(question, k) -> AnswerView`; our Assistant and the plain LangChain baseline
(`assistant.baseline`) are both wrapped that way, so the same code scores both.
"""

from __future__ import annotations

import json
import re
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

# none: nothing in the library answers it; place: it asks about a place no report covers.
KINDS = ("fact", "para", "cross", "none", "place")
ANSWERABLE = ("fact", "para", "cross")
UNANSWERABLE = ("none", "place")
SPLITS = ("calib", "check")
# Groups reported, in order; "fact+para" is what the thresholds of the other issues name.
GROUPS: dict[str, tuple[str, ...]] = {
    "all": KINDS,
    "fact+para": ("fact", "para"),
    "fact": ("fact",),
    "para": ("para",),
    "cross": ("cross",),
    "none": ("none",),
    "place": ("place",),
    "none+place": UNANSWERABLE,
}
FIRST_CHARS = 200
RETRIEVAL_DEPTH = 10
RECALL_AT = (1, 5, 10)

# Metric keys in display order, with a label for people.
METRICS: dict[str, str] = {
    "recall@1": "证据召回@1",
    "recall@5": "证据召回@5",
    "recall@10": "证据召回@10",
    "mrr": "MRR",
    "answer_key_accuracy": "答案要点准确率",
    "citation_precision": "引用精确率",
    "gold_doc_coverage": "标准文档引用覆盖",
    "none_not_found": "无答案题答未找到（含库外地点）",
    "answerable_not_found": "有答案题答未找到",
    "key_in_first_200": "答案要点在前200字",
    "unsupported_share": "含无依据句的回答占比",
}
# For these, lower is better: the ratio column is still ours / baseline.
LOWER_IS_BETTER = frozenset({"unsupported_share", "answerable_not_found"})

_WS = re.compile(r"\s+")


class EvalError(ValueError):
    """The question file cannot be used; the message names the file and line."""


@dataclass
class Question:
    id: str
    question: str
    kind: str
    gold_docs: list[str] = field(default_factory=list)
    answer_keys: list[list[str]] = field(default_factory=list)
    evidence: str = ""
    split: str = ""


def load_questions(path: Path, split: str | None = None) -> list[Question]:
    """Read a questions.jsonl file (id, question, kind, gold_docs, answer_keys, evidence)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise EvalError(f"无法读取评测问题文件 {path}（{type(exc).__name__}）。") from exc
    out: list[Question] = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            q = Question(
                id=str(row["id"]),
                question=str(row["question"]),
                kind=str(row["kind"]),
                gold_docs=[str(d) for d in row.get("gold_docs") or []],
                answer_keys=[[str(a) for a in group] for group in row.get("answer_keys") or []],
                evidence=str(row.get("evidence") or ""),
                split=str(row.get("split") or ""),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise EvalError(
                f"评测问题文件 {path} 第 {n} 行格式不对（{type(exc).__name__}: {exc}）。"
            ) from exc
        if q.kind not in KINDS:
            raise EvalError(
                f"评测问题文件 {path} 第 {n} 行的 kind={q.kind!r} 未知，可选 {'/'.join(KINDS)}。"
            )
        if q.split and q.split not in SPLITS:
            raise EvalError(
                f"评测问题文件 {path} 第 {n} 行的 split={q.split!r} 未知，可选 {'/'.join(SPLITS)}。"
            )
        out.append(q)
    if not out:
        raise EvalError(f"评测问题文件 {path} 中没有问题。")
    if split:
        out = [q for q in out if q.split == split]
        if not out:
            raise EvalError(f"评测问题文件 {path} 中没有 split={split} 的问题。")
    return out


# ---- metric functions (pure, unit-tested) ------------------------------------------------


def squeeze(text: str) -> str:
    """Text with all whitespace removed: evidence and keys are compared this way."""
    return _WS.sub("", text or "")


def evidence_rank(texts: Sequence[str], evidence: str) -> int | None:
    """1-based rank of the first passage containing the evidence string, or None."""
    needle = squeeze(evidence)
    if not needle:
        return None
    for rank, text in enumerate(texts, start=1):
        if needle in squeeze(text):
            return rank
    return None


def recall_at(ranks: Sequence[int | None], k: int) -> float | None:
    """Share of questions whose evidence is within the top k (None when there are none)."""
    if not ranks:
        return None
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks)


def mean_reciprocal_rank(ranks: Sequence[int | None]) -> float | None:
    if not ranks:
        return None
    return sum(1.0 / r for r in ranks if r) / len(ranks)


def answer_keys_match(text: str, answer_keys: Sequence[Sequence[str]]) -> bool:
    """Every group of alternatives has at least one alternative in the text."""
    hay = squeeze(text)
    return all(any(squeeze(alt) and squeeze(alt) in hay for alt in group) for group in answer_keys)


def citation_precision(cited_docs: Iterable[str], gold_docs: Iterable[str]) -> float | None:
    """Share of the distinct cited documents that are gold documents (None: nothing cited)."""
    cited = set(cited_docs)
    if not cited:
        return None
    return len(cited & set(gold_docs)) / len(cited)


def gold_doc_coverage(cited_docs: Iterable[str], gold_docs: Iterable[str]) -> float | None:
    """Share of the gold documents that are cited (None: the question has none)."""
    gold = set(gold_docs)
    if not gold:
        return None
    return len(gold & set(cited_docs)) / len(gold)


def _mean(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


# ---- pipelines ---------------------------------------------------------------------------


@dataclass
class Hit:
    """One retrieved passage, as far as the metrics care."""

    text: str
    doc_id: str


@dataclass
class AnswerView:
    """What the metrics read from an answer."""

    text: str
    found: bool
    cited_docs: list[str]
    unsupported: int | None  # None: the pipeline does not check its sentences
    lead: str = ""  # the answer as shown, from its start (for "the key comes first")


class Pipeline(Protocol):
    name: str

    def retrieve(self, question: str, k: int) -> list[Hit]: ...

    def answer(self, question: str, k: int) -> AnswerView: ...


class AssistantPipeline:
    """Our pipeline: hybrid search, then `Assistant.ask` (offline extract unless `offline=False`)."""

    name = "ours"

    def __init__(self, assistant, offline: bool = True) -> None:
        self.assistant = assistant
        self.offline = offline

    def retrieve(self, question: str, k: int) -> list[Hit]:
        return [Hit(p.chunk.text, p.chunk.doc_id) for p in self.assistant.search(question, k=k)]

    def answer(self, question: str, k: int) -> AnswerView:
        ans = self.assistant.ask(question, k=k, offline=self.offline)
        return view_of_answer(ans)


def view_of_answer(ans) -> AnswerView:
    """An `assistant.answers.Answer` (qa or compare mode) reduced to what is scored."""
    cited = [c.doc_id for c in ans.citations]
    texts = [ans.answer]
    for region in ans.regions or []:
        cited += [c.doc_id for c in region.citations]
        texts.append(region.summary)
    return AnswerView(
        text="\n".join(t for t in texts if t),
        found=bool(ans.found),
        cited_docs=list(dict.fromkeys(cited)),
        unsupported=len(ans.unsupported),
        lead=ans.answer,
    )


# ---- running -----------------------------------------------------------------------------


@dataclass
class Outcome:
    """One question's result for one pipeline."""

    id: str
    kind: str
    evidence_rank: int | None
    has_evidence: bool
    key_match: bool | None
    key_first: bool | None
    cited_docs: list[str]
    citation_precision: float | None
    gold_doc_coverage: float | None
    found: bool
    unsupported: int | None
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_pipeline(
    pipeline: Pipeline, questions: Sequence[Question], k: int, depth: int = RETRIEVAL_DEPTH
) -> list[Outcome]:
    """Retrieve `depth` passages and answer with `k` for every question."""
    out: list[Outcome] = []
    for q in questions:
        t0 = time.perf_counter()
        hits = pipeline.retrieve(q.question, depth)
        ans = pipeline.answer(q.question, k)
        out.append(
            Outcome(
                id=q.id,
                kind=q.kind,
                evidence_rank=evidence_rank([h.text for h in hits], q.evidence),
                has_evidence=bool(squeeze(q.evidence)),
                key_match=answer_keys_match(ans.text, q.answer_keys) if q.answer_keys else None,
                key_first=answer_keys_match((ans.lead or ans.text)[:FIRST_CHARS], q.answer_keys)
                if q.answer_keys and q.kind == "fact"
                else None,
                cited_docs=ans.cited_docs,
                citation_precision=citation_precision(ans.cited_docs, q.gold_docs)
                if q.gold_docs
                else None,
                gold_doc_coverage=gold_doc_coverage(ans.cited_docs, q.gold_docs),
                found=ans.found,
                unsupported=ans.unsupported,
                seconds=time.perf_counter() - t0,
            )
        )
    return out


def summarize(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """The metrics of a set of outcomes; a metric is None when no question applies."""
    ranks = [o.evidence_rank for o in outcomes if o.has_evidence]
    keyed = [o.key_match for o in outcomes if o.key_match is not None]
    none_qs = [o for o in outcomes if o.kind in UNANSWERABLE]
    answerable = [o for o in outcomes if o.kind in ANSWERABLE]
    first = [o.key_first for o in outcomes if o.key_first is not None]
    checked = [o for o in outcomes if o.unsupported is not None]
    metrics: dict[str, Any] = {"n": len(outcomes)}
    for k in RECALL_AT:
        metrics[f"recall@{k}"] = recall_at(ranks, k)
    metrics["mrr"] = mean_reciprocal_rank(ranks)
    metrics["answer_key_accuracy"] = sum(keyed) / len(keyed) if keyed else None
    metrics["citation_precision"] = _mean(o.citation_precision for o in outcomes)
    metrics["gold_doc_coverage"] = _mean(o.gold_doc_coverage for o in outcomes)
    metrics["none_not_found"] = (
        sum(1 for o in none_qs if not o.found) / len(none_qs) if none_qs else None
    )
    metrics["answerable_not_found"] = (
        sum(1 for o in answerable if not o.found) / len(answerable) if answerable else None
    )
    metrics["key_in_first_200"] = sum(first) / len(first) if first else None
    metrics["unsupported_share"] = (
        sum(1 for o in checked if o.unsupported) / len(checked) if checked else None
    )
    return metrics


def by_group(outcomes: Sequence[Outcome]) -> dict[str, dict[str, Any]]:
    """`summarize` for each group of GROUPS that has questions."""
    out: dict[str, dict[str, Any]] = {}
    for group, kinds in GROUPS.items():
        part = [o for o in outcomes if o.kind in kinds]
        if part:
            out[group] = summarize(part)
    return out


def ratio(ours: float | None, base: float | None) -> float | None:
    if ours is None or base is None or base == 0:
        return None
    return ours / base


@dataclass
class EvalReport:
    """Both pipelines' results on one question file, from the same run."""

    questions: str
    k: int
    answerer: str
    ours: list[Outcome]
    baseline: list[Outcome] | None = None
    baseline_config: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def groups(self) -> dict[str, dict[str, Any]]:
        """Per group: each metric as {ours, baseline, ratio, baseline_at_ceiling}."""
        ours = by_group(self.ours)
        base = by_group(self.baseline) if self.baseline is not None else {}
        out: dict[str, dict[str, Any]] = {}
        for group, metrics in ours.items():
            row: dict[str, Any] = {"n": metrics["n"]}
            for key in METRICS:
                o = metrics.get(key)
                b = base.get(group, {}).get(key) if self.baseline is not None else None
                if o is None and b is None:
                    continue
                row[key] = {
                    "ours": o,
                    "baseline": b,
                    "ratio": ratio(o, b),
                    "baseline_at_ceiling": b is not None
                    and (b <= 0.0 if key in LOWER_IS_BETTER else b >= 1.0),
                }
            out[group] = row
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "questions": self.questions,
            "k": self.k,
            "retrieval_depth": RETRIEVAL_DEPTH,
            "answerer": self.answerer,
            "baseline": self.baseline_config if self.baseline is not None else None,
            "groups": self.groups(),
            "per_question": {
                "ours": [o.to_dict() for o in self.ours],
                "baseline": [o.to_dict() for o in self.baseline]
                if self.baseline is not None
                else None,
            },
            "seconds": {k: round(v, 2) for k, v in self.seconds.items()},
        }

    def render(self) -> str:
        """Side-by-side text tables, one per question group."""
        counts = {k: sum(1 for o in self.ours if o.kind == k) for k in KINDS}
        lines = [
            f"评测 {self.questions}：{len(self.ours)} 个问题（"
            + "，".join(f"{k} {n}" for k, n in counts.items() if n)
            + f"）；检索深度 {RETRIEVAL_DEPTH}，回答用前 {self.k} 段；答题方式：{self.answerer}",
        ]
        if self.baseline is not None:
            lines.append("基线：" + self.baseline_config.get("description", ""))
        for group, row in self.groups().items():
            lines.append("")
            lines.append(f"[{group}]  {row['n']} 题")
            header = f"  {_pad('指标', 22)}{_pad('本系统', 10)}"
            if self.baseline is not None:
                header += f"{_pad('基线', 10)}比值"
            lines.append(header)
            for key, label in METRICS.items():
                cell = row.get(key)
                if cell is None:
                    continue
                text = f"  {_pad(label, 22)}{_fmt(cell['ours']):<10}"
                if self.baseline is not None:
                    mark = "  基线已满分" if cell["baseline_at_ceiling"] else ""
                    text += f"{_fmt(cell['baseline']):<10}{_fmt(cell['ratio'], ratio=True)}{mark}"
                lines.append(text)
        if self.seconds:
            lines.append("")
            lines.append("耗时：" + "，".join(f"{k} {v:.1f} 秒" for k, v in self.seconds.items()))
        return "\n".join(lines)


def _fmt(value: float | None, ratio: bool = False) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}×" if ratio else f"{value:.3f}"


def _pad(text: str, width: int) -> str:
    """Left-align counting CJK characters as two columns."""
    cols = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(1, width - cols)


def evaluate(
    assistant,
    questions: Sequence[Question],
    *,
    k: int | None = None,
    baseline=None,
    offline: bool = True,
    source: str = "",
) -> EvalReport:
    """Score our pipeline (and the baseline, when given) on the same questions."""
    k = k or assistant.settings.top_k
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    ours = run_pipeline(AssistantPipeline(assistant, offline=offline), questions, k)
    seconds["ours"] = time.perf_counter() - t0
    base = None
    config: dict[str, Any] = {}
    if baseline is not None:
        t0 = time.perf_counter()
        base = run_pipeline(baseline, questions, k)
        seconds["baseline"] = time.perf_counter() - t0
        config = baseline.describe()
    answerer = "离线摘录" if offline else "大模型"
    return EvalReport(source, k, answerer, ours, base, config, seconds)


# ---- question sets -----------------------------------------------------------------------


@dataclass
class QuestionSet:
    """A question file and the folder of documents it is about (None: the shipped samples,
    which are the default library)."""

    name: str
    questions: Path
    docs: Path | None = None


def discover_sets(root: Path) -> list[QuestionSet]:
    """`root/questions.jsonl` (the samples) and every `root/<name>/questions.jsonl` that has
    a `docs/` folder beside it."""
    sets: list[QuestionSet] = []
    if (root / "questions.jsonl").is_file():
        sets.append(QuestionSet("sample", root / "questions.jsonl", None))
    for sub in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        if (sub / "questions.jsonl").is_file() and (sub / "docs").is_dir():
            sets.append(QuestionSet(sub.name, sub / "questions.jsonl", sub / "docs"))
    return sets


def assistant_for(base, qset: QuestionSet):
    """The Assistant a set is scored on: the given one for the samples, or one over the
    set's documents in its own store under `<store>/eval/<name>` (kept between runs, so
    unchanged documents are not embedded again)."""
    if qset.docs is None:
        return base
    from assistant.service import Assistant

    store = base.settings.store_dir / "eval" / qset.name
    settings = base.settings.model_copy(
        update={"reports_dir": qset.docs, "store_dir": store, "upload_dir": store / "uploads"}
    )
    assistant = Assistant.from_settings(settings)
    results = assistant.ingest_paths([qset.docs])
    bad = [r.line() for r in results if not r.ok]
    if bad:
        raise EvalError(f"评测文档 {qset.docs} 有文件无法索引：" + "；".join(bad))
    return assistant
