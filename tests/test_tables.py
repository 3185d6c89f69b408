"""table_paragraphs: rows of cells become row sentences with the header repeated."""

from __future__ import annotations

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
        "表1 各乡镇党员情况（单位：名）：红枫镇｜党员·总数：812｜党员·女性：300。"
    ]


def test_caption_given_by_the_loader_and_header_rows_hint() -> None:
    rows = [["类别", "说明"], ["党支部", "基层组织"]]
    assert table_paragraphs(rows, caption="表2 组织类别", header_rows=1) == [
        "表2 组织类别：党支部｜说明：基层组织。"
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
