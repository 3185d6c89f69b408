"""Brief export: an answer as a Word document in official format, Markdown, or plain text.

All three are drawn from one `Brief` record: the title (the question), the body (the answer's
headings, paragraphs and tables, with `[n]` markers and 【未核实】 on sentences the citation
check could not back), a numbered reference list that quotes only the sentences the answer
cites, and a 说明 with how the answer was made (answerer, library) and the warnings that
matter to the reader. The body carries no mode notes.

Report text is data: the Markdown neutralises only what a renderer would make live (tags,
links, images, link definitions, bare URLs, block marks at a paragraph start) without
backslash noise; the .docx holds plain text runs only.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.answers import (
    NOT_COVERED,
    OFFLINE_LABEL,
    OFFLINE_NOT_FOUND_LABEL,
    Answer,
    Citation,
    RegionSummary,
)
from assistant.citations import citing_sentences, merge_spans, quoted_spans

APP_NAME = "党建报告问答助手"
UNVERIFIED = "【未核实】"
TABLE_TITLE = "对比表"
TABLE_HEADER = ("地区", "主要做法", "关键数据", "证据强度")
REFERENCES_TITLE = "参考资料"
NOTES_TITLE = "说明"

# Characters XML 1.0 cannot hold (python-docx refuses them): C0 controls but tab/newline/CR.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class ExportError(ValueError):
    """The export target is not .md, .docx or .txt."""


def _xml_safe(value: Any) -> Any:
    """A copy of an answer (or any part of it) with XML-incompatible characters removed."""
    if isinstance(value, str):
        return _NOT_XML.sub("", value)
    if isinstance(value, list):
        return [_xml_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: _xml_safe(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _xml_safe(getattr(value, f.name)) for f in dataclasses.fields(value)}
        copy = dataclasses.replace(value, **changes)
        for name, extra in vars(value).items():  # fields other stages set as attributes
            if name not in changes:
                setattr(copy, name, _xml_safe(extra))
        return copy
    return value


# ---- the brief as a record ---------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """One piece of the body. `text` is inline text with `**bold**` and `[n]` markers."""

    kind: str  # "heading", "para", "item" or "table"
    text: str = ""
    level: int = 1  # headings: 1 (黑体), 2 (楷体), 3+
    mark: str = ""  # items: "" for a bullet, "1." for a numbered item
    rows: tuple[tuple[str, ...], ...] = ()  # tables: the header row first


@dataclass(frozen=True)
class Reference:
    """One numbered source: where it is (地区 · 《标题》 · 章节 · 第N页) and the cited words."""

    n: int
    source: str
    quote: str


@dataclass
class Brief:
    """What every export format shows, in order: title, body, references, 说明."""

    title: str
    blocks: list[Block]
    references: list[Reference]
    notes: list[str]  # the 说明, one line each
    unverified: list[str] = field(default_factory=list)  # "sentence：reason", in the 说明
    answerer: str = ""  # for the document properties
    library: str = ""
    regions: list[str] = field(default_factory=list)


def brief_of(answer: Answer, reports: int | None = None) -> Brief:
    """The brief of an answer; `reports` is the number of reports in the library, if known."""
    if reports is None:
        reports = getattr(answer, "library_reports", None)
    notices = _notice_parts(answer)
    blocks = _body_blocks(answer, notices)
    if answer.regions:
        blocks = [
            Block("heading", TABLE_TITLE),
            Block("table", rows=compare_table(answer.regions)),
            *blocks,
        ]
    blocks, unmatched = _mark_unverified(blocks, answer)
    answer_text = _unescape(answer.answer or "")
    record_text = "\n".join(
        [r.practice for r in answer.regions] + [f for r in answer.regions for f in r.figures]
    )
    references = [
        Reference(c.n, source_of(c), cited_words(c, answer_text + "\n" + record_text))
        for c in answer.citations
    ]
    answerer = _answerer_line(answer)
    library = _library_line(answer, reports)
    notes = [answerer, library]
    if not answer.complete:
        notes.append(
            "大模型的回答没有完整生成，正文为报告原文的离线摘录，请勿当作完整的大模型回答使用。"
        )
    notes += notices
    unverified = [f"“{_flat(_plain_target(u.sentence))}”：{u.reason}" for u in answer.unsupported]
    if answer.unsupported:
        shown = len(answer.unsupported) - unmatched
        where = f"其中 {shown} 处已在正文中标注“{UNVERIFIED}”，" if shown else ""
        notes.append(
            f"有 {len(answer.unsupported)} 处内容未能通过出处核对，{where}写入简报前请对照原文："
        )
    regions = list(dict.fromkeys(c.region for c in answer.citations if c.region))
    return Brief(
        title=_flat(answer.question) or "问答",
        blocks=blocks,
        references=references,
        notes=notes,
        unverified=unverified,
        answerer=answerer,
        library=library,
        regions=regions,
    )


def _answerer_line(answer: Answer) -> str:
    if answer.is_offline:
        return "回答方式：离线摘录，正文直接摘自报告原文，未经大模型生成。"
    model = answer.answerer.removeprefix("llm:")
    return f"回答方式：大模型（{model}）根据检索到的报告原文生成，引用编号和数字已与原文核对。"


def _library_line(answer: Answer, reports: int | None) -> str:
    docs = len({(c.doc_id, c.title) for c in answer.citations})
    used = f"{docs} 份报告的 {len(answer.citations)} 段原文" if docs else ""
    if reports:
        cited = f"本文引用其中 {used}。" if used else "本文未引用报告原文。"
        return f"资料库：共 {reports} 份报告；{cited}"
    return f"资料库：本文引用 {used}。" if used else "资料库：本文未引用报告原文。"


def _notice_parts(answer: Answer) -> list[str]:
    """The notices of an answer (the chain joins several with "；"), each once."""
    parts = [p.strip() for p in re.split(r"[；;]\s*(?=\S)", answer.notice or "")]
    out: list[str] = []
    for p in parts:
        p = p.removeprefix("⚠️").strip()
        if p and p not in out:
            out.append(p)
    return out


# ---- the body ----------------------------------------------------------------------------

# A CommonMark backslash escape (the chain writes `\<`, `!\[`, `]\(`): the character itself.
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_ITEM = re.compile(r"^(?:[-*+]|(\d{1,3}[.)]))\s+(.*)$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_LABELS = (OFFLINE_LABEL, OFFLINE_NOT_FOUND_LABEL)


def _unescape(text: str) -> str:
    return _ESCAPE.sub(r"\1", text or "")


def _flat(text: str) -> str:
    """One line, layout whitespace collapsed."""
    return " ".join(str(text or "").split())


def _is_note(line: str, notices: list[str]) -> bool:
    text = line.lstrip("> ").removeprefix("⚠️").strip()
    if text in _LABELS:
        return True
    whole = "；".join(notices)
    return bool(text) and (text in notices or text == whole)


def _body_blocks(answer: Answer, notices: list[str]) -> list[Block]:
    """The answer's Markdown as blocks, without mode labels and notices (they go in the 说明);
    with per-region records the answer's own table is left out (the records make it)."""
    blocks: list[Block] = []
    table: list[str] = []
    for raw in (answer.answer or "").splitlines() + [""]:
        line = raw.strip()
        if line.startswith("|"):
            table.append(line)
            continue
        if table:
            blocks += _table_blocks(table)
            table = []
        if not line or _TABLE_RULE.match(line) or _is_note(line, notices):
            continue
        heading = _HEADING.match(line)
        item = _ITEM.match(line)
        if heading:
            blocks.append(Block("heading", _unescape(heading.group(2)), len(heading.group(1))))
        elif item:
            blocks.append(Block("item", _unescape(item.group(2)), mark=item.group(1) or ""))
        else:
            blocks.append(Block("para", _unescape(line.lstrip("> ").strip())))
    if answer.regions:
        blocks = _without_tables(blocks)
    if not blocks and answer.answer:
        # An answer that is only a notice ("请输入问题"): the notice is the body.
        blocks = [Block("para", _flat(_unescape(answer.answer.lstrip("> "))))]
    return _relevel(blocks)


