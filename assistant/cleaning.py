"""Repair newspaper/PDF extraction damage in a report without losing a sentence.

The raw text is cut into units (paragraphs), each unit is classified (title, subtitle, byline,
caption, heading, body) and body fragments broken by page breaks or speech-fragment numbers are
joined back into whole paragraphs. Headings stay as their own paragraphs in the cleaned text;
title/subtitle go to the metadata, bylines and photo captions to their own lists.

Loaders may mark structure in the raw text, and it is kept: a Markdown heading mark
("## 组织建设") gives the heading its level (`StructuredDocument.heading_levels`, the mark
itself is removed); a table row written by `assistant.tables` is a paragraph of its own that
is never glued to a neighbour nor taken for a heading, caption or byline; a list item
("• …", "1. …" ending a sentence) is never glued onto the sentence that introduces it.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from assistant.gazetteer import (
    NATIONAL,
    Division,
    canonical,
    divisions_in,
    document_region,
    mentions,
)
from assistant.tables import is_table_row
from assistant.types import CleanDocument, DocMeta

# Sentence-final punctuation; a paragraph ending in one of these (maybe followed by closers) is whole.
FINAL_PUNCT = "。！？；!?;…"
_FINAL_INSIDE = "。！？；!?;"
CLOSERS = "”’」』)）》】]\"'"
# A paragraph ending in one of these obviously continues in the next one.
_CONTINUES = ",，、:：“‘「『(（《【[—-"

HEADING_MAX = 50  # headings in the corpus are at most ~41 characters
# A line wholly in one pair of brackets under a title: "（1996年1月15日）", "(某某委员会印发)",
# "（2023年1月5日在某会议上）". It says when, by whom or where, so it is text, not a heading.
_BRACKETED_NOTE_RE = re.compile(r"^[(（][^()（）]{4,}[)）]$")
CAPTION_MAX = 50
TRAILING_CAPTION_MAX = 30

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_PUNCT = r"\u3000-\u303f\uff00-\uffef\u2018-\u201f\u2026\u2014"
_ZERO_WIDTH_RE = re.compile(r"[\u200b-\u200d\u2060\ufeff\u00ad\x00-\x08\x0e-\x1f\x7f]")
_MARKDOWN_HEADING_RE = re.compile(r"^(#{1,6})\s+")
_BULLET_RE = re.compile(r"^(?:[•●○■□◆◇▪▫‣⁃]|[-*+]\s)")
_ODD_SPACE_RE = re.compile(r"[\t\x0b\x0c\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_SPACES_RE = re.compile(r" {2,}")
_FRAGMENT_NO_RE = re.compile(r"^\s*(\d{1,3})、")
_LEADING_NUMBER_RE = re.compile(
    r"^\s*(?:\d{1,3}[、.．]|[一二三四五六七八九十]{1,3}、|[(（][一二三四五六七八九十\d]{1,3}[)）])\s*"
)
# Spaces between CJK (or CJK punctuation) and ASCII letters/digits are typesetting, not content.
_SPACE_CJK_ASCII_RE = re.compile(rf"(?<=[{_CJK}{_CJK_PUNCT}]) +(?=[0-9A-Za-z])")
_SPACE_ASCII_CJK_RE = re.compile(rf"(?<=[0-9A-Za-z]) +(?=[{_CJK}{_CJK_PUNCT}])")
# Around separating punctuation a space is noise; after a closing quote it may separate phrases.
_SEP_PUNCT = "，。、；：！？,;:!?"
_SPACE_AROUND_PUNCT_RE = re.compile(rf"(?<=[{_SEP_PUNCT}]) +| +(?=[{_SEP_PUNCT}])")

_BYLINE_PREFIX_RE = re.compile(
    r"^(?:编辑|责编|责任编辑|审核|审校|校对|统筹|监制|来源|作者|通讯员|记者|摄影|图片|图|文)\s*[:：/]"
)
_SUBTITLE_KIND_RE = re.compile(r"(?:纪实|综述|侧记|纪事|巡礼|掠影|扫描|记事)$")
_EDITOR_RE = re.compile(r"^(?:编辑|责编|责任编辑|审核|审校|校对|统筹|监制|来源)\s*[:：/]")
_BYLINE_WORD_RE = re.compile(r"(?:记者|通讯员|文图|文/图|图文|摄影|供图|供稿|综合报道|本报讯)")
_NAMES_CREDIT_RE = re.compile(
    rf"^[{_CJK}]{{2,4}}(?: [{_CJK}]{{2,4}}){{0,5}} (?:文图|文/图|图文|文|图|摄)$"
)
_TRAILING_CREDIT_RE = re.compile(
    r"\s*[(（]\s*(?:本报记者|本报通讯员|特约记者|记者|通讯员|本报讯|来源|据)[^()（）]{0,120}[)）]\s*$"
    r"|\s*[(（][^()（）]{0,120}(?:报道|供稿|撰稿|整理|综合)[)）]\s*$"
)
_LEADING_CREDIT_RE = re.compile(r"^本报讯\s*[(（][^()（）]{0,80}[)）]\s*")
# A speech title fused to the first sentence ends with the kind of document it is.
_DOC_KIND_TITLE_RE = re.compile(
    r"^(.{4,50}?(?:发言稿材料|经验交流材料|发言材料|汇报材料|典型材料|交流材料|发言稿|讲话稿|汇报稿))"
    rf"(?=[{_CJK}])"
)


@dataclass
class _Unit:
    text: str
    gap_before: int  # newlines between the previous unit and this one (0 for the first)
    gap_after: int = 0
    kind: str = "body"  # title subtitle byline caption heading body table
    level: int = 0  # heading level the source marked ("## …" is 2), 0 when unmarked


@dataclass
class StructuredDocument(CleanDocument):
    """A cleaned report that also knows the levels its source gave some headings."""

    heading_levels: dict[int, int] = field(default_factory=dict)  # paragraph start -> level


def clean_document(
    doc_id: str,
    raw: str,
    meta: DocMeta | None,
    known_regions: Sequence[str] = (),
) -> CleanDocument:
    """Body text of one report with headings as paragraphs; captions and bylines set apart."""
    parsed = _parse(raw, meta)
    if meta is None:
        meta = _meta_from_parsed(doc_id, parsed, known_regions)
    if parsed.title and _is_compilation(parsed):
        # The first line of a compilation heads its first case: a section, not the title.
        parsed = _title_as_heading(parsed)
    text = "\n\n".join(parsed.paragraphs)
    levels: dict[int, int] = {}
    offset = 0
    for k, paragraph in enumerate(parsed.paragraphs):
        if k in parsed.levels:
            levels[offset] = parsed.levels[k]
        offset += len(paragraph) + 2
    return StructuredDocument(
        doc_id=doc_id,
        text=text,
        meta=meta,
        content_hash=hashlib.sha256(raw.encode("utf-8")).hexdigest(),
        captions=parsed.captions,
        byline=parsed.bylines,
        heading_levels=levels,
    )


def _title_as_heading(parsed: _Parsed) -> _Parsed:
    shift = 1
    return _Parsed(
        title="",
        subtitle=parsed.subtitle,
        paragraphs=[parsed.title, *parsed.paragraphs],
        headings={0} | {i + shift for i in parsed.headings},
        captions=parsed.captions,
        bylines=parsed.bylines,
        levels={i + shift: lv for i, lv in parsed.levels.items()},
        rows={i + shift for i in parsed.rows},
    )


def infer_meta(doc_id: str, raw: str, known_regions: Iterable[str] = ()) -> DocMeta:
    """Guess title, subtitle, authors and region from the text itself (inferred=True)."""
    return _meta_from_parsed(doc_id, _parse(raw, None), known_regions)


# --- parsing --------------------------------------------------------------------------------


@dataclass
class _Parsed:
    title: str
    subtitle: str
    paragraphs: list[str]
    headings: set[int]  # indexes into paragraphs
    captions: list[str]
    bylines: list[str]
    levels: dict[int, int] = field(default_factory=dict)  # heading index -> marked level
    rows: set[int] = field(default_factory=set)  # indexes of table rows


def _parse(raw: str, meta: DocMeta | None) -> _Parsed:
    text = _normalise_chars(raw)
    fragment_mode, text = _join_speech_fragments(text)
    units = _split_units(text)
    _mark_structure(units)
    _mark_gap_captions(units)
    title, subtitle, bylines, units = _take_header(units, meta)
    if fragment_mode:
        units = _split_inline_breaks(units)
    captions: list[str] = []
    body_units: list[_Unit] = []
    for k, u in enumerate(units):
        near_edge = k < 3 or k >= len(units) - 3
        if u.kind == "table":
            body_units.append(u)
        elif u.kind == "caption":
            captions.append(u.text)
        elif u.kind == "byline" or _is_byline(u.text, strict=not near_edge):
            bylines.append(u.text)
        else:
            u.kind = "heading" if is_heading(u.text) else "body"
            body_units.append(u)
    body_units = _join_broken(body_units)
    body_units, trailing = _trailing_captions(body_units)
    captions.extend(trailing)
    body_units, credits = _strip_credits(body_units)
    bylines.extend(credits)

    paragraphs: list[str] = []
    headings: set[int] = set()
    levels: dict[int, int] = {}
    rows: set[int] = set()
    for u in body_units:
        t = _normalise_spaces(u.text)
        if not t:
            continue
        if u.kind == "heading":
            headings.add(len(paragraphs))
            if u.level:
                levels[len(paragraphs)] = u.level
        elif u.kind == "table":
            rows.add(len(paragraphs))
        paragraphs.append(t)
    return _Parsed(
        title=_normalise_spaces(title),
        subtitle=_normalise_spaces(subtitle),
        paragraphs=paragraphs,
        headings=headings,
        captions=[_normalise_spaces(c) for c in captions if c.strip()],
        bylines=[_normalise_spaces(b) for b in bylines if b.strip()],
        levels=levels,
        rows=rows,
    )


def _normalise_chars(raw: str) -> str:
    text = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    text = _ZERO_WIDTH_RE.sub("", text)
    text = _ODD_SPACE_RE.sub(" ", text)
    return "\n".join(_SPACES_RE.sub(" ", line).strip() for line in text.split("\n"))


def _mark_structure(units: list[_Unit]) -> None:
    """Table rows keep their own kind; a Markdown heading mark becomes the unit's level."""
    for u in units:
        m = _MARKDOWN_HEADING_RE.match(u.text)
        if m:
            u.text = u.text[m.end() :]
            u.level = len(m.group(1))
        elif is_table_row(u.text):
            u.kind = "table"


