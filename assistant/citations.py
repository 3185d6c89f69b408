"""Citation checks done by code after generation: `[n]` markers, numbers, uncited sentences."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation

from assistant.answers import OFFLINE_LABEL, Citation, Unsupported
from assistant.types import Passage

# [1], [1][2], [1,2], [1, 2], [1、2], [^1], 【1】, ［1］ (digits only, so "[1+6+N]" stays text)
_MARKER = re.compile(
    r"[\[【［]\s*\^?\s*(\d{1,3}(?:\s*[,，、;；]\s*\^?\s*\d{1,3})*)\s*[\]】］](?!\()"
)
# (1), （1）, (1,2), (1)(2), ⁽¹⁾, ¹: only right after Chinese text or punctuation and right
# before a clause end, a line end or another marker. So list numbering at a line start,
# "第(1)项", "2020(1)" and the "（一）" of headings stay text.
_AFTER_CJK = r"(?<=[\u3400-\u9fff。，、；！？”’」』》）])"
_BEFORE_END = r"(?=[ \t]*(?:[。！？!?；，、]|$)|[\[【［(（⁽])"
_PAREN_MARKERS = re.compile(
    _AFTER_CJK + r"(?:[(（][ \t]*\d{1,2}(?:[ \t]*[,，、][ \t]*\d{1,2})*[ \t]*[)）])+" + _BEFORE_END,
    re.MULTILINE,
)
_SUPERSCRIPTS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_SUPER_MARKERS = re.compile(
    rf"⁽([{_SUPERSCRIPTS}]{{1,2}})⁾|{_AFTER_CJK}([{_SUPERSCRIPTS}]{{1,2}}){_BEFORE_END}",
    re.MULTILINE,
)
_FROM_SUPER = str.maketrans(_SUPERSCRIPTS, "0123456789")
_CANON_MARKER = re.compile(r"\[(\d+)\]")
_THOUSANDS = re.compile(r"(?<![\d.])(\d{1,3})((?:,\d{3})+)(?![\d])")
_NUMBER = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)(\s*%)?")
_SENTENCE = re.compile(r"[^。！？!?\n]+(?:[。！？!?]+|$)(?:\s*\[\d+\])*")
_LIST_PREFIX = re.compile(r"^\s*(?:[-*+]\s+|\d{1,2}[.)、]\s*|#+\s*|>\s*)")
# "- **地区或标题**：" before a quote says whose it is; a title's digits (a file named
# "2024年…") are not figures the quote claims.
_LEAD_LABEL = re.compile(r"^\s*(?:[-*+]\s+)?\*\*[^*\n]{1,80}\*\*\s*[：:]\s*")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_NOT_FOUND = ("未找到", "未涉及", "没有找到", "没有涉及", "未提及", "没有提及", "无相关")


def normalize_digits(text: str) -> str:
    """Full-width digits and signs to ASCII, thousands separators dropped (1,300 -> 1300)."""
    text = unicodedata.normalize("NFKC", text)
    return _THOUSANDS.sub(lambda m: m.group(1) + m.group(2).replace(",", ""), text)


def _canon(value: str) -> str:
    try:
        d = Decimal(value).normalize()
    except InvalidOperation:
        return value
    return format(d, "f")


def numbers_in(text: str) -> list[tuple[str, bool]]:
    """(canonical value, is_percent) for every number in `text`, markers excluded."""
    text = normalize_digits(_CANON_MARKER.sub("", _MARKER.sub(_canon_group, text)))
    return [(_canon(m.group(1)), bool(m.group(2))) for m in _NUMBER.finditer(text)]


def _canon_group(m: re.Match[str]) -> str:
    nums = re.split(r"\s*[,，、;；]\s*\^?", m.group(1).strip())
    return "".join(f"[{int(n)}]" for n in nums if n)


def normalize_markers(text: str, limit: int | None = None) -> str:
    """Every marker group written as `[1][2]`.

    Brackets always mark a citation. The weaker forms ((1), ⁽¹⁾) are rewritten only when
    every number in them is at most `limit` (the number of passages), when one is given:
    "网格（29）。" with six passages is a number, not a citation.
    """

    def weak(nums: list[int], original: str) -> str:
        if not nums or (limit is not None and not all(1 <= n <= limit for n in nums)):
            return original
        return "".join(f"[{n}]" for n in nums)

    def paren(m: re.Match[str]) -> str:
        return weak([int(n) for n in re.findall(r"\d+", m.group(0))], m.group(0))

    def sup(m: re.Match[str]) -> str:
        digits = (m.group(1) or m.group(2)).translate(_FROM_SUPER)
        return weak([int(digits)], m.group(0))

    text = _MARKER.sub(_canon_group, text)
    text = _PAREN_MARKERS.sub(paren, text)
    return _SUPER_MARKERS.sub(sup, text)


def markers_in(text: str) -> list[int]:
    return _canon_markers(normalize_markers(text))


def _canon_markers(text: str) -> list[int]:
    return [int(n) for n in _CANON_MARKER.findall(text)]


def split_sentences(line: str) -> list[str]:
    """Sentences of one line; the `[n]` markers right after a sentence end stay with it."""
    return [s for s in (m.group(0) for m in _SENTENCE.finditer(line)) if s.strip()]


def _units(answer_md: str) -> list[str]:
    """The checkable pieces of an answer: sentences of text lines and cells of table rows."""
    units: list[str] = []
    for line in answer_md.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ">")) or _TABLE_RULE.match(stripped):
            continue
        if stripped.startswith("|"):
            units += [cell for cell in stripped.strip("|").split("|") if cell.strip()]
            continue
        units += split_sentences(stripped)
    return units


def _needs_citation(sentence: str) -> bool:
    text = _LIST_PREFIX.sub("", _CANON_MARKER.sub("", sentence)).strip()
    text = text.replace(OFFLINE_LABEL, "").strip()
    if len(_CJK.findall(text)) < 6 and not _NUMBER.search(text):
        return False  # headings, region names, "—", table headers
    if text.endswith(("：", ":")):
        return False  # a lead-in to a list
    return not any(word in text for word in _NOT_FOUND)


def verify_citations(
    answer_md: str,
    passages: Sequence[Passage],
    *,
    require_citation: bool = True,
) -> tuple[str, list[Citation], list[Unsupported]]:
    """Check an answer against the passages it was given.

    Returns the cleaned answer (markers to missing passages removed, the rest renumbered
    1..m in order of first use), the citations used, and the unsupported sentences:
    a marker pointing at no passage, a number absent from the sentence's cited passages,
    and (with `require_citation`) a sentence without any citation.
    """
    count = len(passages)
    text = normalize_markers(answer_md or "", limit=count)
    unsupported: list[Unsupported] = []

    # 1. markers pointing at no passage
    for sentence in _units(text):
        bad = sorted({n for n in _canon_markers(sentence) if not 1 <= n <= count})
        for n in bad:
            unsupported.append(
                Unsupported(
                    sentence=_clean_sentence(sentence, count),
                    reason=f"引用编号 [{n}] 不存在（只提供了 {count} 段摘录），已删除。",
                )
            )

    # 2. renumber the valid ones in order of first use
    order: dict[int, int] = {}
    for n in (int(x) for x in _CANON_MARKER.findall(text)):
        if 1 <= n <= count and n not in order:
            order[n] = len(order) + 1

    def renumber(m: re.Match[str]) -> str:
        n = int(m.group(1))
        return f"[{order[n]}]" if n in order else ""

    cleaned = _CANON_MARKER.sub(renumber, text)
    used = {new: passages[old - 1] for old, new in order.items()}
    citations = [Citation.from_passage(new, used[new]) for new in sorted(used)]

    # 3. numbers and uncited sentences
    flagged = {u.sentence for u in unsupported}
    for sentence in _units(cleaned):
        cited = sorted(set(_canon_markers(sentence)))
        plain = _CANON_MARKER.sub("", sentence).strip()
        if not cited:
            if require_citation and _needs_citation(sentence) and plain not in flagged:
                unsupported.append(Unsupported(sentence=plain, reason="没有标注出处。"))
            continue
        available: set[str] = set()
        percents: set[str] = set()
        for n in cited:
            for value, pct in numbers_in(used[n].chunk.text):
                available.add(value)
                if pct:
                    percents.add(value)
        missing = []
        for value, pct in numbers_in(_LIST_PREFIX.sub("", _LEAD_LABEL.sub("", sentence))):
            if value not in available or (pct and value not in percents):
                shown = value + ("%" if pct else "")
                if shown not in missing:
                    missing.append(shown)
        if missing:
            refs = "".join(f"[{n}]" for n in cited)
            unsupported.append(
                Unsupported(
                    sentence=plain,
                    reason=f"数字 {'、'.join(missing)} 不在所引摘录 {refs} 中。",
                )
            )
    return cleaned, citations, unsupported


def _clean_sentence(sentence: str, count: int) -> str:
    return _CANON_MARKER.sub(
        lambda m: m.group(0) if 1 <= int(m.group(1)) <= count else "", sentence
    ).strip()


# ---- where a citation's quoted words stand in its passage ----------------------------------

_CITING_SENTENCE = re.compile(r"[^。！？!?\n]+(?:[。！？!?]+|$)(?:\s*\[\d+\])*")
_CITE_MARK = re.compile(r"\[(\d+)\]")


def citing_sentences(answer_text: str, n: int) -> list[str]:
    """The sentences (or table cells) of the answer that cite passage n."""
    found: list[str] = []
    for line in answer_text.splitlines():
        units = line.strip().strip("|").split("|") if line.strip().startswith("|") else [line]
        for unit in units:
            for m in _CITING_SENTENCE.finditer(unit):
                if n in {int(x) for x in _CITE_MARK.findall(m.group(0))}:
                    found.append(m.group(0))
    return found


_GAP = re.compile(r"^[\s,，、;；:：.。!！?？“”\"'（）()]{0,2}$")


def merge_spans(spans: list[tuple[int, int]], length: int, text: str = "") -> list[tuple[int, int]]:
    """Sorted, non-overlapping spans; neighbours split only by punctuation are joined."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted((max(0, s), min(length, e)) for s, e in spans):
        if end <= start:
            continue
        joined = bool(text) and bool(_GAP.match(text[merged[-1][1] : start])) if merged else False
        if merged and (start <= merged[-1][1] or joined):
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