def _table_blocks(lines: list[str]) -> list[Block]:
    """Lines starting with "|": a table when the second is a delimiter row (as in GFM),
    otherwise paragraphs."""
    if len(lines) < 2 or not _TABLE_RULE.match(lines[1]):
        return [Block("para", _unescape(line)) for line in lines]
    rows = [
        tuple(_flat(_unescape(c)) for c in _CELL_SPLIT.split(line.strip("|")))
        for line in lines
        if not _TABLE_RULE.match(line)
    ]
    return [Block("table", rows=tuple(rows))]


def _without_tables(blocks: list[Block]) -> list[Block]:
    """Blocks without tables and without a heading that only introduced a table."""
    out: list[Block] = []
    for i, b in enumerate(blocks):
        if b.kind == "table":
            continue
        following = blocks[i + 1] if i + 1 < len(blocks) else None
        if b.kind == "heading" and following is not None and following.kind == "table":
            continue
        out.append(b)
    return out


def _relevel(blocks: list[Block]) -> list[Block]:
    """The answer's heading levels renumbered from 1 ("###" regions become level 1)."""
    levels = sorted({b.level for b in blocks if b.kind == "heading"})
    rank = {lvl: i + 1 for i, lvl in enumerate(levels)}
    return [
        dataclasses.replace(b, level=rank[b.level]) if b.kind == "heading" else b for b in blocks
    ]


