"""Ruled tables of a text-layer PDF as row sentences, in reading order with the rest of the page.

pypdf reads a table as loose cells, one line per visual line of every cell. pdfplumber
(pdfminer underneath) finds a table from its ruling lines and the characters in each cell;
its rows go through `assistant.tables.table_paragraphs` like the rows of a .docx or HTML
table, so a row is one sentence carrying its caption and column names.

Only pages with a ruled table are rewritten (from pdfplumber's characters: the text around
the tables in top-to-bottom order, the cells once, as rows); every other page keeps pypdf's
text, so a PDF without tables reads exactly as before. Not handled, left as text:
- tables without ruling lines (text alignment alone also matches two-column prose and
  aligned lists: no reliable signal);
- pages whose font pdfminer cannot decode (an embedded encoding CMap, as fpdf2 writes for
  CFF fonts): pdfplumber sees fewer characters than pypdf there;
- one-column or one-row boxes (a framed note, a page border): those are text, not tables;
- rulings drawn as curves, and pages drawing more than `MAX_EDGES` segments (charts, maps);
- pages whose text is set in columns: pdfplumber reads across them, pypdf does not.

A table cut by a page break goes on as the first table of the next page with the same
columns (under at most a running header, or a "续表" line, which is dropped); its rows there
get the first part's caption and header (a repeated header row is recognised and said once),
and stay on the page where they are printed.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from assistant.cleaning import ends_sentence
from assistant.tables import table_paragraphs

log = logging.getLogger(__name__)

# A page's characters as pdfplumber sees them must be at least this share of pypdf's text
# layer; fewer means pdfminer could not decode a font (its cells would come out empty).
MIN_CHAR_SHARE = 0.9
# Column edges of two table parts on consecutive pages agree to this many points when the
# second continues the first (ruling drawn by the same table layout; 3 pt is pdfplumber's
# own snap tolerance).
COLUMN_TOLERANCE = 3.0
# Lines that may stand between a table and the page edge when it runs on to the next page:
# a running header or footer and a page number, as `load_pdf.strip_page_furniture` sees them.
EDGE_LINES = 2
EDGE_LINE_MAX = 40  # characters: furniture lines are short
# Ruling segments on a page above which it is a chart or a map, not tables: pdfplumber
# intersects every horizontal with every vertical edge. The densest real table page seen
# (tests/fixtures/pdf/csrc_industry_2018q3.pdf, 40 rows) has 228; a 60 x 60 grid (3,481
# cells) has 1,620 and takes 0.7 s.
MAX_EDGES = 3000
# Text columns: a gap wider than this many character heights, in this many lines at one
# place (within 15 pt), is the space between two columns of text.
COLUMN_GAP_EM = 2.0
COLUMN_LINES = 3
# "表1 …", "附表2 …", "Table 3": a caption line; as assistant/load_docx.py recognises one.
_CAPTION_RE = re.compile(r"^(?:附?表|table)\s*[0-9０-９一二三四五六七八九十]+", re.IGNORECASE)
_CAPTION_MAX = 60
# "续表1", "续表": the line Chinese reports print above the part of a table on the next page.
_CONTINUED_RE = re.compile(r"^续表\s*[0-9０-９一二三四五六七八九十]*\s*$")
# A rectangle (`x y w h re`) or a line segment (`x y l`) in a content stream; a match inside
# a text string only costs the page a full read.
_PATH_OPS_RE = re.compile(rb"(?:^|\s)(?:re|l)\s")


@dataclass
class _Table:
    top: float
    columns: tuple[float, ...]  # x of every column edge
    rows: list[list[str]]
    caption: str = ""
    continued: bool = False  # marked "续表" above it
    paragraphs: list[str] = field(default_factory=list)


@dataclass
class _Page:
    """A page's blocks top-down: a str is a text line, a _Table a table."""

    blocks: list[str | _Table]

    def text(self) -> str:
        parts: list[str] = []
        lines: list[str] = []
        for block in self.blocks:
            if isinstance(block, str):
                lines.append(block)
                continue
            if lines:
                parts.append("\n".join(lines))
                lines = []
            parts.append("\n\n".join(block.paragraphs))
        if lines:
            parts.append("\n".join(lines))
        return "\n\n".join(p for p in parts if p)