_MARKERS = re.compile(r"\[\d+\]")
_CLAUSES = re.compile(r"[^，,。；;！？!?：:“”\"「」\n]+")


def quoted_spans(
    passage: str, sentences: Iterable[str], min_chars: int = 6
) -> list[tuple[int, int]]:
    """Where the answer's sentences citing this passage occur in it, clause by clause.

    Offline answers quote sentences verbatim; model answers often reuse clauses. Clauses
    shorter than `min_chars` are ignored so that common words do not light up everywhere.
    """
    spans: list[tuple[int, int]] = []
    for sentence in sentences:
        plain = _MARKERS.sub("", sentence)
        for clause in _CLAUSES.findall(plain):
            clause = clause.strip(" -*…·　")
            if len(clause) < min_chars:
                continue
            start = passage.find(clause)
            while start != -1:
                spans.append((start, start + len(clause)))
                start = passage.find(clause, start + len(clause))
    return merge_spans(spans, len(passage), passage)


# ---- answers that cannot be checked ----------------------------------------------------

NO_CITATION = "回答没有任何引用，无法核对"
NOT_CHINESE = "回答不是中文"
# "Mostly Chinese": more than half of the letters are Chinese characters. Measured with
# cjk_share: the 83 paragraphs of 30+ characters in data/reports score 0.98 to 1.0 and the 21
# questions of data/eval/questions.jsonl 1.0, an English reply 0, so the middle is safe.
MOSTLY_CJK = 0.5
_WORD = re.compile(r"[A-Za-z]+")
_NOT_FOUND_EN = ("not found", "no information", "no relevant", "not cover", "not mention")


def _states_something(unit: str) -> bool:
    """A unit that needs a citation, in Chinese or (6+ words) in English."""
    if _needs_citation(unit):
        return True
    lower = unit.lower()
    return len(_WORD.findall(unit)) >= 6 and not any(w in lower for w in _NOT_FOUND_EN)


def cjk_share(text: str) -> float:
    """Chinese characters among all letters (digits, punctuation and markers not counted)."""
    letters = [ch for ch in _CANON_MARKER.sub("", text or "") if ch.isalpha()]
    if not letters:
        return 0.0
    return sum(1 for ch in letters if _CJK.match(ch)) / len(letters)


def answer_problems(answer_text: str, question: str) -> list[str]:
    """Why a model's answer cannot be presented as checked, in Chinese (empty: it can).

    No citation at all (while it states something that needs one), or not written in Chinese
    although the question was. An English question may get an English answer.
    """
    text = normalize_markers(answer_text or "")
    problems: list[str] = []
    if not markers_in(text) and any(_states_something(u) for u in _units(text)):
        problems.append(NO_CITATION)
    if cjk_share(question) > MOSTLY_CJK and cjk_share(text) <= MOSTLY_CJK:
        problems.append(NOT_CHINESE)
    return problems