def _strength(r: RegionSummary) -> str:
    """The evidence of a region in words. A covered region's strength is on the theme scale
    (shared words only, `evidence.theme_thresholds`), at or above `region_weak`: 弱 below
    the answer-level `weak` cut, 中 from it, 强 from `strong`. Those two cuts were fitted on
    the answer scale, which also counts shared characters and runs higher, so 中/强 here
    are conservative: a region labelled 强 would pass as a strong answer too."""
    from assistant import evidence as ev

    if not r.found:
        return "—"
    t = ev.thresholds()
    return "强" if r.strength >= t.strong else "中" if r.strength >= t.weak else "弱"


def compare_table(regions: list[RegionSummary]) -> tuple[tuple[str, ...], ...]:
    """The comparison as rows (header first): region, main practice, key figures, evidence.
    Every finding cell carries its `[n]`; regions the reports do not cover say so."""
    rows: list[tuple[str, ...]] = [TABLE_HEADER]
    for r in regions:
        if not r.found:
            rows.append((_flat(r.region), NOT_COVERED, "—", "—"))
            continue
        practice = _flat(_unescape(r.practice)) or _first_line(r.summary) or "（见引用原文）"
        figures = "；".join(_flat(_unescape(f)) for f in r.figures) or "—"
        rows.append((_flat(r.region), practice, figures, _strength(r)))
    return tuple(rows)


def _first_line(summary: str) -> str:
    for line in (summary or "").splitlines():
        line = _unescape(line).strip().lstrip("-*+• ").strip()
        if line:
            return _flat(line)
    return ""


# ---- 【未核实】 on the sentences themselves ------------------------------------------------

_MARKER = re.compile(r"\[(\d+)\]")
_INLINE_NOISE = re.compile(r"\[\d+\]|\*\*")
_LEAD = re.compile(r"^\s*(?:[-*+]\s+|\d{1,3}[.)]\s+|#+\s*|>\s*)")
_END_MARKS = "。！？!?；;，,、 "


def _plain_target(sentence: str) -> str:
    """A flagged sentence as it reads: no list mark, bold marks or `[n]`."""
    return _INLINE_NOISE.sub("", _LEAD.sub("", _unescape(sentence))).strip()


