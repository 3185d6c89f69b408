"""Citation checks done by code after generation: `[n]` markers, numbers, uncited sentences."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation

from assistant.answers import OFFLINE_LABEL, Citation, Unsupported
from assistant.types import Passage

# [1], [1][2], [1,2], [1、2], 【1】, ［1］ (digits only, so "[1+6+N]" stays text)
_MARKER = re.compile(r"[\[【［]\s*(\d{1,3}(?:\s*[,，、;；]\s*\d{1,3})*)\s*[\]】］](?!\()")
_CANON_MARKER = re.compile(r"\[(\d+)\]")
_THOUSANDS = re.compile(r"(?<![\d.])(\d{1,3})((?:,\d{3})+)(?![\d])")
_NUMBER = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)(\s*%)?")
_SENTENCE = re.compile(r"[^。！？!?\n]+(?:[。！？!?]+|$)(?:\s*\[\d+\])*")
_LIST_PREFIX = re.compile(r"^\s*(?:[-*+]\s+|\d{1,2}[.)、]\s*|#+\s*|>\s*)")
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
    text = normalize_digits(_CANON_MARKER.sub("", normalize_markers(text)))
    return [(_canon(m.group(1)), bool(m.group(2))) for m in _NUMBER.finditer(text)]


def normalize_markers(text: str) -> str:
    """Every marker group written as `[1][2]`."""

    def canon(m: re.Match[str]) -> str:
        nums = re.split(r"\s*[,，、;；]\s*", m.group(1).strip())
        return "".join(f"[{int(n)}]" for n in nums if n)

    return _MARKER.sub(canon, text)


def markers_in(text: str) -> list[int]:
    return [int(n) for n in _CANON_MARKER.findall(normalize_markers(text))]


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
    text = normalize_markers(answer_md or "")
    unsupported: list[Unsupported] = []
    count = len(passages)

    # 1. markers pointing at no passage
    for sentence in _units(text):
        bad = sorted({n for n in markers_in(sentence) if not 1 <= n <= count})
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
        cited = sorted(set(markers_in(sentence)))
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
        for value, pct in numbers_in(_LIST_PREFIX.sub("", sentence)):
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
