"""The brief as a Word document in the manner of GB/T 9704 (党政机关公文格式): A4, the type
area set by the standard's margins, 仿宋_GB2312 三号 body at a fixed 28 pt, 黑体 and 楷体
headings, a 小标宋 title, page numbers "— 1 —" outside on odd and even pages, the references
as an endnote list. Only plain text runs: no links, fields other than PAGE, or images."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime
from typing import Any

from assistant.export import APP_NAME, NOTES_TITLE, REFERENCES_TITLE, UNVERIFIED, Brief

BODY_FONT = "仿宋_GB2312"
HEADING_FONTS = {1: "黑体", 2: "楷体_GB2312"}  # level 3 and below: the body font, bold
TITLE_FONT = "方正小标宋简体"
LATIN_FONT = "Times New Roman"
PAGE_NUMBER_FONT = "宋体"
# Word and WPS look a missing font up by its alternate names (w:altName in the font table),
# so a machine without the GB2312 fonts shows the same face under its newer name.
FONT_FALLBACKS = {
    "仿宋_GB2312": "仿宋,FangSong",
    "楷体_GB2312": "楷体,KaiTi",
    "黑体": "SimHei",
    "方正小标宋简体": "华文中宋,宋体,SimSun",
    "宋体": "SimSun",
}
BODY_PT = 16  # 三号
TITLE_PT = 22  # 二号
SMALL_PT = 14  # 四号: tables, references, page numbers
LINE_PT = 28  # fixed line spacing: 22 lines in the 225 mm type area
SMALL_LINE_PT = 22
INDENT_PT = 2 * BODY_PT  # 首行缩进两字
MARGINS_MM = {"top": 37, "bottom": 35, "left": 28, "right": 26}
PAGE_MM = (210, 297)  # A4
TABLE_WIDTHS_MM = (22, 70, 46, 18)  # 地区, 主要做法, 关键数据, 证据强度: the 156 mm type width
_INLINE = re.compile(r"\*\*(.+?)\*\*|\[(\d+)\]|" + re.escape(UNVERIFIED))
_THEME_FONT_ATTRS = ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme")


def _set_fonts(element: Any, east_asia: str, latin: str = LATIN_FONT) -> None:
    """The East Asian and Latin font of a run, style or default (w:rFonts), themes removed."""
    from docx.oxml.ns import qn

    fonts = element.get_or_add_rPr().get_or_add_rFonts()
    for attr in _THEME_FONT_ATTRS:
        fonts.attrib.pop(qn(f"w:{attr}"), None)
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)
    fonts.set(qn("w:eastAsia"), east_asia)
    fonts.set(qn("w:cs"), latin)


def _run(paragraph: Any, text: str, size: float, font: str = BODY_FONT, **style: Any) -> Any:
    from docx.shared import Pt, RGBColor

    run = paragraph.add_run(text)
    _set_fonts(run.font.element, font, PAGE_NUMBER_FONT if font == PAGE_NUMBER_FONT else LATIN_FONT)
    run.font.size = Pt(size)
    run.font.bold = style.get("bold", False)
    if style.get("superscript"):
        run.font.superscript = True
    if style.get("red"):
        run.font.color.rgb = RGBColor(0xC0, 0x00, 0x00)
    return run


def _spacing(paragraph: Any, line: float = LINE_PT, indent: float = INDENT_PT) -> None:
    from docx.enum.text import WD_LINE_SPACING
    from docx.shared import Pt

    f = paragraph.paragraph_format
    f.space_before = Pt(0)
    f.space_after = Pt(0)
    f.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    f.line_spacing = Pt(line)
    f.first_line_indent = Pt(indent) if indent else None


def _inline(paragraph: Any, text: str, size: float, font: str = BODY_FONT, bold=False) -> None:
    """Text with **bold**, [n] as superscript and 【未核实】 in red."""
    pos = 0
    for m in _INLINE.finditer(text):
        if m.start() > pos:
            _run(paragraph, text[pos : m.start()], size, font, bold=bold)
        if m.group(1) is not None:
            _run(paragraph, m.group(1), size, font, bold=True)
        elif m.group(2) is not None:
            _run(paragraph, f"[{m.group(2)}]", size, font, bold=bold, superscript=True)
        else:
            _run(paragraph, UNVERIFIED, size, font, bold=True, red=True)
        pos = m.end()
    if pos < len(text):
        _run(paragraph, text[pos:], size, font, bold=bold)


def _style(document: Any, name: str, font: str, size: float, bold: bool = False) -> None:
    from docx.enum.text import WD_LINE_SPACING
    from docx.shared import Pt, RGBColor

    style = document.styles[name]
    _set_fonts(style.element, font)
    style.font.size = Pt(size)
    style.font.bold = bold
    style.font.italic = False
    style.font.color.rgb = RGBColor(0, 0, 0)
    f = style.paragraph_format
    f.space_before = Pt(0)
    f.space_after = Pt(0)
    f.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    f.line_spacing = Pt(LINE_PT)


def _defaults(document: Any) -> None:
    """Document defaults and styles: 仿宋 三号, fixed 28 pt, Chinese proofing language."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    styles = document.styles
    rpr_default = styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault"))
    rpr = rpr_default.find(qn("w:rPr"))
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in _THEME_FONT_ATTRS:
        fonts.attrib.pop(qn(f"w:{attr}"), None)
    for attr, value in (("ascii", LATIN_FONT), ("hAnsi", LATIN_FONT), ("cs", LATIN_FONT)):
        fonts.set(qn(f"w:{attr}"), value)
    fonts.set(qn("w:eastAsia"), BODY_FONT)
    for tag in ("w:sz", "w:szCs"):
        node = rpr.find(qn(tag))
        if node is not None:
            node.set(qn("w:val"), str(BODY_PT * 2))
    lang = rpr.find(qn("w:lang"))
    if lang is not None:
        lang.set(qn("w:eastAsia"), "zh-CN")
    _style(document, "Normal", BODY_FONT, BODY_PT)
    _style(document, "Title", TITLE_FONT, TITLE_PT)
    title = document.styles["Title"].element.pPr
    border = title.find(qn("w:pBdr")) if title is not None else None
    if border is not None:
        title.remove(border)
    _style(document, "Heading 1", HEADING_FONTS[1], BODY_PT)
    _style(document, "Heading 2", HEADING_FONTS[2], BODY_PT)
    _style(document, "Heading 3", BODY_FONT, BODY_PT, bold=True)