def _mark_text(text: str, target: str) -> str | None:
    """`text` with 【未核实】 right after `target` (found ignoring `[n]` and `**`), or None."""
    plain: list[str] = []
    origin: list[int] = []
    pos = 0
    for m in _INLINE_NOISE.finditer(text):
        plain.extend(text[pos : m.start()])
        origin.extend(range(pos, m.start()))
        pos = m.end()
    plain.extend(text[pos:])
    origin.extend(range(pos, len(text)))
    at = "".join(plain).find(target)
    if at == -1:
        return None
    end = origin[at + len(target) - 1] + 1
    return text[:end] + UNVERIFIED + text[end:]


def _mark_unverified(blocks: list[Block], answer: Answer) -> tuple[list[Block], int]:
    """Blocks with each flagged sentence marked once; also how many could not be placed."""
    out = list(blocks)
    unmatched = 0
    for u in answer.unsupported:
        target = _plain_target(u.sentence).rstrip(_END_MARKS)
        placed = False
        for i, b in enumerate(out):
            if not target or placed:
                break
            if b.kind == "table":
                rows = [list(r) for r in b.rows]
                for r in rows[1:]:
                    for j, cell in enumerate(r):
                        marked = None if placed else _mark_text(cell, target)
                        if marked is not None:
                            r[j], placed = marked, True
                if placed:
                    out[i] = dataclasses.replace(b, rows=tuple(tuple(r) for r in rows))
            elif b.kind != "heading":
                marked = _mark_text(b.text, target)
                if marked is not None:
                    out[i], placed = dataclasses.replace(b, text=marked), True
        unmatched += not placed
    return out, unmatched


# ---- references: where, and only the cited words -----------------------------------------

_SENTENCE = re.compile(r"[^。！？!?\n]+(?:[。！？!?]+[”’」』）)]*|$)")
_CLAUSE_END = "，,；;：:"
_SENTENCE_END = "。！？!?”’」』）)"
# A sentence longer than this is quoted from the cited clauses only (with "……"), so that a
# reference stays readable; whole sentences of the sample reports are mostly under 120 chars.
LONG_SENTENCE = 160


def source_of(c: Citation) -> str:
    """地区 · 《报告标题》 · 章节 · 第N页 (the page only when the citation knows it)."""
    title = _flat(c.title)
    if title and not (title.startswith("《") and title.endswith("》")):
        title = f"《{title}》"
    parts = [_flat(c.region) or "未标注地区", title or "（未标注标题）"]
    section = _flat(c.section)
    if section and section != _flat(c.title):
        parts.append(section if len(section) <= 40 else section[:39] + "…")
    page = getattr(c, "page", 0) or 0
    if isinstance(page, int) and page > 0:
        parts.append(f"第{page}页")
    return " · ".join(parts)


def _squash(text: str) -> str:
    from assistant.answer_offline import squash_spaces

    return squash_spaces(_flat(text))


def _clause_window(passage: str, start: int, end: int, lo: int, hi: int) -> tuple[int, int]:
    """The span widened to whole clauses, within the sentence [lo, hi)."""
    left = max([passage.rfind(ch, lo, start) for ch in _CLAUSE_END] + [lo - 1]) + 1
    rights = [i for i in (passage.find(ch, end, hi) for ch in _CLAUSE_END) if i != -1]
    right = min(rights) + 1 if rights else hi
    return left, right


