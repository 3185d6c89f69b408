"""Serialise a table (rows of cell strings) into row paragraphs that read as sentences.

Every loader (HTML, .docx, PDF) hands its tables here, so a table looks the same in the
loaded text whatever format it came from, and cleaning and chunking recognise it.

The format of one row paragraph, chosen to be read by a brief writer, quoted as one
citation sentence, cut well by jieba/BM25 and embedded with its meaning by e5:

    [caption｜][group｜]label｜column：value｜column：value。

- "｜" (U+FF5C FULLWIDTH VERTICAL LINE) separates cells; it never appears inside a cell
  (a "|" or "｜" in a cell becomes "/"), so `is_table_row` can recognise a row.
- Each value carries its column header ("党员数（名）：812"), so a row stands alone in a
  chunk and in a quote. Multi-row headers are joined top-down with "·" ("党员·女性").
- The row label (first column) is bare when it is text, "header：value" when it is a number.
- The table's caption ("表1 …", a title row merged across all columns, or one given by the
  loader) is repeated as the first cell of every row; later caption rows (a unit
  line such as "单位：名") are added in "（…）". A caption longer than `CAPTION_REPEAT_MAX`
  is emitted once, as its own sentence, before the rows instead.
- A row merged across all columns inside the body is a group label for the rows below it
  and becomes their first cell; after the last data row it is a note, emitted as a sentence.
- A row ends in "。"; sentence punctuation inside a cell becomes "，" and unbalanced brackets
  or quotes are dropped, so `assistant.chunking.split_sentences` sees one sentence per row.
- A table without a recognisable header row gives plain "｜"-joined rows.
- A one-column table is a list or a framed text box, not a table: its cell paragraphs are
  returned as ordinary paragraphs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

CELL_SEP = "｜"
HEADER_JOIN = "·"
VALUE_SEP = "："
CAPTION_SEP = CELL_SEP
ROW_END = "。"
CAPTION_REPEAT_MAX = 40  # longer captions would double the size of every row
MAX_HEADER_ROWS = 3

_TERMINATORS = "。！？；!?;…"
_OPEN_CLOSE = {
    "（": "）",
    "(": ")",
    "《": "》",
    "【": "】",
    "「": "」",
    "『": "』",
    "“": "”",
    "‘": "’",
}
_CLOSE_OPEN = {v: k for k, v in _OPEN_CLOSE.items()}
_SPACES_RE = re.compile(r"\s+")
_COMMA_RUN_RE = re.compile(r"[，,]{2,}")
# A number as statistics tables write it: signs, thousands separators, a percent sign.
_NUMBER_RE = re.compile(r"^[-+−–]?(?:\d{1,3}(?:[,，]\d{3})+|\d+)(?:\.\d+)?\s*[%‰％]?$")
_YEAR_RE = re.compile(r"^(?:19|20)\d{2}$")
# Names of a row-number column; its values (1, 2, 3 …) say nothing about the row.
_SEQUENCE_HEADERS = {"序号", "编号", "序", "no", "no.", "#", "行次", ""}
_TEXT_HEADER_MAX = 12  # header cells of text-only tables are short names
_FORBIDDEN_IN_HEADER = "。！？；!?;，,"


def table_paragraphs(
    rows: Sequence[Sequence[str]],
    *,
    caption: str = "",
    header_rows: int | None = None,
) -> list[str]:
    """Row paragraphs of a table (merged cells already repeated into every cell they cover).

    `caption` is a title the loader found outside the table (an HTML <caption>, a Word
    "表1 …" paragraph); `header_rows` is how many leading rows (after any title rows) the
    source marks as headers (HTML <th> rows, Word "repeat as header row"), None to detect.
    """
    grid = [[_raw_cell(c) for c in row] for row in rows]
    grid = [row for row in grid if any(row)]
    width = max((len(r) for r in grid), default=0)
    grid = [r + [""] * (width - len(r)) for r in grid]
    keep = [k for k in range(width) if any(r[k] for r in grid)]
    grid = [[r[k] for k in keep] for r in grid]
    width = len(keep)
    if width == 0:
        return [_sentence(_flat(caption))] if caption.strip() else []
    if width == 1:
        return _list_paragraphs(caption, [r[0] for r in grid])

    cells = [[_flat(c) for c in r] for r in grid]
    captions = [_flat(caption)] if caption.strip() else []
    while cells and _spans_all(cells[0]) and len(cells) > 1:
        captions.append(cells.pop(0)[0])
    title = _caption_text(captions)

    if header_rows is None:
        n_header = _detect_header_rows(cells)
    else:
        n_header = max(0, min(header_rows, len(cells) - 1))
    headers = _join_headers(cells[:n_header], width) if n_header else []
    body = cells[n_header:]

    out: list[str] = []
    prefix = ""
    if title:
        if len(title) <= CAPTION_REPEAT_MAX:
            prefix = title + CAPTION_SEP
        else:
            out.append(_sentence(title))
    last_data = max((i for i, r in enumerate(body) if not _spans_all(r)), default=-1)
    skip = _sequence_column(headers, body)
    group = ""
    notes: list[str] = []
    for i, row in enumerate(body):
        if _spans_all(row):
            if i > last_data:
                notes.append(_sentence(row[0]))
            else:
                group = row[0]
            continue
        parts = _row_parts(row, headers, skip)
        if not parts:
            continue
        if len(parts) == 1 and not headers and not group:
            out.append(_sentence(prefix + parts[0]))
            continue
        if group:
            parts.insert(0, group)
        out.append(prefix + CELL_SEP.join(parts) + ROW_END)
    return out + notes


def is_table_row(paragraph: str) -> bool:
    """True for a paragraph `table_paragraphs` wrote as a row (cells joined by "｜")."""
    p = paragraph.strip()
    return CELL_SEP in p and p.endswith(ROW_END) and "\n" not in p


def is_number(cell: str) -> bool:
    """A bare number as tables write it: 812, 1,234, -3.5, 12.5%."""
    return bool(_NUMBER_RE.match(cell.strip()))


# --- cells ----------------------------------------------------------------------------------


def _raw_cell(cell: str | None) -> str:
    """Cell text with its paragraphs kept apart by "\\n" and spaces collapsed."""
    if not cell:
        return ""
    lines = (_SPACES_RE.sub(" ", ln).strip() for ln in str(cell).splitlines())
    return "\n".join(ln for ln in lines if ln)


def _flat(cell: str) -> str:
    """One clause of a row: paragraphs joined by "，", inner sentence ends made commas."""
    parts = [p.strip().rstrip(_TERMINATORS).strip() for p in cell.split("\n")]
    text = "，".join(p for p in parts if p)
    text = text.replace("|", "/").replace(CELL_SEP, "/")
    text = "".join("，" if ch in _TERMINATORS else ch for ch in text)
    text = _COMMA_RUN_RE.sub("，", text).strip("，, ")
    return _balanced(text)


def _balanced(text: str) -> str:
    """`text` without brackets or quotes that do not close, which would run on past the row."""
    stack: list[int] = []
    drop: set[int] = set()
    straight: list[int] = []
    for k, ch in enumerate(text):
        if ch in _OPEN_CLOSE:
            stack.append(k)
        elif ch in _CLOSE_OPEN:
            if stack and text[stack[-1]] == _CLOSE_OPEN[ch]:
                stack.pop()
            else:
                drop.add(k)
        elif ch == '"':
            straight.append(k)
    drop.update(stack)
    if len(straight) % 2:
        drop.add(straight[-1])
    return "".join(ch for k, ch in enumerate(text) if k not in drop) if drop else text


def _sentence(text: str) -> str:
    text = text.strip().rstrip("，,、：:")
    if not text:
        return ""
    return text if text[-1] in _TERMINATORS else text + ROW_END


def _list_paragraphs(caption: str, cells: list[str]) -> list[str]:
    out = [_flat(caption)] if caption.strip() else []
    previous = None
    for cell in cells:
        if cell == previous:  # a cell merged down the column repeats its text
            continue
        previous = cell
        out.extend(ln for ln in cell.split("\n") if ln.strip())
    return out


def _spans_all(row: Sequence[str]) -> bool:
    """A title, group or note row: one text merged across every column."""
    return len(set(row)) == 1 and bool(row[0])


def _caption_text(captions: list[str]) -> str:
    captions = [c for c in captions if c]
    if not captions:
        return ""
    head, rest = captions[0], captions[1:]
    return head + "".join(f"（{c}）" for c in rest if c not in head)


# --- header ---------------------------------------------------------------------------------


def _numeric_columns(cells: Sequence[Sequence[str]], width: int) -> set[int]:
    """Columns that, from their first number down, hold mostly (>= 60%) bare numbers."""
    cols: set[int] = set()
    for k in range(width):
        start = next((i for i, r in enumerate(cells) if i and is_number(r[k])), None)
        if start is None:
            continue
        values = [r[k] for r in cells[start:] if r[k] and not _spans_all(r)]
        if sum(map(is_number, values)) >= 0.6 * len(values):
            cols.add(k)
    return cols


def _detect_header_rows(cells: list[list[str]]) -> int:
    """How many leading rows are headers: text over number columns, else short names."""
    if len(cells) < 2:
        return 0
    width = len(cells[0])
    numeric = _numeric_columns(cells, width)
    if numeric:
        n = 0
        while n < min(MAX_HEADER_ROWS, len(cells) - 1):
            row = cells[n]
            if _spans_all(row) or not any(row):
                break
            if any(
                is_number(row[k]) and not _year_over_numbers(row[k], n, k, cells) for k in numeric
            ):
                break
            n += 1
        return n
    return 1 if _text_header(cells) else 0


def _year_over_numbers(cell: str, n: int, k: int, cells: list[list[str]]) -> bool:
    """A year heading a column of other numbers ("2022" over "812") is a header cell."""
    if not _YEAR_RE.match(cell.strip()):
        return False
    below = [r[k] for r in cells[n + 1 :] if r[k]]
    return bool(below) and not all(_YEAR_RE.match(v) for v in below)


def _text_header(cells: list[list[str]]) -> bool:
    """The first row of a table without numbers is a header when it is a row of at least three
    short, distinct names that never recur below. Two columns are too often a key-value form
    (姓名｜张三) to guess: there the source must say (HTML <th>, Word header row or bold)."""
    first, body = cells[0], cells[1:]
    named = [c for c in first if c]
    if len(named) < 3 or len(set(named)) != len(named):
        return False
    if any(len(c) > _TEXT_HEADER_MAX or any(p in c for p in _FORBIDDEN_IN_HEADER) for c in named):
        return False
    return not any(c and any(r[k] == c for r in body) for k, c in enumerate(first))


def _join_headers(rows: Sequence[Sequence[str]], width: int) -> list[str]:
    """Column names from header rows, top-down, repeats (merged cells) said once: 党员·女性."""
    names: list[str] = []
    for k in range(width):
        parts: list[str] = []
        for r in rows:
            if r[k] and r[k] not in parts:
                parts.append(r[k])
        names.append(HEADER_JOIN.join(parts))
    return names


def _sequence_column(headers: list[str], body: list[list[str]]) -> int:
    """Index of a leading row-number column (序号 1, 2, 3 …) to leave out, or -1."""
    if not headers or headers[0].lower() not in _SEQUENCE_HEADERS:
        return -1
    values = [r[0] for r in body if r[0] and not _spans_all(r)]
    numbers = [v for v in values if v.isdigit()]
    if len(numbers) < max(2, len(values) - 1):  # a 合计 row may have no number
        return -1
    ints = [int(v) for v in numbers]
    return 0 if ints == list(range(ints[0], ints[0] + len(ints))) else -1


def _row_parts(row: list[str], headers: list[str], skip: int) -> list[str]:
    parts: list[str] = []
    previous: tuple[str, str] | None = None
    first = True
    for k, value in enumerate(row):
        if k == skip:
            continue
        name = headers[k] if headers else ""
        if not value:
            first = False
            continue
        if previous == (name, value) and (name or not is_number(value)):
            continue  # a cell merged across columns: said once (equal numbers may be real)
        previous = (name, value)
        if not name or (first and not is_number(value)):
            parts.append(value)
        else:
            parts.append(f"{name}{VALUE_SEP}{value}")
        first = False
    return parts


# --- tables typed into plain text -----------------------------------------------------------

# Cell separators of tables saved as text: full-width and ASCII bars (Markdown too), tabs.
_TEXT_SEPARATORS = ("｜", "|", "\t")
_MD_RULE_RE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
MIN_TEXT_TABLE_ROWS = 3
MIN_TEXT_TABLE_CELLS = 3


def _text_cells(line: str, sep: str) -> list[str]:
    cells = [c.strip() for c in line.strip().split(sep)]
    if sep == "|" and line.strip().startswith("|"):
        cells = cells[1:]
    if sep == "|" and line.strip().endswith("|"):
        cells = cells[:-1]
    return cells


def _separator(line: str) -> str | None:
    for sep in _TEXT_SEPARATORS:
        if line.count(sep) >= MIN_TEXT_TABLE_CELLS - 1:
            return sep
    return None


def text_tables(text: str) -> str:
    """`text` with its typed tables as row paragraphs (see `table_paragraphs`).

    A table is a run of at least three lines split into three or more cells by the same
    separator ("｜", "|", a tab), Markdown rule lines skipped. A short line just before it
    with no sentence end is its caption. A row with fewer cells than the table had a cell
    merged down from the row above (a spreadsheet exported as text writes a merged cell
    once): the missing leading cells are the previous row's. Other text is unchanged."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        sep = _separator(lines[i])
        if sep is None:
            out.append(lines[i])
            i += 1
            continue
        j = i
        block: list[str] = []
        while j < len(lines) and (
            _MD_RULE_RE.match(lines[j]) or (lines[j].strip() and _separator(lines[j]) == sep)
        ):
            if not _MD_RULE_RE.match(lines[j]):
                block.append(lines[j])
            j += 1
        if len(block) < MIN_TEXT_TABLE_ROWS:
            out.extend(lines[i:j])
            i = j
            continue
        rows = [_text_cells(line, sep) for line in block]
        width = max(len(r) for r in rows)
        filled: list[list[str]] = []
        for row in rows:
            if len(row) < width and filled:
                row = filled[-1][: width - len(row)] + row
            filled.append(row + [""] * (width - len(row)))
        caption = ""
        while out and not out[-1].strip():
            out.pop()
        if out and _is_caption_line(out[-1]):
            caption = out.pop().strip()
        if out:
            out.append("")
        out.append("\n\n".join(table_paragraphs(filled, caption=caption)))
        out.append("")
        i = j
    return "\n".join(out)


def _is_caption_line(line: str) -> bool:
    t = line.strip()
    return 0 < len(t) <= CAPTION_REPEAT_MAX and t[-1] not in _TERMINATORS + "：:"
