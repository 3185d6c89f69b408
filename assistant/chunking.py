"""Cut a cleaned report into retrieval chunks of whole sentences, each with its section path.

Table rows (`assistant.tables`) are packed apart from prose: whole rows only, no overlap, so a
row is found as one unit and a table takes a handful of chunks; each row already carries its
table's caption and column names, so every chunk of a table reads on its own.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.cleaning import is_heading
from assistant.tables import CELL_SEP, is_table_row
from assistant.types import Chunk, CleanDocument

SECTION_SEP = " › "
_HEADING_NUMBER = re.compile(
    r"^(?:[一二三四五六七八九十]+[、．.]|[（(][一二三四五六七八九十\d]+[）)]|\d+[、．.])\s*"
)


def top_heading(section: str) -> str:
    """The first heading of a section path, without its number ("（一）", "3.")."""
    return _HEADING_NUMBER.sub("", (section or "").split(SECTION_SEP)[0].strip())


def heads_case(section: str, names: Sequence[str]) -> bool:
    """The section's top heading opens with one of `names`: a case of a compilation
    ("上海市长宁区：社区云……"), not a passing mention of the place."""
    if not names or not section:
        return False
    top = top_heading(section)
    return any(top.startswith(n) for n in names)


CAPTION_SECTION = "图片说明"
MERGE_FACTOR = 1.3  # a small trailing remainder may grow the previous chunk up to this * max
# Table chunks hold rows up to this share of max_chars. Rows are independent facts, and the
# fewer rows share a chunk the higher a search for one ranks it. Row hit@1 / hit@3 on the
# docx fixture (tests/fixtures/docx, 34 "row label + column" searches): whole budget 0.65 /
# 1.00 with 3 table chunks, half 0.85 / 1.00 with 6, one row per chunk 0.91 / 0.97 with 17.
TABLE_BUDGET = 0.5

_TERMINATORS = "。！？；!?;…"
_OPENERS = "“‘「『(（《【〔["
_CLOSERS = "”’」』)）》】〕]"
_COMMAS = "，,、：:"
_QUOTE_RUNAWAY = 200  # an "open quote" longer than this is an extraction error, not a quote

_CN_NUM = "一二三四五六七八九十"
_LEVEL_PATTERNS: list[tuple[re.Pattern[str], int]] = [
    (re.compile(rf"^第[{_CN_NUM}百\d]+[章节部分篇]"), 1),
    (re.compile(rf"^[{_CN_NUM}]{{1,3}}[、.．]"), 1),
    (re.compile(rf"^[(（][{_CN_NUM}]{{1,3}}[)）]"), 2),
    (re.compile(r"^\d{1,2}[、.．](?!\d)"), 3),
    (re.compile(rf"^[{_CN_NUM}]{{1,3}}是"), 3),
    (re.compile(r"^[(（]\d{1,2}[)）]"), 4),
]
_NUMBERED_LEAD_RE = re.compile(
    rf"^((?:[(（][{_CN_NUM}\d]{{1,3}}[)）]|[{_CN_NUM}]{{1,3}}是|\d{{1,2}}[、.．](?!\d))"
    r"[^。！？!?；;\n]{1,40}?)[。！？!?]"
)
# `组织联建。` `抓学习教育。`: a short phrase without commas that opens a paragraph.
_PLAIN_LEAD_RE = re.compile(r"^([^。！？!?；;，,、:：\n]{2,20})[。！!]")
_LEAD_LEVEL = 3


@dataclass
class _Span:
    start: int
    end: int
    para: int


def split_sentences(text: str) -> list[str]:
    """Sentences of `text`, punctuation kept; `"".join(result) == text`."""
    return [text[a:b] for a, b in _sentence_bounds(text)]


def _sentence_bounds(text: str) -> list[tuple[int, int]]:
    bounds: list[tuple[int, int]] = []
    n = len(text)
    start = 0
    depth = 0
    opened_at = 0
    straight_open = False
    i = 0
    while i < n:
        ch = text[i]
        if ch in _OPENERS:
            if depth == 0:
                opened_at = i
            depth += 1
        elif ch in _CLOSERS:
            depth = max(0, depth - 1)
        elif ch == '"':
            if straight_open:
                depth = max(0, depth - 1)
            else:
                if depth == 0:
                    opened_at = i
                depth += 1
            straight_open = not straight_open
        elif ch in _TERMINATORS:
            j = i + 1
            while j < n and text[j] in _TERMINATORS:
                j += 1
            if depth > 0:
                k, d = j, depth
                while k < n and d > 0 and (text[k] in _CLOSERS or text[k] == '"'):
                    d -= 1
                    k += 1
                if d == 0:
                    j, depth, straight_open = k, 0, False
                elif i - opened_at > _QUOTE_RUNAWAY:
                    depth, straight_open = 0, False
                else:
                    i = j
                    continue
            while j < n and text[j] in _CLOSERS:
                j += 1
            while j < n and text[j].isspace():
                j += 1
            bounds.append((start, j))
            start = i = j
            continue
        i += 1
    if start < n:
        bounds.append((start, n))
    return bounds


def chunk_document(
    doc: CleanDocument, min_chars: int = 150, max_chars: int = 400, max_chunks: int = 5000
) -> list[Chunk]:
    """Body chunks (whole sentences, one sentence overlap) plus one chunk per photo caption."""
    if max_chars < 20 or min_chars > max_chars:
        raise ValueError(f"片段长度设置不合理: 最小 {min_chars} 字, 最大 {max_chars} 字。")
    text = doc.text
    chunks: list[Chunk] = []

    def emit(start: int, end: int, section: str, para: int) -> None:
        if len(chunks) >= max_chunks:
            raise ValueError(
                f"文档“{doc.meta.title or doc.doc_id}”切分出的片段超过上限 {max_chunks} 个。"
                "请把文档拆分成几个较小的文件后再上传。"
            )
        chunks.append(
            Chunk(
                chunk_id=_chunk_id(doc.content_hash, start, end, "body"),
                doc_id=doc.doc_id,
                text=text[start:end],
                region=doc.meta.region,
                title=doc.meta.title,
                section=section,
                paragraph=para,
                start=start,
                end=end,
            )
        )

    levels: dict[int, int] = getattr(doc, "heading_levels", None) or {}
    for section, spans, table in _runs(text, levels):
        if table:
            units = _split_long(text, spans, max_chars, cuts=CELL_SEP + _COMMAS)
            ranges = _pack_rows(units, min_chars, int(TABLE_BUDGET * max_chars))
        else:
            units = _split_long(text, spans, max_chars)
            ranges = _pack(units, min_chars, max_chars)
        for a, b in ranges:
            emit(units[a].start, units[b - 1].end, section, units[a].para)

    for i, caption in enumerate(doc.captions):
        if not caption.strip():
            continue
        if len(chunks) >= max_chunks:
            raise ValueError(
                f"文档“{doc.meta.title or doc.doc_id}”切分出的片段超过上限 {max_chunks} 个。"
                "请把文档拆分成几个较小的文件后再上传。"
            )
        chunks.append(
            Chunk(
                chunk_id=_chunk_id(doc.content_hash, -1, -1, f"caption:{i}"),
                doc_id=doc.doc_id,
                text=caption,
                region=doc.meta.region,
                title=doc.meta.title,
                section=CAPTION_SECTION,
                paragraph=-1,
                start=-1,
                end=-1,
                kind="caption",
            )
        )
    return chunks


def _chunk_id(content_hash: str, start: int, end: int, kind: str) -> str:
    return hashlib.sha256(f"{content_hash}:{start}:{end}:{kind}".encode()).hexdigest()[:16]


def paragraphs_with_offsets(text: str) -> list[tuple[int, int]]:
    """(start, end) of each paragraph of `text` (separated by blank lines), stripped."""
    out: list[tuple[int, int]] = []
    pos = 0
    for m in re.finditer(r"\n\s*\n|\Z", text):
        seg_start, seg_end = pos, m.start()
        pos = m.end()
        while seg_start < seg_end and text[seg_start].isspace():
            seg_start += 1
        while seg_end > seg_start and text[seg_end - 1].isspace():
            seg_end -= 1
        if seg_end > seg_start:
            out.append((seg_start, seg_end))
        if m.end() == len(text):
            break
    return out


def heading_level(heading: str) -> int:
    for pattern, level in _LEVEL_PATTERNS:
        if pattern.match(heading):
            return level
    return 1


def paragraph_lead(paragraph: str) -> str:
    """The sub-heading that opens a body paragraph (`(二)突出教育管理“向心力”。…`), or ""."""
    m = _NUMBERED_LEAD_RE.match(paragraph)
    if m and len(paragraph) - m.end() >= 10:
        return m.group(1).strip()
    m = _PLAIN_LEAD_RE.match(paragraph)
    if m and len(paragraph) - m.end() >= 10:
        return m.group(1).strip()
    return ""


def _runs(text: str, levels: dict[int, int] | None = None) -> list[tuple[str, list[_Span], bool]]:
    """Sentence spans grouped by section: consecutive body paragraphs under the same path.

    Standalone headings open a section that lasts until the next heading of the same or a
    higher level (the level the source marked, `levels` by paragraph start, else the one its
    numbering implies); a paragraph's own lead (`抓学习教育。…`) applies to that paragraph only.
    Consecutive table rows are a run of their own, one span per row; the flag says which.
    """
    levels = levels or {}
    path: list[tuple[int, str]] = []
    runs: list[tuple[str, list[_Span], bool]] = []
    current: list[_Span] = []
    current_key: tuple[str, int] = ("", -1)

    def close() -> None:
        if current:
            runs.append((current_key[0], current, current_key[1] == _TABLE_RUN))

    for para, (p_start, p_end) in enumerate(paragraphs_with_offsets(text)):
        ptext = text[p_start:p_end]
        if is_table_row(ptext):
            key = (SECTION_SEP.join(t for _, t in path), _TABLE_RUN)
            if key != current_key:
                close()
                current, current_key = [], key
            current.append(_Span(p_start, p_end, para))
            continue
        if is_heading(ptext):
            level = levels.get(p_start) or heading_level(ptext)
            path = [p for p in path if p[0] < level] + [(level, ptext)]
            continue
        titles = [t for _, t in path]
        lead = paragraph_lead(ptext)
        if lead:
            level = heading_level(lead)
            if level == 1:  # an unnumbered lead sits below the standalone headings
                level = _LEAD_LEVEL
            titles = [t for lv, t in path if lv < level] + [lead]
        section = SECTION_SEP.join(titles)
        # Paragraphs with a lead are a run of their own; others share the run of their section.
        key = (section, para if lead else -1)
        if key != current_key or not current:
            close()
            current, current_key = [], key
        for a, b in _sentence_bounds(ptext):
            a, b = _strip_span(ptext, a, b)
            if b > a:
                current.append(_Span(p_start + a, p_start + b, para))
    close()
    return runs


_TABLE_RUN = -2  # run key of table rows (other runs use -1 or a paragraph index)


def _strip_span(s: str, a: int, b: int) -> tuple[int, int]:
    while a < b and s[a].isspace():
        a += 1
    while b > a and s[b - 1].isspace():
        b -= 1
    return a, b


def _pack(units: list[_Span], min_chars: int, max_chars: int) -> list[tuple[int, int]]:
    """Greedy packing of sentence spans into [a, b) ranges with one span of overlap."""
    ranges: list[tuple[int, int]] = []
    i, n = 0, len(units)
    while i < n:
        j = i + 1
        while j < n and units[j].end - units[i].start <= max_chars:
            j += 1
        # A chunk below min_chars may take one more unit as long as it stays under the merge cap.
        if (
            j < n
            and units[j - 1].end - units[i].start < min_chars
            and units[j].end - units[i].start <= MERGE_FACTOR * max_chars
        ):
            j += 1
        ranges.append((i, j))
        if j >= n:
            break
        # One sentence of overlap, unless the chunk is that one sentence or it would not fit.
        i = j - 1 if j - 1 > i and units[j].end - units[j - 1].start <= max_chars else j
    if len(ranges) >= 2:
        (pa, _), (la, lb) = ranges[-2], ranges[-1]
        small = units[lb - 1].end - units[la].start < min_chars
        if small and units[lb - 1].end - units[pa].start <= MERGE_FACTOR * max_chars:
            ranges[-2:] = [(pa, lb)]
    return ranges


def _pack_rows(units: list[_Span], min_chars: int, max_chars: int) -> list[tuple[int, int]]:
    """Table rows packed greedily into [a, b) ranges of whole rows, without overlap."""
    ranges: list[tuple[int, int]] = []
    i, n = 0, len(units)
    while i < n:
        j = i + 1
        while j < n and units[j].end - units[i].start <= max_chars:
            j += 1
        ranges.append((i, j))
        i = j
    if len(ranges) >= 2:
        (pa, _), (la, lb) = ranges[-2], ranges[-1]
        small = units[lb - 1].end - units[la].start < min_chars
        if small and units[lb - 1].end - units[pa].start <= MERGE_FACTOR * max_chars:
            ranges[-2:] = [(pa, lb)]
    return ranges


def _split_long(text: str, spans: list[_Span], max_chars: int, cuts: str = _COMMAS) -> list[_Span]:
    """Split sentences longer than max_chars after a character of `cuts`, else by a hard cut."""
    out: list[_Span] = []
    for s in spans:
        if s.end - s.start <= max_chars:
            out.append(s)
            continue
        out.extend(_split_span(text, s, max_chars, cuts))
    return out


def _split_span(text: str, s: _Span, max_chars: int, cut_chars: str = _COMMAS) -> list[_Span]:
    # Cut points just after commas (or cell separators); pieces are grown greedily up to max_chars.
    cuts = [k + 1 for k in range(s.start, s.end - 1) if text[k] in cut_chars]
    pieces: list[_Span] = []
    start = s.start
    best = None
    for c in [*cuts, s.end]:
        if c - start <= max_chars:
            best = c
            continue
        if best is not None and best > start:
            pieces.append(_Span(start, best, s.para))
            start = best
            best = c if c - start <= max_chars else None
        while best is None and c - start > max_chars:
            pieces.append(_Span(start, start + max_chars, s.para))
            start += max_chars
            best = c if c - start <= max_chars else None
    if start < s.end:
        pieces.append(_Span(start, s.end, s.para))
    return pieces