def cited_words(c: Citation, answer_text: str) -> str:
    """The sentence(s) of the cited passage that the answer's sentences citing it quote or
    reuse; the closest sentence by shared words when the answer paraphrases."""
    passage = c.quote or ""
    sentences = [(m.start(), m.end()) for m in _SENTENCE.finditer(passage) if m.group(0).strip()]
    if not sentences:
        return ""
    citing = citing_sentences(answer_text, c.n)
    picked: list[tuple[int, int]] = []
    for start, end in quoted_spans(passage, citing):
        for lo, hi in sentences:
            if lo < end and start < hi:
                s, e = max(start, lo), min(end, hi)
                long = hi - lo > LONG_SENTENCE
                picked.append(_clause_window(passage, s, e, lo, hi) if long else (lo, hi))
    if not picked:
        picked = [_closest(passage, sentences, citing)]
    pieces: list[str] = []
    previous_end = None
    for start, end in merge_spans(picked, len(passage), passage):
        piece = _squash(passage[start:end]).rstrip(_CLAUSE_END)
        if not piece:
            continue
        starts_sentence = any(lo == start for lo, _ in sentences)
        gap = passage[previous_end:start].strip() if previous_end is not None else ""
        if (not starts_sentence or gap) and not (pieces and pieces[-1].endswith("……")):
            piece = "……" + piece
        if not any(hi == end for _, hi in sentences) or piece[-1] not in _SENTENCE_END:
            piece += "……"
        pieces.append(piece)
        previous_end = end
    return "".join(pieces)


def _closest(passage: str, sentences: list[tuple[int, int]], citing: list[str]) -> tuple[int, int]:
    from assistant.evidence import grams

    wanted = grams(_MARKER.sub("", "".join(citing)))
    best = max(sentences, key=lambda se: len(grams(passage[se[0] : se[1]]) & wanted))
    if not wanted or not grams(passage[best[0] : best[1]]) & wanted:
        best = sentences[0]
    lo, hi = best
    return (lo, hi) if hi - lo <= LONG_SENTENCE else (lo, lo + LONG_SENTENCE)


# ---- Markdown ----------------------------------------------------------------------------

# What a Markdown renderer would make live in report text, and its inert look-alike:
# a tag, comment or autolink `<…>` -> `＜…＞`; a link or image `](` -> `] (`; a bare URL or
# e-mail (GFM links them) -> a code span; at a block start `#`, `>`, `|`, a code fence or a
# link definition `[x]:` -> the full-width mark. Nothing is backslash-escaped.
_TAG = re.compile(r"<(?=[A-Za-z/!?])([^<>\n]*)(>?)")
# A URL ends before brackets, parentheses and Chinese text, and trailing punctuation stays out
# of it, so a `[n]` after a URL is still a marker.
_LINKISH = re.compile(
    r"(?i)(?:(?:[a-z][a-z0-9+.-]{0,20}://|www\.|mailto:|xmpp:)"
    r"[^\s<>`\[\]()\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]*"
    r"|[a-z0-9._+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+)(?<![.,:;!?'\"*_~])"
)
_BLOCK_START = re.compile(r"^(?:[#>|]|`{3,}|~{3,}|\[[^\]\n]*\]:)")
_FULL_WIDTH = str.maketrans(
    {"#": "＃", ">": "＞", "|": "｜", "`": "ˋ", "~": "～", "[": "［", "]": "］"}
)


def inert_markdown(text: str, *, cell: bool = False) -> str:
    """Report text (or model output quoting it) as Markdown that renders as the same words
    and never as HTML, a link, an image or a block it did not start; `**bold**` and `[n]`
    stay. In a table cell `|` is shown as `｜`."""
    text = _flat(text)
    text = _TAG.sub(lambda m: "＜" + m.group(1) + ("＞" if m.group(2) else ""), text)
    text = text.replace("](", "] (")
    if cell:
        text = text.replace("|", "｜")
    lead = _BLOCK_START.match(text)
    if lead:
        text = lead.group(0).translate(_FULL_WIDTH) + text[lead.end() :]
    out: list[str] = []
    pos = 0
    for m in _LINKISH.finditer(text):
        out.append(text[pos : m.start()])
        out.append("`" + m.group(0).replace("`", "ˋ") + "`")
        pos = m.end()
    out.append(text[pos:])
    return "".join(out)


def _md_table(rows: tuple[tuple[str, ...], ...]) -> list[str]:
    width = max(len(r) for r in rows)

    def line(row: tuple[str, ...]) -> str:
        cells = [inert_markdown(c, cell=True) or "—" for c in row] + ["—"] * (width - len(row))
        return "| " + " | ".join(cells) + " |"

    return [line(rows[0]), "| " + " | ".join(["---"] * width) + " |", *map(line, rows[1:])]