def _join_speech_fragments(text: str) -> tuple[bool, str]:
    """Undo numbered fragments (`1、…\\n2、…`) whose numbers fall in mid-sentence."""
    lines = text.split("\n")
    nonempty = [ln for ln in lines if ln]
    numbered = [(i, _FRAGMENT_NO_RE.match(ln)) for i, ln in enumerate(lines)]
    numbered = [(i, m) for i, m in numbered if m]
    if len(numbered) < 3 or len(numbered) < 0.7 * len(nonempty):
        return False, text
    numbers = [int(m.group(1)) for _, m in numbered]
    if numbers != list(range(1, len(numbers) + 1)):
        return False, text
    cut = 0
    for i, _ in numbered[1:]:
        prev = next((lines[j] for j in range(i - 1, -1, -1) if lines[j]), "")
        if not ends_sentence(prev):
            cut += 1
    if cut < 0.5 * (len(numbered) - 1):
        return False, text  # a real numbered list, not a speech cut into pieces
    groups: list[list[str]] = []
    pending_blank = False
    for ln in lines:
        m = _FRAGMENT_NO_RE.match(ln)
        if m:
            ln = ln[m.end() :]
        if not ln:
            pending_blank = True
            continue
        if groups and m and not pending_blank:
            groups[-1].append(ln)
        else:
            if pending_blank and groups:
                groups.append([""])
            groups.append([ln])
        pending_blank = False
    return True, "\n".join(_glue_all(g) for g in groups)


