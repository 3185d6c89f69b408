"""Citation checks by code: markers to missing passages, numbers, uncited sentences."""

from __future__ import annotations

import pytest

from assistant.citations import (
    NO_CITATION,
    NOT_CHINESE,
    answer_problems,
    cjk_share,
    markers_in,
    normalize_digits,
    normalize_markers,
    numbers_in,
    split_sentences,
    verify_citations,
)
from tests.test_answers_fakes import chunks_containing, make_chunk, passage

pytestmark = pytest.mark.unit


@pytest.fixture
def passages() -> list:
    texts = [
        "2020年以来,共召开党的建设工作领导小组会议7次,累计制定实施方案24个。",
        "57 家县级以上单位成立了基层党建促进会。社区两室用房平均面积达到 1100 平方米。",
        "大力推动两新组织党建工作,党组织覆盖率达到94.48%。先后选派1200余名驻村第一书记。",
        "目前全市已建立6331个网格,成立5059个网格党组织。",
    ]
    return [passage(make_chunk(t, n=i)) for i, t in enumerate(texts)]


def test_marker_to_a_missing_passage_is_removed_and_reported(passages) -> None:
    text, cites, unsupported = verify_citations(
        "共召开会议7次[1]。全市共有党员100万名[9]。", passages
    )
    assert "[9]" not in text
    assert text.startswith("共召开会议7次[1]。")
    assert [c.n for c in cites] == [1]
    reasons = [u.reason for u in unsupported]
    assert any("[9]" in r and "4 段" in r for r in reasons)
    assert any("没有标注出处" not in r for r in reasons)


def test_numbers_must_appear_in_the_cited_passage(passages) -> None:
    answer = (
        "青山区57家单位成立了促进会[2]。两室用房平均面积1100平方米[2]。"
        "党组织覆盖率94.48%[3]，选派1200余名第一书记[3]。全市建立6,331个网格[4]。"
        "共召开会议8次[1]。"
    )
    text, cites, unsupported = verify_citations(answer, passages)
    assert [u.sentence for u in unsupported] == ["共召开会议8次。"]
    assert "数字 8 不在所引摘录 [4] 中" in unsupported[0].reason  # renumbered
    assert len(cites) == 4


def test_digits_in_the_label_before_a_quote_are_not_claims(passages) -> None:
    """A report listed by its file name ("2024年第3季度通报") labels its quotes with it:
    those digits are whose quote it is, not figures it states; the quote's are checked."""
    answer = (
        "- **2024年第3季度通报**：目前全市已建立6331个网格,成立5059个网格党组织。[4]\n"
        "- **2024年第3季度通报**：全市建立6332个网格。[4]"
    )
    _, _, unsupported = verify_citations(answer, passages, require_citation=False)
    assert [u.reason for u in unsupported] == ["数字 6332 不在所引摘录 [1] 中。"]


def test_number_cited_to_the_wrong_passage_is_flagged(passages) -> None:
    _, _, unsupported = verify_citations("全市已建立6331个网格[1]。", passages)
    assert len(unsupported) == 1 and "6331" in unsupported[0].reason


def test_percent_must_be_a_percent(passages) -> None:
    _, _, unsupported = verify_citations("覆盖率为24%[1]。", passages)
    assert unsupported and "24%" in unsupported[0].reason


def test_full_width_digits_and_markers_are_normalised(passages) -> None:
    text, cites, unsupported = verify_citations(
        "共召开会议７次【1】。建立６３３１个网格［4］。", passages
    )
    assert unsupported == []
    assert text == "共召开会议７次[1]。建立６３３１个网格[2]。"
    assert [c.chunk_id for c in cites] == [passages[0].chunk.chunk_id, passages[3].chunk.chunk_id]


def test_markers_are_renumbered_in_order_of_first_use(passages) -> None:
    text, cites, _ = verify_citations("网格6331个[4]。会议7次[1][4]。促进会57家[2,4]。", passages)
    assert text == "网格6331个[1]。会议7次[2][1]。促进会57家[3][1]。"
    assert [c.n for c in cites] == [1, 2, 3]
    assert cites[0].quote == passages[3].chunk.text
    assert cites[0].doc_id == "test_doc"


def test_uncited_sentences_are_flagged_for_llm_answers_only(passages) -> None:
    answer = (
        "根据报告，情况如下：\n\n薛城区高度重视党建工作并取得显著成效。\n\n报告中未找到相关内容。"
    )
    _, _, unsupported = verify_citations(answer, passages)
    assert [u.sentence for u in unsupported] == ["薛城区高度重视党建工作并取得显著成效。"]
    assert unsupported[0].reason == "没有标注出处。"
    _, _, none = verify_citations(answer, passages, require_citation=False)
    assert none == []


def test_table_cells_are_checked(passages) -> None:
    table = "| 地区 | 做法 | 数据 |\n| --- | --- | --- |\n| 大连市 | 建立网格 [4] | 6331个[4]；7000个[4] |"
    _, _, unsupported = verify_citations(table, passages)
    assert len(unsupported) == 1 and "7000" in unsupported[0].reason


def test_helpers() -> None:
    assert normalize_digits("１，３００名和1,300名") == "1300名和1300名"
    assert numbers_in("达到94.48%，共1200余名[3]") == [("94.48", True), ("1200", False)]
    assert split_sentences("第一句[1]。第二句！[2][3]最后") == [
        "第一句[1]。",
        "第二句！[2][3]",
        "最后",
    ]