def to_markdown(answer: Answer, reports: int | None = None) -> str:
    """The brief as Markdown: [n] in the text, a numbered reference list, then the 说明."""
    brief = brief_of(answer, reports)
    out = [f"# {inert_markdown(brief.title)}", ""]
    previous = ""
    for b in brief.blocks:
        if previous == "item" and b.kind != "item":
            out.append("")
        if b.kind == "heading":
            out += [f"{'#' * min(b.level + 1, 6)} {inert_markdown(b.text)}", ""]
        elif b.kind == "table":
            out += [*_md_table(b.rows), ""]
        elif b.kind == "item":
            bullet = b.mark.replace(")", ".") if b.mark else "-"
            out.append(f"{bullet} {inert_markdown(b.text)}")
        else:
            out += [inert_markdown(b.text), ""]
        previous = b.kind
    if out[-1] != "":
        out.append("")
    if brief.references:
        out += [f"## {REFERENCES_TITLE}", ""]
        for r in brief.references:
            out += [f"[{r.n}] {inert_markdown(r.source)}：“{inert_markdown(r.quote)}”", ""]
    out += [f"## {NOTES_TITLE}", ""]
    out += [f"- {inert_markdown(n)}" for n in brief.notes]
    out += [f"  - {inert_markdown(u)}" for u in brief.unverified]
    return "\n".join(out).rstrip() + "\n"


# ---- plain text --------------------------------------------------------------------------


def _plain(text: str) -> str:
    return _flat(text).replace("**", "")


def to_text(answer: Answer, reports: int | None = None) -> str:
    """The brief as plain text that pastes cleanly into Word or WPS: one paragraph a line,
    a blank line before each heading, no Markdown syntax."""
    brief = brief_of(answer, reports)
    out = [_plain(brief.title), ""]
    for b in brief.blocks:
        if b.kind == "heading":
            out += ["", _plain(b.text)] if out[-1] else [_plain(b.text)]
        elif b.kind == "table":
            header = b.rows[0]
            for row in b.rows[1:]:
                out.append(_plain(row[0]))
                out += [
                    f"{_plain(h)}：{_plain(v)}"
                    for h, v in zip(header[1:], row[1:], strict=False)
                    if _plain(v)
                ]
        else:
            out.append(_plain(f"{b.mark} {b.text}" if b.mark else b.text))
    if brief.references:
        out += ["", REFERENCES_TITLE]
        out += [f"[{r.n}] {_plain(r.source)}：“{_flat(r.quote)}”" for r in brief.references]
    out += ["", NOTES_TITLE, *map(_plain, brief.notes)]
    out += [f"（{i}）{_plain(u)}" for i, u in enumerate(brief.unverified, 1)]
    return "\n".join(out) + "\n"


# ---- Word ---------------------------------------------------------------------------------


def to_docx(answer: Answer, path: Path | str | None = None, reports: int | None = None) -> bytes:
    """The brief as a Word document in official format (see `assistant.export_docx`)."""
    from assistant.export_docx import render_docx

    data = render_docx(brief_of(_xml_safe(answer), reports))
    if path is not None:
        Path(path).write_bytes(data)
    return data


# ---- by file name ------------------------------------------------------------------------

FORMATS = (".md", ".docx", ".txt")


def export(answer: Answer, path: Path | str, reports: int | None = None) -> Path:
    """Write the brief to `path`; the suffix (.md, .docx or .txt) picks the format."""
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".md":
        target.write_text(to_markdown(answer, reports), encoding="utf-8")
    elif suffix == ".docx":
        to_docx(answer, target, reports)
    elif suffix == ".txt":
        target.write_text(to_text(answer, reports), encoding="utf-8-sig")  # Word reads it as UTF-8
    else:
        raise ExportError(f"无法导出为 {target.name}：只支持 .md、.docx 和 .txt。")
    return target