def _glue_all(parts: list[str]) -> str:
    """Join pieces of broken text in linear time, with a space only between two Latin words."""
    out: list[str] = []
    for k, part in enumerate(parts):
        if k and out and part:
            prev = out[-1]
            if (
                prev
                and prev[-1].isascii()
                and prev[-1].isalpha()
                and part[0].isascii()
                and part[0].isalpha()
            ):
                out.append(" ")
        out.append(part)
    return "".join(out)


def _split_units(text: str) -> list[_Unit]:
    """Paragraph units with the number of newlines before each; unwraps hard-wrapped blocks."""
    units: list[_Unit] = []
    newlines = 0
    block: list[str] = []

    def flush(gap: int) -> None:
        if not block:
            return
        for k, line in enumerate(_unwrap_block(block)):
            units.append(_Unit(line, gap if k == 0 else 1))
        block.clear()

    gap_for_block = 0
    for line in text.split("\n"):
        if line:
            if block and newlines > 1:
                flush(gap_for_block)
                gap_for_block = newlines
            elif not block:
                gap_for_block = newlines if units else 0
            block.append(line)
            newlines = 1
        else:
            newlines += 1
    flush(gap_for_block)
    for a, b in zip(units, units[1:], strict=False):
        a.gap_after = b.gap_before
    return units


