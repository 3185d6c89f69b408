"""table_paragraphs: rows of cells become row sentences with the header repeated."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.chunking import split_sentences
from assistant.cleaning import is_heading
from assistant.tables import is_number, is_table_row, table_paragraphs

pytestmark = pytest.mark.unit

HEADER = ["乡镇", "党员数（名）", "党组织数（个）"]


def test_header_is_repeated_in_every_row() -> None:
    rows = [HEADER, ["红枫镇", "812", "23"], ["白云镇", "1,034", "31"]]
    assert table_paragraphs(rows) == [
        "红枫镇｜党员数（名）：812｜党组织数（个）：23。",
        "白云镇｜党员数（名）：1,034｜党组织数（个）：31。",
    ]


def test_every_row_is_one_sentence_and_recognised_as_a_row() -> None:
    rows = [
        ["工作任务", "责任单位", "完成时限"],
        ["认真学习。深入调研！", "组织部；宣传部", "6月底"],
        ["开展（主题教育", "各“党委", "全年"],  # brackets and quotes that never close
        ["多段\n内容", "a|b｜c", "…"],
    ]
    out = table_paragraphs(rows)
    assert len(out) == 3
    for row in out:
        assert split_sentences(row) == [row], row
        assert is_table_row(row)
        assert not is_heading(row)
    assert out[0] == "认真学习，深入调研｜责任单位：组织部，宣传部｜完成时限：6月底。"
    assert out[1] == "开展主题教育｜责任单位：各党委｜完成时限：全年。"
    assert out[2].startswith("多段，内容｜责任单位：a/b/c")


def test_title_rows_multi_row_header_and_unit_line() -> None:
    rows = [
        ["表1 各乡镇党员情况"] * 3,
        ["单位：名"] * 3,
        ["乡镇", "党员", "党员"],  # "党员" merged across two columns
        ["乡镇", "总数", "女性"],  # "乡镇" merged down two rows
        ["红枫镇", "812", "300"],
    ]
    assert table_paragraphs(rows) == [
        "表1 各乡镇党员情况（单位：名）｜红枫镇｜党员·总数：812｜党员·女性：300。"
    ]


def test_caption_given_by_the_loader_and_header_rows_hint() -> None:
    rows = [["类别", "说明"], ["党支部", "基层组织"]]
    assert table_paragraphs(rows, caption="表2 组织类别", header_rows=1) == [
        "表2 组织类别｜党支部｜说明：基层组织。"
    ]
    # the hint says there is no header: the first row is data
    assert table_paragraphs(rows, header_rows=0) == ["类别｜说明。", "党支部｜基层组织。"]


def test_long_caption_is_said_once_before_the_rows() -> None:
    caption = "表3 " + "全市各县区基层党组织和党员队伍建设情况统计" * 2
    out = table_paragraphs([HEADER, ["红枫镇", "812", "23"]], caption=caption)
    assert out == [caption + "。", "红枫镇｜党员数（名）：812｜党组织数（个）：23。"]


def test_table_without_header_gives_plain_rows() -> None:
    # a key-value form: its first row is data, not names of columns
    assert table_paragraphs([["姓名", "张三"], ["职务", "党委书记"]]) == [
        "姓名｜张三。",
        "职务｜党委书记。",
    ]


def test_years_heading_number_columns_are_a_header() -> None:
    assert table_paragraphs([["指标", "2021", "2022"], ["党员数", "800", "812"]]) == [
        "党员数｜2021：800｜2022：812。"
    ]


def test_numeric_label_column_carries_its_header() -> None:
    rows = [["年份", "党员数"], ["2021", "800"], ["2022", "812"]]
    assert table_paragraphs(rows) == ["年份：2021｜党员数：800。", "年份：2022｜党员数：812。"]


def test_sequence_column_is_left_out_but_a_rank_is_kept() -> None:
    rows = [["序号", "乡镇", "党员数"], ["1", "红枫镇", "812"], ["2", "白云镇", "99"]]
    assert table_paragraphs(rows)[0] == "红枫镇｜党员数：812。"
    rows[0][0] = "排名"
    assert table_paragraphs(rows)[0] == "排名：1｜乡镇：红枫镇｜党员数：812。"


def test_group_rows_label_the_rows_below_and_a_last_merged_row_is_a_note() -> None:
    rows = [
        ["乡镇", "党员数"],
        ["东片区"] * 2,
        ["红枫镇", "812"],
        ["西片区"] * 2,
        ["白云镇", "99"],
        ["注：数据截至年底"] * 2,
    ]
    assert table_paragraphs(rows) == [
        "东片区｜红枫镇｜党员数：812。",
        "西片区｜白云镇｜党员数：99。",
        "注：数据截至年底。",
    ]


def test_empty_rows_and_columns_are_dropped_and_merged_text_said_once() -> None:
    rows = [["a", "", "b", "b"], ["", "", "", ""], ["c", "", "d", "d"]]
    assert table_paragraphs(rows) == ["a｜b。", "c｜d。"]
    # equal numbers in two columns are two values, not one merged cell
    assert table_paragraphs([["x", "12", "12"]]) == ["x｜12｜12。"]
    assert table_paragraphs([]) == []
    assert table_paragraphs([["", ""], [" ", "\n"]]) == []


def test_one_column_table_is_a_list_of_paragraphs() -> None:
    rows = [["主要措施"], ["加强学习。"], ["完善制度\n规范流程。"], ["完善制度\n规范流程。"]]
    out = table_paragraphs(rows)
    assert out == ["主要措施", "加强学习。", "完善制度", "规范流程。"]
    assert not any(is_table_row(p) for p in out)


def test_missing_values_are_skipped_not_written_empty() -> None:
    rows = [HEADER, ["红枫镇", "", "23"], ["白云镇", "99", "31"]]
    assert table_paragraphs(rows)[0] == "红枫镇｜党组织数（个）：23。"


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("812", True),
        ("1,034", True),
        ("-3.5", True),
        ("12.5%", True),
        ("812人", False),
        ("", False),
    ],
)
def test_is_number(cell: str, expected: bool) -> None:
    assert is_number(cell) is expected


def test_prose_is_not_a_table_row() -> None:
    assert not is_table_row("坚持党建引领，推进基层治理。")
    assert not is_table_row("学习强国｜党建引领")  # a title with a bar, no sentence end


# --- cleaning and chunking keep tables as whole rows ----------------------------------------

ROW_1 = "乡镇党员情况｜红枫镇｜党员数（名）：812｜党组织数（个）：23。"
ROW_2 = "乡镇党员情况｜白云镇｜党员数（名）：99｜党组织数（个）：5。"


def test_cleaning_keeps_rows_apart_from_prose_headings_and_captions() -> None:
    from assistant.cleaning import clean_document

    raw = (
        f"报告标题\n\n各乡镇情况见下表，具体是\n\n{ROW_1}\n\n{ROW_2}\n\n\n\n\n"
        "甲｜乙。\n\n表后一段正文。"
    )
    doc = clean_document("x", raw, None)
    paragraphs = doc.text.split("\n\n")
    # the dangling sentence is not glued to the row; a short row after a wide gap is no caption
    assert paragraphs == ["各乡镇情况见下表，具体是", ROW_1, ROW_2, "甲｜乙。", "表后一段正文。"]
    assert doc.captions == [] and doc.byline == []


def test_list_items_are_not_glued_to_their_introduction() -> None:
    from assistant.cleaning import clean_document

    raw = "标题\n\n主要做法如下：\n\n1.加强学习。\n\n2.完善制度。\n\n• 规范流程。"
    doc = clean_document("x", raw, None)
    assert doc.text.split("\n\n") == [
        "主要做法如下：",
        "1.加强学习。",
        "2.完善制度。",
        "• 规范流程。",
    ]


def test_marked_heading_levels_nest_sections() -> None:
    from assistant.chunking import chunk_document
    from assistant.cleaning import clean_document

    raw = "标题\n\n# 总体情况\n\n## 组织建设\n\n正文一句。\n\n## 队伍建设\n\n正文二句。"
    doc = clean_document("x", raw, None)
    assert doc.text.split("\n\n") == [
        "总体情况",
        "组织建设",
        "正文一句。",
        "队伍建设",
        "正文二句。",
    ]
    sections = [c.section for c in chunk_document(doc, min_chars=1, max_chars=100)]
    assert sections == ["总体情况 › 组织建设", "总体情况 › 队伍建设"]


def test_table_rows_are_chunked_whole_without_overlap() -> None:
    from assistant.chunking import chunk_document
    from assistant.cleaning import clean_document

    rows = [HEADER] + [[f"第{i}村", str(100 + i), str(i)] for i in range(1, 41)]
    table = "\n\n".join(table_paragraphs(rows, caption="各村党员情况"))
    raw = f"标题\n\n一、基本情况\n\n前面一段正文。\n\n{table}\n\n后面一段正文。"
    doc = clean_document("x", raw, None)
    chunks = chunk_document(doc, min_chars=150, max_chars=400)
    table_chunks = [c for c in chunks if "｜" in c.text]
    assert 3 <= len(table_chunks) <= 10  # 40 rows: a handful of chunks, not dozens
    seen: list[str] = []
    for c in table_chunks:
        lines = c.text.split("\n\n")
        assert all(is_table_row(line) and line.startswith("各村党员情况｜") for line in lines)
        assert c.section == "一、基本情况"
        seen += lines
    assert len(seen) == len(set(seen)) == 40  # every row once, none cut
    assert not any("｜" in c.text for c in chunks if "正文" in c.text)


# --- a real .docx end to end ------------------------------------------------------------------

DOCX_FIXTURE = Path(__file__).parent / "fixtures" / "docx" / "party_statistics.docx"


@pytest.fixture(scope="module")
def docx_assistant(tmp_path_factory):
    from assistant.service import Assistant
    from tests.conftest import make_settings

    home = tmp_path_factory.mktemp("docx")
    (home / "prompts").mkdir()
    assistant = Assistant.from_settings(make_settings(home))
    result = assistant.ingest_paths([DOCX_FIXTURE])[0]
    assert result.status == "indexed", result.line()
    return assistant, assistant.store.chunks_of(result.doc_id)


def test_docx_table_chunks_are_whole_rows_under_their_heading(docx_assistant) -> None:
    _, chunks = docx_assistant
    tables = [c for c in chunks if "｜" in c.text]
    assert 3 <= len(tables) <= 8  # 17 rows in three tables
    for c in tables:
        for line in c.text.split("\n\n"):
            assert is_table_row(line) and split_sentences(line) == [line]
    occupations = [c for c in tables if "表1 2024年底党员职业分布" in c.text]
    assert occupations and all(
        c.section == "一、党员队伍情况 › （一）党员的职业构成" for c in occupations
    )
    growth = [c for c in tables if "表2" in c.text]
    assert growth and all(c.section == "一、党员队伍情况 › 党员和党组织数量的增长" for c in growth)


def test_docx_list_items_and_prose_survive(docx_assistant) -> None:
    _, chunks = docx_assistant
    paragraphs = [p for c in chunks for p in c.text.split("\n\n")]
    for item in (
        "1.党员总数首次突破1亿名。",
        "3.党员队伍结构不断优化。",
        "• 城市社区已建立党组织。",
    ):
        assert item in paragraphs
    assert "农牧渔民和离退休人员合计占党员总数的近一半。" in paragraphs


@pytest.mark.parametrize(
    ("query", "row"),
    [
        ("工人 人数（万名）", "工人｜2024年底·人数（万名）：663.9"),
        (
            "学生 占党员总数（%）",
            "学生｜2024年底·人数（万名）：262.2｜2024年底·占党员总数（%）：2.6",
        ),
        (
            "2012年 基层党组织（万个）",
            "年份：2012｜党员（万名）：8512.7｜基层党组织（万个）：420.1",
        ),
        ("乡镇 覆盖率", "乡镇｜已建党组织（万个）：12.4｜覆盖率（%）：99.9"),
    ],
)
def test_a_row_is_found_by_its_label_and_column(docx_assistant, query: str, row: str) -> None:
    assistant, _ = docx_assistant
    hits = assistant.search(query, k=3)
    assert any(row in p.chunk.text for p in hits), [p.chunk.text[:60] for p in hits]


def test_a_table_typed_into_plain_text_becomes_rows(tmp_path) -> None:
    """A table saved as text (cells split by ｜, a merged cell written once) is read as a
    table: every row carries its header, the merged cell is repeated, the caption leads."""
    from assistant.loading import load_document
    from assistant.tables import is_table_row, text_tables

    text = (
        "全县贫困村情况如下。\n"
        "2017年贫困村基本情况\n"
        "乡镇｜贫困村｜贫困人口｜贫困发生率\n"
        "代化（2个）｜斗省村｜561｜66.53%\n"
        "朱场村｜166｜26.86%\n"
        "敦操乡｜打召村｜704｜17.05%\n"
        "以上数据截至年底。"
    )
    out = text_tables(text)
    rows = [p for p in out.split("\n") if is_table_row(p)]
    assert rows == [
        "2017年贫困村基本情况｜代化（2个）｜贫困村：斗省村｜贫困人口：561｜贫困发生率：66.53%。",
        "2017年贫困村基本情况｜代化（2个）｜贫困村：朱场村｜贫困人口：166｜贫困发生率：26.86%。",
        "2017年贫困村基本情况｜敦操乡｜贫困村：打召村｜贫困人口：704｜贫困发生率：17.05%。",
    ]
    assert out.startswith("全县贫困村情况如下。") and out.endswith("以上数据截至年底。")
    # Markdown and tab-separated tables too; two lines with bars are not a table.
    md = "| 镇 | 党员 | 支部 |\n|---|---|---|\n| 甲镇 | 812 | 12 |\n| 乙镇 | 640 | 9 |"
    assert text_tables(md).split() == ["甲镇｜党员：812｜支部：12。", "乙镇｜党员：640｜支部：9。"]
    assert "甲镇｜党员：812｜支部：12。" in text_tables(md.replace(" | ", "\t").replace("|", ""))
    assert text_tables("a｜b｜c\nd｜e｜f") == "a｜b｜c\nd｜e｜f"
    f = tmp_path / "表.txt"
    f.write_text(text, encoding="utf-8")
    loaded = load_document(f, max_bytes=10**6, max_chars=10**6)
    assert "贫困村：朱场村｜贫困人口：166" in loaded.text
