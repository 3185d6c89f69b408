"""Text of a Word (.docx) report, after checking the package cannot expand too far.

The text keeps the document's structure in the form cleaning and chunking read:
- a heading (style Heading/标题 n, or an outline level) is its own paragraph marked
  Markdown-style, "## 二、组织建设", so its level reaches the section path;
- automatic numbering is written out as Word shows it ("一、", "（二）", "3.");
- a list item is its own paragraph and a whole sentence (a final "。" added when it has none),
  so it is neither glued to its neighbours nor taken for a heading; bullets are written "• ";
- a table becomes row sentences (`assistant.tables.table_paragraphs`), in body order, with a
  "表1 …" or Caption-style paragraph just above it as its caption.
"""

from __future__ import annotations

import io
import re
import zipfile

from assistant.cleaning import HEADING_MAX, ends_sentence
from assistant.loading import Loaded, LoadError
from assistant.tables import table_paragraphs

_DOCX_MAIN = "word/document.xml"


def read(name: str, data: bytes, *, max_chars: int, max_bytes: int) -> Loaded:
    """`data` (the bytes of file `name`) loaded; raises LoadError with a Chinese reason."""
    return Loaded(docx_text(name, data, max_chars=max_chars, max_bytes=max_bytes), "docx")


def docx_text(name: str, data: bytes, *, max_chars: int, max_bytes: int) -> str:
    """Paragraph and table text of a .docx, after checking the zip cannot expand too far."""
    not_docx = "不是有效的 Word(.docx)文档,或文件已损坏。请用 Word 重新另存为 .docx 后再上传。"
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise LoadError(name, not_docx) from exc
    with zf:
        infos = zf.infolist()
        main = next((i for i in infos if i.filename == _DOCX_MAIN), None)
        if main is None:
            raise LoadError(name, "这是一个压缩包,但不是 Word(.docx)文档。请上传真正的 Word 文档。")
        # XML markup is verbose but not 20 bytes per character of text; beyond that it is a bomb.
        if main.file_size > 20 * max_chars:
            raise LoadError(
                name,
                "Word 文档的正文解压后过大(可能是恶意压缩文件),已拒绝。请检查文件来源。",
            )
        total = sum(i.file_size for i in infos)
        if total > 20 * max_chars + 5 * max_bytes:
            raise LoadError(
                name,
                "Word 文档解压后总大小过大(可能是恶意压缩文件),已拒绝。请检查文件来源。",
            )
        _check_inflation(name, zf, infos, not_docx)
    try:
        import docx

        document = docx.Document(io.BytesIO(data))
        parts = _body_parts(document)
    except LoadError:
        raise
    except Exception as exc:  # python-docx/lxml raise many kinds on broken packages
        raise LoadError(name, not_docx) from exc
    return "\n\n".join(p for p in parts if p.strip())


def _check_inflation(name: str, zf: zipfile.ZipFile, infos, not_docx: str) -> None:
    """Inflate every part in small steps before python-docx does it in one go.

    zipfile inflates a whole member at once and only then cuts it to the size the header
    declares, so a part that lies about its size would take all of its real size in memory.
    Read in steps, a liar ends at its declared size with a CRC error instead.
    """
    for info in infos:
        try:
            with zf.open(info) as fh:
                while fh.read(1 << 20):
                    pass
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
            raise LoadError(name, not_docx) from exc
        except NotImplementedError as exc:  # an unusual compression method
            raise LoadError(name, not_docx) from exc


# --- structure ------------------------------------------------------------------------------

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_HEADING_STYLE_RE = re.compile(r"^(?:heading|标题)\s*([1-9])$", re.IGNORECASE)
_TITLE_STYLES = {"title", "标题"}
_CAPTION_STYLES = {"caption", "题注"}
_TOC_STYLE_RE = re.compile(r"^(?:toc|目录)\s*\d", re.IGNORECASE)
_TABLE_CAPTION_RE = re.compile(r"^(?:附?表|table)\s*[0-9０-９一二三四五六七八九十]+", re.IGNORECASE)
_MAX_LEVEL = 6
BULLET = "• "