def _unwrap_block(lines: list[str]) -> list[str]:
    """Join the lines of a block that were wrapped at a fixed width (PDF extraction)."""
    if len(lines) == 1:
        return lines
    width = max(len(ln) for ln in lines)
    groups: list[list[str]] = [[lines[0]]]
    for prev, line in zip(lines, lines[1:], strict=False):
        wrapped = (
            width >= 15
            and len(prev) >= 0.7 * width
            and not _complete(prev)
            and not _MARKDOWN_HEADING_RE.match(prev)
            and not _MARKDOWN_HEADING_RE.match(line)
        )
        if wrapped:
            groups[-1].append(line)
        else:
            groups.append([line])
    return [_glue_all(g) for g in groups]


def _mark_gap_captions(units: list[_Unit]) -> None:
    """Short paragraphs set off by more blank lines than the document's usual are captions."""
    gaps = [u.gap_before for u in units[1:]]
    if not gaps:
        return
    usual = Counter(gaps).most_common(1)[0][0]
    threshold = max(3, usual + 1)
    for u in units[1:]:
        if u.kind == "table" or u.level:
            continue
        if u.gap_before >= threshold and len(u.text) <= CAPTION_MAX and not _is_byline(u.text):
            u.kind = "caption"


def _take_header(
    units: list[_Unit], meta: DocMeta | None
) -> tuple[str, str, list[str], list[_Unit]]:
    """Split off title, subtitle and bylines at the top of the document."""
    bylines: list[str] = []
    title = subtitle = ""
    i = 0
    if not units:
        return title, subtitle, bylines, units
    first = units[0].text
    meta_title = _squash(meta.title) if meta and meta.title else ""
    if meta_title and _squash(first).startswith(meta_title) and _squash(first) != meta_title:
        # The title is fused to the first sentence (speech fragments): cut it off.
        k = _prefix_end(first, meta_title)
        title, units[0].text = first[:k].strip(), first[k:].strip()
    elif _looks_like_title(first) or (meta_title and _squash(first) == meta_title):
        title = _LEADING_NUMBER_RE.sub("", first)
        i = 1
    else:
        m = _DOC_KIND_TITLE_RE.match(_LEADING_NUMBER_RE.sub("", first))
        if m and len(first) > HEADING_MAX:
            stripped = _LEADING_NUMBER_RE.sub("", first)
            title, units[0].text = m.group(1).strip(), stripped[m.end() :].strip()
    if i == 1:
        meta_sub = _squash(meta.subtitle) if meta and meta.subtitle else ""
        j = i
        while j < len(units) and j <= 3 and units[j].kind != "table" and not units[j].level:
            t = units[j].text
            nxt = units[j + 1].text if j + 1 < len(units) else ""
            if _is_byline(t):
                units[j].kind = "byline"
                bylines.append(t)
            elif not subtitle and (
                t.startswith(("——", "--", "—"))
                or (meta_sub and _squash(t) == meta_sub)
                or (len(t) <= HEADING_MAX and not ends_sentence(t) and _is_byline(nxt))
                or (len(t) <= HEADING_MAX and _SUBTITLE_KIND_RE.search(t) is not None)
            ):
                subtitle = t
            else:
                break
            j += 1
        i = j
    return title, subtitle, bylines, units[i:]


def _looks_like_title(t: str) -> bool:
    return len(t) <= 60 and not ends_sentence(t) and not any(c in _FINAL_INSIDE for c in t)


def _squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


def _prefix_end(text: str, squashed_prefix: str) -> int:
    """Index in `text` just after the whitespace-insensitive `squashed_prefix`."""
    k = n = 0
    while k < len(text) and n < len(squashed_prefix):
        if not text[k].isspace():
            n += 1
        k += 1
    return k


def _split_inline_breaks(units: list[_Unit]) -> list[_Unit]:
    """In a joined speech, a space between Chinese text marks a lost paragraph break."""
    out: list[_Unit] = []
    for u in units:
        if u.kind != "body" or u.level:
            out.append(u)
            continue
        pieces = _split_at_soft_breaks(u.text)
        for k, piece in enumerate(pieces):
            for part in _split_tail_heading(piece):
                out.append(_Unit(part, u.gap_before if k == 0 else 2, kind="body"))
    return out


def _split_at_soft_breaks(text: str) -> list[str]:
    pieces: list[str] = []
    depth = 0
    start = 0
    cjk = re.compile(rf"[{_CJK}]")
    for k, ch in enumerate(text):
        if ch in "(（《【「『“":
            depth += 1
        elif ch in ")）》】」』”" and depth:
            depth -= 1
        elif ch == " " and depth == 0 and 0 < k < len(text) - 1:
            left, right = text[k - 1], text[k + 1]
            if (cjk.match(left) or left in "。！？；!?;”）)") and (
                cjk.match(right) or right in "“（(《"
            ):
                pieces.append(text[start:k])
                start = k + 1
    pieces.append(text[start:])
    return [p.strip() for p in pieces if p.strip()]


