"""Ruled tables in text-layer PDFs: whole rows with their header, on their page, cells once."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from assistant import load_pdf, pdf_tables
from assistant.chunking import split_sentences
from assistant.pages import normalise
from assistant.tables import is_table_row

pytestmark = pytest.mark.unit

FIXTURES = Path(__file__).parent / "fixtures" / "pdf"
LAYOUT = json.loads((FIXTURES / "TABLES.json").read_text(encoding="utf-8"))["tables.pdf"]
CAPTIONS = {"occupations": "表1 2024年底党员职业分布", "growth": "表2 党员和基层党组织数量"}
CAPTIONS["tasks"] = "表3 乡村治理重点任务"
LIMITS = {"max_chars": 1_000_000, "max_bytes": 100_000_000}


def _read(name: str):
    return load_pdf.read(name, (FIXTURES / name).read_bytes(), **LIMITS)


def _parts() -> list[tuple[int, dict]]:
    """(page number, block) for every table part of tables.pdf."""
    return [(n, b) for n, page in enumerate(LAYOUT, start=1) for b in page if "table" in b]


def _rows(text: str) -> list[str]:
    return [p for p in text.split("\n\n") if is_table_row(p)]


@pytest.fixture(scope="module")
def loaded():
    return _read("tables.pdf")


def test_rows_come_out_whole_with_caption_and_header(loaded) -> None:
    rows = _rows(loaded.text)
    expected = sum(len(b["rows"]) for _, b in _parts())
    assert len(rows) == expected == 18
    for row in rows:
        assert split_sentences(row) == [row]
        assert row.startswith(tuple(c + "｜" for c in CAPTIONS.values())), row
    # merged header cells (across and down) and header cells on two lines come out clean
    assert (
        "表1 2024年底党员职业分布｜工人｜2024年底·党员数（万名）：663.9"
        "｜2024年底·占党员总数（%）：6.6。"
    ) in rows
    assert (
        "表2 党员和基层党组织数量｜年份：2012｜党员（万名）：8512.7｜基层党组织（万个）：420.1。"
        in rows
    )
    # a body cell wrapped over three lines is one value; the 序号 column says nothing
    [task] = [r for r in rows if "｜促进农业经营增效｜" in r]
    assert task.startswith("表3 乡村治理重点任务｜促进农业经营增效｜主要内容：深入开展新型农业经营")
    assert "合作社、合作社根据发展需要办企业" in task and "\n" not in task


def test_a_table_continued_on_the_next_page_keeps_its_caption_and_header(loaded) -> None:
    page2, page4 = _rows(loaded.pages[1]), _rows(loaded.pages[3])
    # under a repeated header row: the header is said once per row, not as a row of its own
    assert page2[0].startswith(
        "表1 2024年底党员职业分布｜党政机关工作人员｜2024年底·党员数（万名）"
    )
    assert not any("｜职业｜" in r or r.count("党员数（万名）") > 1 for r in page2)
    # with no header on the next page: the first part's header and caption carry on
    assert [r.split("｜")[1] for r in page4] == [
        "强化农村基层党组织政治功能和组织功能",
        "提升乡村治理效能",
    ]
    assert all(r.split("｜")[2].startswith("主要内容：") for r in page4)


def test_body_text_around_the_tables_survives_in_reading_order(loaded) -> None:
    text = normalise(loaded.text)
    cursor = 0
    for page in LAYOUT:
        for block in page:
            if "table" in block:
                first = block["rows"][0]
                key = normalise(first[1] if block["table"] == "tasks" else first[0])
            else:
                key = normalise(block.get("heading") or block["text"])
            at = text.find(key, cursor)
            assert at >= cursor, (block.get("text") or block.get("heading") or block["rows"][0])[
                :20
            ]
            cursor = at
    paragraphs = loaded.text.split("\n\n")
    assert "农牧渔民和离退休人员合计占党员总数的近一半。" in paragraphs
    # the caption went into the rows, not left as a line of its own
    assert not any(p.strip() in CAPTIONS.values() for p in loaded.text.split("\n"))


def _label(table: str, row: list[str]) -> str:
    return row[1] if table == "tasks" else row[0]  # 序号 is not said in the rows


def _page_of_row(line: str) -> int:
    """The page tables.pdf prints the row `line` on, by its label."""
    [page] = [
        n
        for n, b in _parts()
        for r in b["rows"]
        if f"｜{_label(b['table'], r)}｜" in line or f"：{_label(b['table'], r)}｜" in line
    ]
    return page


def test_no_cell_text_is_duplicated_or_left_loose(loaded) -> None:
    rows = normalise("".join(_rows(loaded.text)))
    loose = normalise("".join(p for p in loaded.text.split("\n\n") if not is_table_row(p)))
    prose = "".join(b.get("text", "") for page in LAYOUT for b in page if not b.get("caption"))
    prose = normalise(prose)
    for _, block in _parts():
        for row in block["rows"]:
            for cell in row:
                key = normalise(cell)
                if len(key) >= 4 and not key.isdigit():  # labels, texts (numbers recur)
                    assert rows.count(key) == 1, cell[:20]
                    assert loose.count(key) == prose.count(key), cell[:20]
        for cell in {c for r in block["header"] for c in r}:  # header cells, one or two lines
            key = normalise(cell)
            assert loose.count(key) == prose.count(key), cell
    assert "26144" not in loose and "序号" not in loose


def test_each_page_holds_the_rows_printed_on_it(loaded) -> None:
    assert len(loaded.pages) == 4
    placed = {n: [_page_of_row(r) for r in _rows(page)] for n, page in enumerate(loaded.pages, 1)}
    assert placed == {1: [1] * 5, 2: [2] * 9, 3: [3] * 2, 4: [4] * 2}
    # the loaded text is made of the page texts: a row's chunk finds its page
    for page in loaded.pages:
        assert all(normalise(row) in normalise(loaded.text) for row in _rows(page))


def test_a_font_pdfplumber_cannot_decode_keeps_the_text_layer() -> None:
    # tables_cff.pdf: the same pages, in a font whose encoding pdfminer does not read
    data = (FIXTURES / "tables_cff.pdf").read_bytes()
    layer, _ = load_pdf._text_layer("t.pdf", data, max_chars=LIMITS["max_chars"])
    assert pdf_tables.table_pages(data, layer, range(len(layer))) == {}
    loaded = _read("tables_cff.pdf")
    assert loaded.pages == tuple(layer) and not _rows(loaded.text)
    assert "农牧渔民" in loaded.text  # the cells are there, as loose text, as before


@pytest.mark.parametrize("name", ["paged.pdf", "mixed.pdf"])
def test_a_pdf_without_tables_reads_exactly_as_before(name: str, monkeypatch) -> None:
    data = (FIXTURES / name).read_bytes()
    layer, _ = load_pdf._text_layer(name, data, max_chars=LIMITS["max_chars"])
    assert pdf_tables.table_pages(data, layer, range(len(layer))) == {}
    with_tables = _read(name)
    monkeypatch.setattr(pdf_tables, "table_pages", lambda *a: {})
    assert _read(name) == with_tables


def test_wrapped_cell_lines_are_joined_without_a_break() -> None:
    assert pdf_tables._unwrap("党员数\n（万名）") == "党员数（万名）"
    assert pdf_tables._unwrap("Party\nmembers\n2024") == "Party members 2024"
    assert pdf_tables._unwrap("2024\n年底\n\n") == "2024年底"


# --- through ingest and the real retriever ---------------------------------------------------


@pytest.fixture(scope="module")
def pdf_assistant(tmp_path_factory):
    from assistant.service import Assistant
    from tests.conftest import make_settings

    home = tmp_path_factory.mktemp("pdf-tables")
    (home / "prompts").mkdir()
    assistant = Assistant.from_settings(make_settings(home))
    result = assistant.ingest_paths([FIXTURES / "tables.pdf"])[0]
    assert result.status == "indexed", result.line()
    return assistant, assistant.store.chunks_of(result.doc_id)


def test_table_chunks_are_whole_rows_on_the_page_they_start(pdf_assistant) -> None:
    _, chunks = pdf_assistant
    tables = [c for c in chunks if "｜" in c.text]
    assert 3 <= len(tables) <= 8  # 18 rows in three tables, parts on four pages
    seen = []
    for c in tables:
        for line in c.text.split("\n\n"):
            assert is_table_row(line) and split_sentences(line) == [line], line[:30]
            seen.append(line)
        assert c.page == _page_of_row(c.text.split("\n\n")[0]), (c.text[:40], c.page)
    assert len(seen) == len(set(seen)) == 18
    prose = [c for c in chunks if "｜" not in c.text]
    assert {c.page for c in prose} == {1, 2, 3, 4}


@pytest.mark.parametrize(
    ("query", "row"),
    [
        ("工人 党员数（万名）", "工人｜2024年底·党员数（万名）：663.9"),
        (
            "学生 占党员总数（%）",
            "学生｜2024年底·党员数（万名）：262.2｜2024年底·占党员总数（%）：2.6",
        ),
        (
            "2012年 基层党组织（万个）",
            "年份：2012｜党员（万名）：8512.7｜基层党组织（万个）：420.1",
        ),
        ("提升乡村治理效能 主要内容", "提升乡村治理效能｜主要内容：坚持以党建引领乡村治理"),
    ],
)
def test_a_row_is_found_first_by_its_label_and_column(pdf_assistant, query: str, row: str) -> None:
    assistant, _ = pdf_assistant
    hits = assistant.search(query, k=3)
    assert row in hits[0].chunk.text, [p.chunk.text[:60] for p in hits]
    assert hits[0].chunk.page in (1, 2, 4)


def test_only_pages_that_draw_lines_are_read_by_pdfplumber() -> None:
    # pdfplumber costs ~60 ms a page; pages without a rectangle or a line skip it
    paged = (FIXTURES / "paged.pdf").read_bytes()
    assert pdf_tables._ruled_pages(paged, range(3)) == []
    tables = (FIXTURES / "tables.pdf").read_bytes()
    assert pdf_tables._ruled_pages(tables, [3, 0, 1, 2, 0]) == [0, 1, 2, 3]


# --- a real public PDF: Excel exported by Acrobat, SimSun (tests/fixtures/pdf/SOURCES.md) ------

CODE_RE = re.compile(r"(?<!\d)\d{6}(?!\d)")  # a listed company's code
COLUMNS = ("行业大类代码：", "行业大类名称：", "上市公司代码：", "上市公司简称：")


def test_a_real_table_with_cells_merged_down_gives_one_whole_row_per_company() -> None:
    name = "csrc_industry_2018q3.pdf"
    layer, _ = load_pdf._text_layer(name, (FIXTURES / name).read_bytes(), max_chars=10**6)
    loaded = _read(name)
    for number, page in enumerate(loaded.pages):
        rows = _rows(page)
        codes = [c for r in rows for c in CODE_RE.findall(r)]
        # every company of the page once, in one row with every column name: the same
        # codes as the text layer shows as loose cells
        assert sorted(codes) == sorted(CODE_RE.findall(layer[number]))
        assert len(codes) == len(rows) > 30
        assert all(all(col in r for col in COLUMNS) for r in rows)
        assert not any("门类名称及代码" in r for r in rows)  # the (repeated) header is no row
    # the merged 门类 and 大类 cells are said in every row they cover
    assert (
        "农、林、牧、渔业(A)｜行业大类代码：02｜行业大类名称：林业｜上市公司代码：600265"
        "｜上市公司简称：ST景谷。"
    ) in _rows(loaded.pages[0])
    assert _rows(loaded.pages[1])[1].startswith(
        "采矿业(B)｜行业大类代码：06｜行业大类名称：煤炭开采"
    )


# --- tables continued across a page break ------------------------------------------------------

HEAD = ["乡镇", "党员数（名）", "党组织数（个）"]


def _part(rows: list[list[str]], columns=(50.0, 200.0, 350.0, 500.0), **kw) -> pdf_tables._Table:
    return pdf_tables._Table(100.0, tuple(columns), rows, **kw)


def _serialised(pages: dict[int, list]) -> dict[int, list[str]]:
    parsed = {i: pdf_tables._Page(blocks) for i, blocks in pages.items()}
    pdf_tables._serialise(parsed)
    return {i: [r for r in p.text().split("\n\n") if is_table_row(r)] for i, p in parsed.items()}


def test_a_part_under_a_continued_line_keeps_the_head_though_its_columns_moved() -> None:
    first = _part([HEAD, ["红枫镇", "812", "23"]], caption="表1 各乡镇党员情况")
    moved = _part([["白云镇", "1,034", "31"]], columns=(40.0, 220.0, 330.0, 520.0), continued=True)
    rows = _serialised({0: ["正文。", first, "— 1 —"], 1: ["页眉", moved]})
    assert rows[1] == ["表1 各乡镇党员情况｜白云镇｜党员数（名）：1,034｜党组织数（个）：31。"]


def test_a_table_after_body_text_or_with_other_columns_is_a_table_of_its_own() -> None:
    first = _part([HEAD, ["红枫镇", "812", "23"]], caption="表1 各乡镇党员情况")
    other = _part([["白云镇", "1,034", "31"]], columns=(40.0, 220.0, 330.0, 520.0))
    after_text = _part([["白云镇", "1,034", "31"]])
    assert _serialised({0: [first], 1: [other]})[1] == ["白云镇｜1,034｜31。"]
    body = "这是下一页的正文，说明下表不是上表的延续，而是另一张表。"
    assert _serialised({0: [first], 1: [body, after_text]})[1] == ["白云镇｜1,034｜31。"]
    # body text after the first part on its page: the table ended there
    assert _serialised({0: [first, body], 1: [_part([["白云镇", "1,034", "31"]])]})[1] == [
        "白云镇｜1,034｜31。"
    ]


def test_rows_repeating_caption_and_header_do_not_count_against_the_length_limit() -> None:
    data = (FIXTURES / "tables.pdf").read_bytes()
    layer, _ = load_pdf._text_layer("t.pdf", data, max_chars=10**6)
    limit = sum(len(t) for t in layer)
    loaded = load_pdf.read("t.pdf", data, max_chars=limit, max_bytes=LIMITS["max_bytes"])
    assert sum(len(p) for p in loaded.pages) > limit and len(_rows(loaded.text)) == 18


def test_a_page_set_in_two_columns_keeps_the_text_layer() -> None:
    # pdfplumber would read its lines across both columns; pypdf reads column by column
    import pdfplumber

    data = (FIXTURES / "two_columns.pdf").read_bytes()
    with pdfplumber.open(FIXTURES / "two_columns.pdf") as pdf:
        page = pdf.pages[0]
        [table] = page.find_tables()  # the table is there and ruled
        text = page.filter(lambda o: "text" not in o or not pdf_tables._centre_in(o, table.bbox))
        assert pdf_tables._in_columns(text.extract_text_lines(return_chars=True))
    layer, _ = load_pdf._text_layer("t.pdf", data, max_chars=10**6)
    assert pdf_tables.table_pages(data, layer, [0]) == {}
    # (the one-column pages of tables.pdf and the CSRC file do get their rows: tests above)