def table_pages(data: bytes, layer: Sequence[str], numbers: Iterable[int]) -> dict[int, str]:
    """New text of the pages (0-based indices among `numbers`) that hold ruled tables.

    `layer` is pypdf's text of every page. A page is left out (keeps that text) when it has
    no ruled table or pdfplumber cannot read its characters; any failure leaves all pages.
    """
    ruled = _ruled_pages(data, numbers)
    if not ruled:
        return {}
    try:
        import pdfplumber
    except ImportError:  # an install without the dependency reads tables as loose text
        log.info("pdfplumber is not installed: PDF tables are read as text")
        return {}
    found: dict[int, _Page] = {}
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            for i in ruled:
                page = pdf.pages[i]
                read = _read_page(page, layer[i])
                page.close()  # pdfplumber caches every page's objects otherwise
                if read is not None:
                    found[i] = read
    except Exception as exc:  # pdfminer can fail on input pypdf accepted: keep pypdf's text
        log.info("pdfplumber failed: %s", type(exc).__name__)
        return {}
    _serialise(found)
    return {i: page.text() for i, page in found.items()}


def _ruled_pages(data: bytes, numbers: Iterable[int]) -> list[int]:
    """Those of `numbers` whose content draws a rectangle or a straight line, or a form.

    pdfplumber interprets a whole page (about 60 ms a page, three times pypdf's text) before
    it can look for ruling lines; a page whose content stream has no `re` or `l` operator and
    no form XObject (which could hold the drawing) has none, and is skipped for ~1 ms. Curves
    are not looked for: rulings drawn as curves are not found (rare in reports).
    """
    from pypdf import PdfReader

    out = []
    try:
        reader = PdfReader(io.BytesIO(data))
        for i in sorted(set(numbers)):
            page = reader.pages[i]
            contents = page.get_contents()
            stream = contents.get_data() if contents is not None else b""
            if _PATH_OPS_RE.search(stream) or _has_form(page):
                out.append(i)
    except Exception as exc:  # pypdf read this file once already; a failure here costs tables
        log.info("pypdf failed on a second read: %s", type(exc).__name__)
        return []
    return out


def _has_form(page) -> bool:
    resources = page.get("/Resources")
    xobjects = resources.get_object().get("/XObject") if resources is not None else None
    if not xobjects:
        return False
    return any(x.get_object().get("/Subtype") == "/Form" for x in xobjects.get_object().values())


def _read_page(page, layer_text: str) -> _Page | None:
    if len(page.edges) > MAX_EDGES:
        return None
    tables = []
    for table in page.find_tables():
        grid = _grid(table)
        if len(grid) >= 2 and len(grid[0]) >= 2 and any(c for row in grid[1:] for c in row):
            tables.append((table, grid))
    if not tables:
        return None
    if _visible_chars(page.chars) < MIN_CHAR_SHARE * _visible(layer_text):
        return None
    boxes = [t.bbox for t, _ in tables]

    def outside(obj) -> bool:
        return obj.get("object_type") != "char" or not any(_centre_in(obj, b) for b in boxes)

    lines = page.filter(outside).extract_text_lines(return_chars=True)
    if _in_columns(lines):
        return None
    blocks: list[tuple[float, int, str | _Table]] = [
        (line["top"], 1, line["text"]) for line in lines if line["text"].strip()
    ]
    for table, grid in tables:
        columns = tuple(sorted({round(c[0], 1) for c in table.cells} | {table.bbox[2]}))
        blocks.append((table.bbox[1], 0, _Table(table.bbox[1], columns, grid)))
    blocks.sort(key=lambda b: (b[0], b[1]))
    out: list[str | _Table] = []
    for _, _, block in blocks:
        if isinstance(block, _Table) and out and isinstance(out[-1], str):
            if _CONTINUED_RE.match(out[-1].strip()):
                out.pop()  # the part before says what the table is
                block.continued = True
            elif _is_caption(out[-1]):
                block.caption = out.pop().strip()
        out.append(block)
    return _Page(out)


def _in_columns(lines: list[dict]) -> bool:
    """Text set in two or more columns: several lines broken by a wide gap at one place.

    pdfplumber reads such a page line by line across the columns; pypdf follows the content
    stream, column by column, so the page keeps pypdf's text (its tables as loose cells).
    A single wide gap (a date pushed right, a signature) is not a column break.
    """
    gaps: list[float] = []
    for line in lines:
        chars = sorted(line.get("chars") or [], key=lambda ch: ch["x0"])
        for a, b in zip(chars, chars[1:], strict=False):
            if b["x0"] - a["x1"] > COLUMN_GAP_EM * max(a.get("size", 0), 1.0):
                gaps.append((a["x1"] + b["x0"]) / 2)
    gaps.sort()
    return any(
        gaps[k + COLUMN_LINES - 1] - gaps[k] <= COLUMN_TOLERANCE * 5
        for k in range(len(gaps) - COLUMN_LINES + 1)
    )