def _split_tail_heading(piece: str) -> list[str]:
    """`…园区。创新三个工作载体,有效强化…功能` ends in a heading glued after a sentence."""
    if ends_sentence(piece):
        return [piece]
    last = max(piece.rfind(c) for c in _FINAL_INSIDE)
    if last < 0:
        return [piece]
    tail = piece[last + 1 :].strip()
    if 0 < len(tail) <= HEADING_MAX and is_heading(tail):
        return [piece[: last + 1], tail]
    return [piece]


def ends_sentence(t: str) -> bool:
    """True when `t` ends a sentence (final punctuation, maybe followed by closing marks)."""
    t = t.rstrip().rstrip(CLOSERS)
    return bool(t) and t[-1] in FINAL_PUNCT


def is_heading(t: str) -> bool:
    """Short line without sentence punctuation that does not dangle into the next line."""
    t = t.strip()
    if not t or len(t) > HEADING_MAX or ends_sentence(t):
        return False
    if any(c in _FINAL_INSIDE for c in t) or _BRACKETED_NOTE_RE.match(t):
        return False
    return t[-1] not in _CONTINUES


def _is_byline(t: str, *, strict: bool = False) -> bool:
    """Author/editor credit line; `strict` (mid-document) accepts only unambiguous forms."""
    t = t.strip()
    if not t or len(t) > 40 or any(c in "。！？!?；;" for c in t):
        return False
    if _BYLINE_PREFIX_RE.match(t) or _NAMES_CREDIT_RE.match(t):
        return True
    return not strict and bool(_BYLINE_WORD_RE.search(t)) and len(t) <= 30


def _join_broken(units: list[_Unit]) -> list[_Unit]:
    """Join body paragraphs cut by page breaks (captions were already taken out between)."""
    out: list[_Unit] = []
    i = 0
    while i < len(units):
        cur = units[i]
        i += 1
        if cur.kind != "body":
            out.append(cur)
            continue
        parts = [cur.text]
        while not _complete(parts[-1]) and i < len(units):
            nxt = units[i]
            if _introduces_list(parts[-1], nxt.text):
                break
            dangling = parts[-1].rstrip()[-1:] in _CONTINUES
            if nxt.kind == "body" or (dangling and nxt.kind == "heading"):
                parts.append(nxt.text)
                i += 1
            else:
                break
        if len(parts) > 1:
            cur = _Unit(_glue_all(parts), cur.gap_before, units[i - 1].gap_after, "body")
        out.append(cur)
    return out


def _complete(text: str) -> bool:
    """A paragraph that ends a sentence, or a bracketed note line that stands alone."""
    return ends_sentence(text) or bool(_BRACKETED_NOTE_RE.match(text.strip()))


def _introduces_list(text: str, nxt: str) -> bool:
    """`…措施如下：` before a numbered or bulleted item that is a whole sentence of its own."""
    if text.rstrip()[-1:] not in ":：" or not ends_sentence(nxt):
        return False
    return bool(_LEADING_NUMBER_RE.match(nxt) or _BULLET_RE.match(nxt))


def _trailing_captions(units: list[_Unit]) -> tuple[list[_Unit], list[str]]:
    """Short heading-like lines after the last body paragraph are photo captions."""
    captions: list[str] = []
    while units and units[-1].kind == "heading" and len(units[-1].text) <= TRAILING_CAPTION_MAX:
        captions.insert(0, units.pop().text)
    return units, captions


def _strip_credits(units: list[_Unit]) -> tuple[list[_Unit], list[str]]:
    """Reporter credits in parentheses at the end (or `本报讯(…)` at the start) are bylines."""
    credits: list[str] = []
    body_idx = [k for k, u in enumerate(units) if u.kind == "body"]
    if body_idx:
        last = units[body_idx[-1]]
        m = _TRAILING_CREDIT_RE.search(last.text)
        if m and m.start() > 0:
            credits.append(m.group().strip().strip("()（）").strip())
            last.text = last.text[: m.start()].rstrip()
        first = units[body_idx[0]]
        m = _LEADING_CREDIT_RE.match(first.text)
        if m and m.end() < len(first.text):
            credits.insert(0, m.group().strip())
            first.text = first.text[m.end() :]
    return units, credits