def _body_parts(document) -> list[str]:
    """Paragraph, heading, list and table text of the body, in document order."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    styles = _StyleInfo(document)
    numbering = _Numbering(document)
    blocks: list = []
    for child in _block_elements(document.element.body):
        if child.tag == _W + "p":
            blocks.append(Paragraph(child, document))
        else:
            blocks.append(Table(child, document))
    items = [_num_key(b, styles) if isinstance(b, Paragraph) else None for b in blocks]

    parts: list[str] = []
    caption = ""
    for k, block in enumerate(blocks):
        if isinstance(block, Table):
            rows = [[cell.text for cell in row.cells] for row in block.rows]
            parts.extend(table_paragraphs(rows, caption=caption, header_rows=_header_rows(block)))
            caption = ""
            continue
        if caption:
            parts.append(caption)  # a "表1" line that no table followed
            caption = ""
        style = styles.name(block)
        text = block.text.strip()
        if _TOC_STYLE_RE.match(style):
            continue  # table-of-contents lines repeat the headings
        label = numbering.label(block, styles)
        if not text:
            continue
        level = styles.heading_level(block)
        next_is_table = k + 1 < len(blocks) and isinstance(blocks[k + 1], Table)
        if next_is_table and (
            style.lower() in _CAPTION_STYLES
            or (_TABLE_CAPTION_RE.match(text) and len(text) <= 60 and not ends_sentence(text))
        ):
            caption = label + text
            continue
        if level:
            parts.append("#" * min(level, _MAX_LEVEL) + " " + label + text)
        elif label == BULLET or (items[k] is not None and _in_list(items, k, label + text)):
            parts.append(_list_item(label, text))
        else:
            parts.append(label + text)
    if caption:
        parts.append(caption)
    return parts


def _block_elements(body):
    """Paragraphs and tables of the body, also those inside content controls (w:sdt)."""
    for child in body.iterchildren():
        if child.tag in (_W + "p", _W + "tbl"):
            yield child
        elif child.tag == _W + "sdt":
            content = child.find(_W + "sdtContent")
            if content is not None:
                yield from _block_elements(content)


def _list_item(label: str, text: str) -> str:
    """A list item as one sentence: its number or bullet text, then the item, then "。"."""
    if not ends_sentence(text):
        text = text.rstrip("，,、：:；; ") + "。"
    return label + text


def _in_list(items: list, k: int, text: str) -> bool:
    """A numbered paragraph is a list item when an item of the same list and level stands next
    to it; alone between body paragraphs a short one is a numbered heading ("一、总体情况")."""
    if len(text) > HEADING_MAX or ends_sentence(text) or any(c in "。！？；!?;" for c in text):
        return True
    return any(0 <= j < len(items) and items[j] == items[k] for j in (k - 1, k + 1))


def _num_key(paragraph, styles: _StyleInfo):
    """(numId, level) of a numbered or bulleted paragraph, None otherwise."""
    num = styles.num_pr(paragraph)
    return None if num is None or num[0] == "0" else num


def _header_rows(table) -> int | None:
    """Leading rows Word repeats as the header on each page, else a bold first row, else None."""
    rows = list(table.rows)
    n = 0
    for row in rows:
        trPr = row._tr.trPr
        if trPr is None or trPr.find(_W + "tblHeader") is None:
            break
        flag = trPr.find(_W + "tblHeader").get(_W + "val", "true")
        if flag in ("0", "false", "off"):
            break
        n += 1
    if n:
        return n
    if len(rows) >= 2 and _all_bold(rows[0]) and not _all_bold(rows[1]):
        return 1
    return None


def _all_bold(row) -> bool:
    runs = [r for cell in row.cells for p in cell.paragraphs for r in p.runs if r.text.strip()]
    return bool(runs) and all(r.bold for r in runs)


class _StyleInfo:
    """Heading level and numbering of paragraphs, following each style's basedOn chain."""

    def __init__(self, document) -> None:
        self._by_id = {}
        for el in document.styles.element.findall(_W + "style"):
            self._by_id[el.get(_W + "styleId")] = el

    def _chain(self, style_id: str | None):
        seen = set()
        while style_id and style_id in self._by_id and style_id not in seen:
            seen.add(style_id)
            el = self._by_id[style_id]
            yield el
            based = el.find(_W + "basedOn")
            style_id = based.get(_W + "val") if based is not None else None

    @staticmethod
    def _style_id(paragraph) -> str | None:
        pPr = paragraph._p.pPr
        if pPr is None or pPr.pStyle is None:
            return None
        return pPr.pStyle.val

    def name(self, paragraph) -> str:
        el = self._by_id.get(self._style_id(paragraph) or "")
        if el is None:
            return ""
        name = el.find(_W + "name")
        return (name.get(_W + "val") or "") if name is not None else ""

    def heading_level(self, paragraph) -> int:
        """1-based level from a Heading/标题 n style or an outline level; 0 for body text."""
        pPr = paragraph._p.pPr
        own = pPr.find(_W + "outlineLvl") if pPr is not None else None
        if own is not None:
            return _outline(own)
        for el in self._chain(self._style_id(paragraph)):
            name = el.find(_W + "name")
            m = _HEADING_STYLE_RE.match((name.get(_W + "val") or "") if name is not None else "")
            if m:
                return int(m.group(1))
            ppr = el.find(_W + "pPr")
            lvl = ppr.find(_W + "outlineLvl") if ppr is not None else None
            if lvl is not None:
                return _outline(lvl)
        return 0

    def num_pr(self, paragraph) -> tuple[str, int] | None:
        """(numId, ilvl) from the paragraph or its style chain."""
        pPr = paragraph._p.pPr
        els = [pPr] if pPr is not None else []
        els += [el.find(_W + "pPr") for el in self._chain(self._style_id(paragraph))]
        for ppr in els:
            num = ppr.find(_W + "numPr") if ppr is not None else None
            if num is None:
                continue
            num_id = num.find(_W + "numId")
            ilvl = num.find(_W + "ilvl")
            if num_id is None:
                continue
            return num_id.get(_W + "val"), int(ilvl.get(_W + "val")) if ilvl is not None else 0
        return None