def _page(document: Any) -> None:
    """A4, GB/T 9704 margins, page numbers "— 1 —" right on odd and left on even pages."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt

    document.settings.odd_and_even_pages_header_footer = True
    for section in document.sections:
        section.page_width, section.page_height = Mm(PAGE_MM[0]), Mm(PAGE_MM[1])
        section.top_margin = Mm(MARGINS_MM["top"])
        section.bottom_margin = Mm(MARGINS_MM["bottom"])
        section.left_margin = Mm(MARGINS_MM["left"])
        section.right_margin = Mm(MARGINS_MM["right"])
        # The number sits 7 mm below the type area (GB/T 9704 7.5).
        section.footer_distance = Mm(MARGINS_MM["bottom"] - 7) - Pt(SMALL_PT)
        for footer, align in (
            (section.footer, WD_ALIGN_PARAGRAPH.RIGHT),
            (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT),
        ):
            p = footer.paragraphs[0]
            p.alignment = align
            _spacing(p, SMALL_LINE_PT, 0)
            if align == WD_ALIGN_PARAGRAPH.RIGHT:
                p.paragraph_format.right_indent = Pt(SMALL_PT)
            else:
                p.paragraph_format.left_indent = Pt(SMALL_PT)
            _page_number(p)


def _page_number(paragraph: Any) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    _run(paragraph, "— ", SMALL_PT, PAGE_NUMBER_FONT)
    for kind, text in (("begin", ""), ("instr", " PAGE "), ("separate", ""), ("text", "1")):
        run = _run(paragraph, text if kind == "text" else "", SMALL_PT, PAGE_NUMBER_FONT)
        if kind == "instr":
            node = OxmlElement("w:instrText")
            node.set(qn("xml:space"), "preserve")
            node.text = text
            run.font.element.append(node)
        elif kind != "text":
            node = OxmlElement("w:fldChar")
            node.set(qn("w:fldCharType"), kind)
            run.font.element.append(node)
    end = _run(paragraph, "", SMALL_PT, PAGE_NUMBER_FONT)
    node = OxmlElement("w:fldChar")
    node.set(qn("w:fldCharType"), "end")
    end.font.element.append(node)
    _run(paragraph, " —", SMALL_PT, PAGE_NUMBER_FONT)


def _table(document: Any, rows: tuple[tuple[str, ...], ...]) -> None:
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.shared import Mm

    width = max(len(r) for r in rows)
    table = document.add_table(rows=len(rows), cols=width)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    type_width = PAGE_MM[0] - MARGINS_MM["left"] - MARGINS_MM["right"]
    widths = TABLE_WIDTHS_MM if width == len(TABLE_WIDTHS_MM) else (type_width / width,) * width
    header = table.rows[0]._tr.get_or_add_trPr()
    repeat = OxmlElement("w:tblHeader")  # the header row repeats on every page
    header.append(repeat)
    for i, row in enumerate(rows):
        for j in range(width):
            cell = table.cell(i, j)
            cell.width = Mm(widths[j])
            p = cell.paragraphs[0]
            _spacing(p, SMALL_LINE_PT, 0)
            text = row[j] if j < len(row) else ""
            if i == 0:
                p.alignment = WD_ALIGN_PARAGRAPH.CENTER
                _inline(p, text, SMALL_PT, HEADING_FONTS[1])
            else:
                _inline(p, text or "—", SMALL_PT)


def _properties(document: Any, brief: Brief) -> None:
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    cp = document.core_properties
    cp.author = APP_NAME
    cp.last_modified_by = APP_NAME
    cp.title = brief.title[:255]
    cp.subject = brief.answerer[:255]
    cp.comments = f"{brief.answerer}{brief.library}"[:255]
    cp.keywords = "、".join(brief.regions)[:255]
    cp.category = "问答简报"
    cp.language = "zh-CN"
    cp.created = now
    cp.modified = now
    cp.revision = 1


def _with_font_fallbacks(data: bytes) -> bytes:
    """The .docx with the Chinese fonts and their alternate names in its font table."""
    entries = "".join(
        f'<w:font w:name="{name}"><w:altName w:val="{alt}"/><w:charset w:val="86"/>'
        f'<w:family w:val="{"modern" if name != "方正小标宋简体" else "script"}"/>'
        f'<w:pitch w:val="variable"/></w:font>'
        for name, alt in FONT_FALLBACKS.items()
    )
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "word/fontTable.xml":
                content = content.replace(b"</w:fonts>", entries.encode("utf-8") + b"</w:fonts>")
            target.writestr(info, content)
    return out.getvalue()


def render_docx(brief: Brief) -> bytes:
    """The brief as a Word document: A4, 仿宋_GB2312 三号 at a fixed 28 pt, 黑体/楷体
    headings, GB/T 9704 margins, page numbers, the references as an endnote list."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    document = Document()
    _defaults(document)
    _page(document)
    _properties(document, brief)

    title = document.add_paragraph(style="Title")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _spacing(title, LINE_PT, 0)
    _inline(title, brief.title, TITLE_PT, TITLE_FONT)
    document.add_paragraph(style="Normal")  # GB/T 9704: one blank line under the title

    def heading(text: str, level: int) -> None:
        p = document.add_heading(level=min(level, 3))
        _spacing(p)
        font = HEADING_FONTS.get(level, BODY_FONT)
        _inline(p, text, BODY_PT, font, bold=level >= 3)

    for b in brief.blocks:
        if b.kind == "heading":
            heading(b.text, b.level)
        elif b.kind == "table":
            _table(document, b.rows)
        else:
            p = document.add_paragraph(style="Normal")
            _spacing(p)
            _inline(p, f"{b.mark} {b.text}" if b.mark else b.text, BODY_PT)
    if brief.references:
        heading(REFERENCES_TITLE, 1)
        for r in brief.references:
            p = document.add_paragraph(style="Normal")
            _spacing(p, SMALL_LINE_PT, 0)
            _run(p, f"[{r.n}] ", SMALL_PT, bold=True)
            _run(p, f"{r.source}：“{' '.join(r.quote.split())}”", SMALL_PT)
    heading(NOTES_TITLE, 1)
    for line in brief.notes + [f"（{i}）{u}" for i, u in enumerate(brief.unverified, 1)]:
        p = document.add_paragraph(style="Normal")
        _spacing(p)
        _run(p, line, BODY_PT)

    buffer = io.BytesIO()
    document.save(buffer)
    return _with_font_fallbacks(buffer.getvalue())