def _normalise_spaces(t: str) -> str:
    t = _ODD_SPACE_RE.sub(" ", t)
    t = _SPACES_RE.sub(" ", t.replace("\n", " ")).strip()
    t = _SPACE_CJK_ASCII_RE.sub("", t)
    t = _SPACE_ASCII_CJK_RE.sub("", t)
    return _SPACE_AROUND_PUNCT_RE.sub("", t)


# --- metadata -------------------------------------------------------------------------------

# Document genres, matched at the end of a title, subtitle or header line; longer first so
# 政府工作报告 wins over 报告. The second item is the kind stored (synonyms share one).
_KINDS = (
    ("政府工作报告", "政府工作报告"),
    ("经验交流材料", "发言稿"),
    ("发言稿材料", "发言稿"),
    ("交流材料", "发言稿"),
    ("发言材料", "发言稿"),
    ("汇报材料", "汇报"),
    ("发言稿", "发言稿"),
    ("讲话稿", "讲话"),
    ("讲话", "讲话"),
    ("致辞", "讲话"),
    ("发言", "发言稿"),
    ("实施方案", "方案"),
    ("工作方案", "方案"),
    ("实施意见", "意见"),
    ("指导意见", "意见"),
    ("实施细则", "规定"),
    ("工作要点", "要点"),
    ("工作总结", "总结"),
    ("述职报告", "报告"),
    ("调研报告", "报告"),
    ("工作报告", "报告"),
    ("条例", "条例"),
    ("规定", "规定"),
    ("办法", "办法"),
    ("决定", "决定"),
    ("决议", "决定"),
    ("通知", "通知"),
    ("通报", "通报"),
    ("公告", "通知"),
    ("意见", "意见"),
    ("方案", "方案"),
    ("批复", "批复"),
    ("纪实", "纪实"),
    ("纪事", "纪实"),
    ("侧记", "纪实"),
    ("综述", "综述"),
    ("巡礼", "综述"),
    ("总结", "总结"),
    ("报告", "报告"),
)
_KIND_TAIL_RE = re.compile(r"[\s”’」』)）》】\]\"'.。]+$")
_NEWS_LEAD_RE = re.compile(r"^(?:本报讯|新华社[^。，,]{0,20}电|[^。，,]{2,12}讯[（(])")
_NEWS_SOURCE_RE = re.compile(r"《\s*[^《》]{2,12}报\s*》|来源[:：]\s*[^\s]{2,12}(?:社|报|网)")
_HEADER_LINE_MAX = 40  # header and signature lines are short; long paragraphs are body
_CN_DIGITS = {c: i for i, c in enumerate("〇一二三四五六七八九")} | {"零": 0, "○": 0, "O": 0}
_DATE_RE = re.compile(
    r"(?<!\d)((?:19|20)\d{2})\s*(?:年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日|[-./](\d{1,2})[-./](\d{1,2})(?!\d))"
)
_CN_DATE_RE = re.compile(
    r"([〇○零O一二三四五六七八九]{4})年([一二三四五六七八九十]{1,3})月([一二三四五六七八九十]{1,3})日"
)
_YEAR_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)(?:\s*年)?")
_CN_YEAR_RE = re.compile(r"([〇○零O一二三四五六七八九]{4})年")
# Issuing bodies: a place (or a central body) followed by one of these organ names.
_ORGANS = (
    "人民代表大会常务委员会",
    "人大常委会",
    "人民政府办公厅",
    "人民政府办公室",
    "人民政府",
    "委员会办公厅",
    "委员会办公室",
    "委员会",
    "办公厅",
    "办公室",
    "组织部",
    "宣传部",
    "统战部",
    "政法委",
    "纪委监委",
    "纪委",
    "监委",
    "党工委",
    "党委",
    "党组",
    "省委",
    "市委",
    "州委",
    "县委",
    "区委",
    "旗委",
    "政协",
    "政府",
)
_CENTRAL_BODIES = (
    "中共中央",
    "国务院",
    "全国人大常委会",
    "全国人民代表大会常务委员会",
    "全国政协",
    "中央",
)
_ORGAN_RE = re.compile("|".join(sorted(_ORGANS, key=len, reverse=True)))
_ISSUER_SEP_RE = re.compile(r"^[\s、,，和与]+")