def _outline(el) -> int:
    """outlineLvl 0..8 is heading level 1..9; 9 means body text."""
    try:
        val = int(el.get(_W + "val"))
    except (TypeError, ValueError):
        return 0
    return val + 1 if 0 <= val < 9 else 0


class _Numbering:
    """Labels of automatically numbered paragraphs, counted as Word counts them."""

    def __init__(self, document) -> None:
        self._abstract: dict[str, dict[int, tuple[int, str, str]]] = {}
        self._nums: dict[str, tuple[str, dict[int, int]]] = {}
        self._counters: dict[str, dict[int, int]] = {}
        try:
            root = document.part.numbering_part.element
        except (KeyError, NotImplementedError, AttributeError):
            return
        for ab in root.findall(_W + "abstractNum"):
            levels = {}
            for lvl in ab.findall(_W + "lvl"):
                levels[int(lvl.get(_W + "ilvl", "0"))] = (
                    int(_val(lvl, "start") or 1),
                    _val(lvl, "numFmt") or "decimal",
                    _val(lvl, "lvlText") or "",
                )
            self._abstract[ab.get(_W + "abstractNumId")] = levels
        for num in root.findall(_W + "num"):
            ab = num.find(_W + "abstractNumId")
            overrides = {}
            for ov in num.findall(_W + "lvlOverride"):
                start = _val(ov, "startOverride")
                if start:
                    overrides[int(ov.get(_W + "ilvl", "0"))] = int(start)
            if ab is not None:
                self._nums[num.get(_W + "numId")] = (ab.get(_W + "val"), overrides)

    def label(self, paragraph, styles: _StyleInfo) -> str:
        """The number Word shows before `paragraph` ("一、", "（2）"), `BULLET` for a bullet."""
        key = _num_key(paragraph, styles)
        if key is None or key[0] not in self._nums:
            return ""
        num_id, ilvl = key
        abstract_id, overrides = self._nums[num_id]
        levels = self._abstract.get(abstract_id, {})
        if ilvl not in levels:
            return ""
        counters = self._counters.setdefault(num_id, {})
        start = overrides.get(ilvl, levels[ilvl][0])
        counters[ilvl] = counters.get(ilvl, start - 1) + 1
        for deeper in [k for k in counters if k > ilvl]:
            del counters[deeper]
        fmt, text = levels[ilvl][1], levels[ilvl][2]
        if fmt == "none" or not paragraph.text.strip():
            return ""
        if fmt == "bullet":  # the symbol is often a private-use glyph of a symbol font
            return BULLET

        def repl(m: re.Match[str]) -> str:
            k = int(m.group(1)) - 1
            value = counters.get(k, overrides.get(k, levels.get(k, (1, "", ""))[0]))
            return _format_number(value, levels.get(k, (1, "decimal", ""))[1])

        return re.sub(r"%([1-9])", repl, text)


def _val(el, child: str) -> str | None:
    c = el.find(_W + child)
    return c.get(_W + "val") if c is not None else None


_CN_DIGITS = "〇一二三四五六七八九"
_CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
_TIANGAN = "甲乙丙丁戊己庚辛壬癸"


def _format_number(n: int, fmt: str) -> str:
    if fmt in (
        "chineseCounting",
        "chineseCountingThousand",
        "japaneseCounting",
        "taiwaneseCounting",
    ):
        return _chinese(n)
    if fmt in ("decimalEnclosedCircle", "decimalEnclosedCircleChinese") and 1 <= n <= 20:
        return _CIRCLED[n - 1]
    if fmt == "ideographTraditional" and 1 <= n <= 10:
        return _TIANGAN[n - 1]
    if fmt == "decimalFullWidth":
        return "".join(chr(ord(c) + 0xFEE0) for c in str(n))
    if fmt in ("upperLetter", "lowerLetter") and n >= 1:
        letter = chr(ord("A") + (n - 1) % 26) * ((n - 1) // 26 + 1)
        return letter if fmt == "upperLetter" else letter.lower()
    if fmt in ("upperRoman", "lowerRoman") and 1 <= n < 4000:
        roman = _roman(n)
        return roman if fmt == "upperRoman" else roman.lower()
    if fmt == "decimalZero":
        return f"{n:02d}"
    return str(n)


def _chinese(n: int) -> str:
    """1..99 as counted in Chinese: 一, 十, 十一, 二十, 二十三."""
    if not 0 < n < 100:
        return str(n)
    tens, ones = divmod(n, 10)
    if not tens:
        return _CN_DIGITS[ones]
    return ("" if tens == 1 else _CN_DIGITS[tens]) + "十" + (_CN_DIGITS[ones] if ones else "")


def _roman(n: int) -> str:
    out = []
    for value, sym in (
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ):
        while n >= value:
            out.append(sym)
            n -= value
    return "".join(out)