def test_real_corpus_passage_supports_its_numbers() -> None:
    chunk = chunks_containing("1300 余名在职党员")[0]
    _, _, unsupported = verify_citations(
        "1300余名在职党员整建制到49个社区进行双报到[1]。", [passage(chunk)]
    )
    assert unsupported == []


# ---- marker variants written by real models ----------------------------------------------


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("会议7次【1】。", "会议7次[1]。"),
        ("会议7次［1］。", "会议7次[1]。"),
        ("会议7次[1,2]。", "会议7次[1][2]。"),
        ("会议7次[1, 2]。", "会议7次[1][2]。"),
        ("会议7次[1][2]。", "会议7次[1][2]。"),
        ("会议7次[^1]。", "会议7次[1]。"),
        ("会议7次[^1,^2]。", "会议7次[1][2]。"),
        ("会议7次(1)。", "会议7次[1]。"),
        ("会议7次（1）。", "会议7次[1]。"),
        ("会议7次（1）（2）。", "会议7次[1][2]。"),
        ("会议7次(1,2)，方案24个(3)", "会议7次[1][2]，方案24个[3]"),
        ("会议7次(1)[2]。", "会议7次[1][2]。"),
        ("取得成效。(1)\n下一行", "取得成效。[1]\n下一行"),
        ("会议7次⁽¹⁾。", "会议7次[1]。"),
        ("会议7次¹。", "会议7次[1]。"),
    ],
)
def test_marker_variants_are_normalised(written: str, canonical: str) -> None:
    assert normalize_markers(written) == canonical


@pytest.mark.parametrize(
    "text",
    [
        "(1) 建立健全领导小组。",  # list numbering at a line start
        "（1）建立健全领导小组。",
        "主要做法：\n(1) 建立网格；\n(2) 成立党组织。",
        "（一）总体情况",  # a heading
        "一、（一）基本情况。",
        "2020(1)。",  # a number, not a marker
        "第(1)项工作已完成。",  # not before a clause end
        "面积1100m²。",
        "见[1+6+N]模式。",
        "[1](http://example.com)",  # a Markdown link
    ],
)
def test_parentheses_that_are_not_citations_stay_text(text: str) -> None:
    assert normalize_markers(text) == text


def test_weak_markers_beyond_the_passages_are_numbers(passages) -> None:
    assert normalize_markers("网格（29）。", limit=6) == "网格（29）。"
    assert normalize_markers("网格（2）。", limit=6) == "网格[2]。"
    text, cites, unsupported = verify_citations("共召开会议7次（1）。全市网格（29）。", passages)
    assert text.startswith("共召开会议7次[1]。") and "（29）" in text
    assert [c.n for c in cites] == [1]
    assert not any("不存在" in u.reason for u in unsupported)


def test_variant_markers_are_verified_like_brackets(passages) -> None:
    answer = (
        "共召开会议7次（1），累计制定实施方案24个(1)。全市已建立6331个网格【4】。促进会57家[^2]。"
    )
    text, cites, unsupported = verify_citations(answer, passages)
    assert unsupported == []
    assert (
        text
        == "共召开会议7次[1]，累计制定实施方案24个[1]。全市已建立6331个网格[2]。促进会57家[3]。"
    )
    assert len(cites) == 3
    _, _, wrong = verify_citations("全市已建立6331个网格（1）。", passages)
    assert len(wrong) == 1 and "6331" in wrong[0].reason  # checked against passage 1
    assert markers_in("网格(4)。") == [4]


# ---- answers that cannot be checked --------------------------------------------------------


def test_an_answer_without_any_citation_is_a_problem() -> None:
    q = "大连市建立了多少个网格？"
    assert answer_problems("大连市全市已建立6331个网格，成立5059个网格党组织。", q) == [NO_CITATION]
    assert answer_problems("大连市全市已建立6331个网格（1）。", q) == []
    assert answer_problems("大连市全市已建立6331个网格【1】。", q) == []
    # saying the reports do not cover it needs no citation
    assert answer_problems("报告中未找到相关内容。", q) == []


def test_an_answer_not_in_chinese_to_a_chinese_question_is_a_problem() -> None:
    q = "大连市建立了多少个网格？"
    english = "Dalian has set up 6331 grids and 5059 grid Party organisations [1]."
    assert answer_problems(english, q) == [NOT_CHINESE]
    assert answer_problems("The city built 6331 grids.", q) == [NO_CITATION, NOT_CHINESE]
    # English acronyms inside a Chinese answer are fine
    assert answer_problems("大连市依托“e网通”APP建立6331个网格[1]。", q) == []
    # an English question may be answered in English, but it must cite too
    assert answer_problems(english, "How many grids has Dalian set up?") == []
    uncited = "Dalian strengthened Party building in its urban communities."
    assert answer_problems(uncited, "What did Dalian do?") == [NO_CITATION]
    assert answer_problems("The reports do not cover this question at all.", "Why?") == []


def test_cjk_share() -> None:
    assert cjk_share("大连市6331个网格[1]。") == 1.0
    assert cjk_share("Dalian 大连") == pytest.approx(2 / 8)
    assert cjk_share("6331 [1]。") == 0.0