def _meta_from_parsed(doc_id: str, parsed: _Parsed, known_regions: Iterable[str]) -> DocMeta:
    body = [p for k, p in enumerate(parsed.paragraphs) if k not in parsed.headings]
    head = "\n".join(t for t in (parsed.title, parsed.subtitle) if t)
    opening = "\n".join(body)[:600]
    compilation = _is_compilation(parsed)
    if compilation:
        region, city, province = "", "", ""
    else:
        region, city, province = _find_region(
            head, opening, "\n".join(parsed.paragraphs), known_regions
        )
    header = _header_lines(parsed)
    closing = _closing_lines(parsed)
    date = _find_date(header, closing)
    return DocMeta(
        doc_id=doc_id,
        title="" if compilation else parsed.title,  # its first line heads the first case
        subtitle=parsed.subtitle,
        region=region,
        city=city,
        province=province,
        authors=" ".join(b for b in parsed.bylines if not _EDITOR_RE.match(b)),
        kind=_find_kind(parsed, header),
        year=date[:4] if date else _find_year(header),
        date=date,
        issuer=_find_issuer(header, closing),
        inferred=True,
    )


# Cases of this many different places, each heading its own section, make a compilation.
COMPILATION_MIN_PLACES = 3


def _is_compilation(parsed: _Parsed) -> bool:
    """A compilation of cases ("浙江省桐乡市：……", "海南省乐东县：……", …): the title and
    three or more headings each open with a different place, none inside another. Its
    first line is the first case's heading, so it is about no one place."""
    from assistant.chunking import top_heading

    lines = [parsed.title] + [parsed.paragraphs[i] for i in sorted(parsed.headings)]
    places: list[Division] = []
    for line in lines:
        found = mentions(top_heading(line or ""))
        if found and found[0].start == 0 and found[0].division.resolved:
            d = max(
                (m.division for m in found if m.division.resolved),
                key=lambda x: ("province", "city", "county").index(x.level),
            )
            if d not in places:
                places.append(d)
    distinct = [
        d
        for d in places
        if not any(o is not d and (o.name in d.parents or d.name in o.parents) for o in places)
    ]
    return len(distinct) >= COMPILATION_MIN_PLACES


def _find_region(
    head: str, opening: str, full: str, known_regions: Iterable[str]
) -> tuple[str, str, str]:
    """Most specific place the report is about: a known region named up front, else the
    division the gazetteer finds the text to be about (全国 for a national document)."""
    known = sorted({r.strip() for r in known_regions if r and r.strip()}, key=len, reverse=True)
    found = document_region(head, full)
    for scope in (head, opening):
        hits = [r for r in known if r in scope]
        if hits:
            region = min(hits, key=lambda r: (_rank(r), scope.index(r)))
            if isinstance(found, Division) and region in found.parents:
                return found.name, *_parents(found)  # 长海县 of a known 大连市
            return region, *_city_province_for(region, f"{head}\n{full}")
    if found == NATIONAL:
        return NATIONAL, "", ""
    if isinstance(found, Division):
        return found.name, *_parents(found)
    counts = Counter({r: full.count(r) for r in known})
    if counts:
        region, n = max(counts.items(), key=lambda kv: (kv[1], -_rank(kv[0]), len(kv[0])))
        if n >= 2:
            return region, *_city_province_for(region, full)
    return "", "", ""


def _rank(name: str) -> int:
    """Smaller is more specific: county level before city before province."""
    d = canonical(name)
    if d is not None:
        return {"county": 0, "city": 1}.get(d.level, 2)
    if name.endswith(("区", "县", "旗")):
        return 0
    if name.endswith(("市", "州", "盟")):
        return 1
    return 2


def _parents(d: Division) -> tuple[str, str]:
    """(city, province) for a region: a city is its own city, a province its own province."""
    if d.level == "province":
        return ("", d.name)
    if d.level == "city":
        return (d.name, d.province)
    return (d.city, d.province)


def _city_province_for(region: str, text: str) -> tuple[str, str]:
    """City and province of a known region, resolving a shared name by the text's mentions."""
    named = [d for d in divisions_in(text) if d.name == region]
    d = next((x for x in named if x.resolved), None) or canonical(region)
    return _parents(d) if d is not None else ("", "")


def _header_lines(parsed: _Parsed) -> list[str]:
    """Title, subtitle and the short lines that open the body (issuer, date, speaker)."""
    lines = [t for t in (parsed.title, parsed.subtitle) if t]
    for k, p in enumerate(parsed.paragraphs[:3]):
        if len(p) > _HEADER_LINE_MAX or k in parsed.rows:
            break
        lines.append(p)
    return lines


def _closing_lines(parsed: _Parsed) -> list[str]:
    """Short lines at the end: a signature and its date (often set apart as captions)."""
    n = len(parsed.paragraphs)
    tail = [
        p
        for k, p in enumerate(parsed.paragraphs[-3:], start=max(0, n - 3))
        if len(p) <= _HEADER_LINE_MAX and k not in parsed.rows
    ]
    return tail + [c for c in parsed.captions[-3:] if len(c) <= _HEADER_LINE_MAX]