def _grid(table) -> list[list[str]]:
    """Cell texts row by row, a merged cell's text repeated into every position it covers."""
    raw = table.extract()
    x0, top, x1, bottom = table.bbox
    # table.rows and .columns are the cells grouped by their distinct top and left edges
    tops = sorted({c[1] for c in table.cells}) + [bottom]
    lefts = sorted({c[0] for c in table.cells}) + [x1]
    texts = {}
    for r, row in enumerate(table.rows):
        for c, box in enumerate(row.cells):
            if box is not None:
                texts[box] = _unwrap(raw[r][c] or "")
    grid: list[list[str]] = []
    for r, row in enumerate(table.rows):
        y = (tops[r] + tops[r + 1]) / 2
        cells = []
        for c, box in enumerate(row.cells):
            if box is None:
                x = (lefts[c] + lefts[c + 1]) / 2
                box = next((b for b in table.cells if _point_in(x, y, b)), None)
            cells.append(texts.get(box, "") if box is not None else "")
        grid.append(cells)
    return grid


def _unwrap(cell: str) -> str:
    """A cell's lines joined: in a PDF they are wraps of one text, not paragraphs."""
    out = ""
    for line in (ln.strip() for ln in cell.split("\n")):
        if not line:
            continue
        if out and out[-1].isascii() and out[-1].isalnum() and line[0].isascii():
            out += " "
        out += line
    return out


def _serialise(pages: dict[int, _Page]) -> None:
    """Every table's row paragraphs; a table continued from the page before shares its head."""
    previous: _Table | None = None
    previous_paragraphs: list[str] = []
    whole: list[list[str]] = []  # rows of the table so far, across pages
    said = 0  # paragraphs of `whole` already placed on earlier pages
    for i in sorted(pages):
        tables = [b for b in pages[i].blocks if isinstance(b, _Table)]
        for k, table in enumerate(tables):
            if k == 0 and previous is not None and _continues(pages, i, previous, table):
                repeated = 0
                while (
                    repeated < min(len(table.rows) - 1, len(whole))
                    and table.rows[repeated] == whole[repeated]
                ):
                    repeated += 1
                rows = whole + table.rows[repeated:]
                paragraphs = table_paragraphs(rows, caption=previous.caption)
                if paragraphs[:said] == previous_paragraphs:
                    table.paragraphs = paragraphs[said:]
                    table.caption = previous.caption
                    whole, said = rows, len(paragraphs)
                    previous_paragraphs = paragraphs
                    previous = table
                    continue
            table.paragraphs = table_paragraphs(table.rows, caption=table.caption)
            whole, said = table.rows, len(table.paragraphs)
            previous_paragraphs = table.paragraphs
            previous = table
        if not _ends_with_table(pages[i]):
            previous = None


def _continues(pages: dict[int, _Page], i: int, before: _Table, table: _Table) -> bool:
    """`table`, first on page i, goes on from `before`, last on page i - 1."""
    if i - 1 not in pages or table.caption or len(table.columns) != len(before.columns):
        return False
    if table.continued:  # said so in the page: the columns may have been laid out anew
        return True
    if any(
        abs(a - b) > COLUMN_TOLERANCE for a, b in zip(table.columns, before.columns, strict=True)
    ):
        return False
    above = pages[i].blocks[: pages[i].blocks.index(table)]
    return _furniture(above)


def _ends_with_table(page: _Page) -> bool:
    last = max((k for k, b in enumerate(page.blocks) if isinstance(b, _Table)), default=-1)
    return last >= 0 and _furniture(page.blocks[last + 1 :])


def _furniture(blocks: Sequence[str | _Table]) -> bool:
    """At most a running header or footer and a page number: no body text (no sentence end)."""
    return len(blocks) <= EDGE_LINES and all(
        isinstance(b, str) and len(b.strip()) <= EDGE_LINE_MAX and not ends_sentence(b)
        for b in blocks
    )


def _is_caption(line: str) -> bool:
    text = line.strip()
    return bool(_CAPTION_RE.match(text)) and len(text) <= _CAPTION_MAX and not ends_sentence(text)


def _centre_in(obj, box) -> bool:
    return _point_in((obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2, box)


def _point_in(x: float, y: float, box) -> bool:
    x0, top, x1, bottom = box
    return x0 <= x < x1 and top <= y < bottom


def _visible_chars(chars: list[dict]) -> int:
    return sum(1 for ch in chars if ch.get("text", "").strip())


def _visible(text: str) -> int:
    return sum(1 for ch in text if not ch.isspace())