def _find_kind(parsed: _Parsed, header: list[str]) -> str:
    for line in header:
        tail = _KIND_TAIL_RE.sub("", line)
        for word, kind in _KINDS:
            if tail.endswith(word):
                return kind
    if any("报道" in b for b in parsed.bylines):
        return "报道"
    first = parsed.paragraphs[0] if parsed.paragraphs else ""
    closing = " ".join([*parsed.paragraphs[-2:], *parsed.bylines])
    if (
        _NEWS_LEAD_RE.match(first)
        or _NEWS_SOURCE_RE.search(closing)
        or any("记者" in b for b in parsed.bylines)
    ):
        return "新闻"
    return ""


def _iso(year: int, month: int, day: int) -> str:
    if 1900 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31:
        return f"{year:04d}-{month:02d}-{day:02d}"
    return ""


def _cn_number(s: str) -> int:
    """'二〇二三' -> 2023 (digit by digit); '十二' -> 12, '二十' -> 20, '三十一' -> 31."""
    if "十" not in s:
        return int("".join(str(_CN_DIGITS.get(c, 0)) for c in s))
    tens, _, ones = s.partition("十")
    return (_CN_DIGITS.get(tens, 1) if tens else 1) * 10 + (_CN_DIGITS.get(ones, 0) if ones else 0)


def _dates_in(line: str) -> list[str]:
    found: list[tuple[int, str]] = []
    for m in _DATE_RE.finditer(line):
        month, day = (m.group(2), m.group(3)) if m.group(2) else (m.group(4), m.group(5))
        found.append((m.start(), _iso(int(m.group(1)), int(month), int(day))))
    for m in _CN_DATE_RE.finditer(line):
        year, month, day = (_cn_number(g) for g in m.groups())
        found.append((m.start(), _iso(year, month, day)))
    return [d for _, d in sorted(found) if d]


def _find_date(header: list[str], closing: list[str]) -> str:
    """The document's date, from its header lines, else from its closing (signature) lines."""
    for line in [*header, *reversed(closing)]:
        dates = _dates_in(line)
        if dates:
            return dates[0]
    return ""


def _find_year(header: list[str]) -> str:
    for line in header:
        m = _YEAR_RE.search(line)
        if m:
            return m.group(1)
        m = _CN_YEAR_RE.search(line)
        if m:
            return str(_cn_number(m.group(1)))
    return ""


def _find_issuer(header: list[str], closing: list[str]) -> str:
    """The issuing body named at the head of the title/header or as the signature line."""
    for line in header:
        issuers = _issuers_at_start(line)
        if issuers:
            return "、".join(issuers)
    for line in reversed(closing):
        issuers = _issuers_at_start(line)
        if issuers and sum(map(len, issuers)) >= 0.6 * len(_squash(line)):
            return "、".join(issuers)
    return ""


def _issuers_at_start(line: str) -> list[str]:
    """'中共中央办公厅 国务院办公厅印发…' -> both; '长顺县人民政府县长 王某' -> 长顺县人民政府."""
    out: list[str] = []
    rest = line.strip().lstrip("—-")
    while rest:
        organ = _organ_at_start(rest)
        if not organ:
            break
        out.append(organ)
        rest = _ISSUER_SEP_RE.sub("", rest[len(organ) :])
    return out


def _organ_at_start(text: str) -> str:
    """The organ named at the start of `text` after its place (or central body), or ""."""
    prefix = "中共" if text.startswith("中共") and not text.startswith("中共中央") else ""
    body = text[len(prefix) :]
    central = next((c for c in _CENTRAL_BODIES if body.startswith(c)), "")
    if central:
        end = len(central)
    else:
        found = mentions(body[:30])
        if not found or found[0].start != 0:
            return ""
        end = found[0].end
        for m in found[1:]:  # 贵州省黔南州长顺县
            if m.start != end:
                break
            end = m.end
    m = _ORGAN_RE.match(body, end)
    if m is None and not central:
        # 浮山县委: the place's suffix is the organ's first character
        m = _ORGAN_RE.match(body, end - 1)
        if m is None or len(m.group()) < 2:
            return ""
    if m is None:
        return prefix + central if central in ("中共中央", "国务院", "全国政协") else ""
    while m:
        end = m.end()
        m = _ORGAN_RE.match(body, end)
    return prefix + body[:end]
