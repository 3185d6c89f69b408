"""The 跨地区比较 page in AppTest: one cited row per region, 未涉及 marked, chart, export."""

from __future__ import annotations

import pytest

from tests.ui_helpers import ScriptedChatModel, all_text, assistant_view, expanders, open_app, texts

pytestmark = pytest.mark.unit

REGIONS = ["薛城区", "大连市", "青山区", "清河门区", "浮山县"]


def _compare(at, theme: str):
    at.text_input(key="compare_theme").input(theme)
    next(b for b in at.button if b.label == "开始比较").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_offline_comparison_table_chart_sources_export(indexed_assistant, isolated_env):
    at = open_app(assistant_view(indexed_assistant, isolated_env), page="compare")
    _compare(at, "村集体经济收入")

    table = at.table[0].value
    assert list(table.columns) == ["地区", "主要做法", "关键数据"]
    assert [str(r) for r in table["地区"]] == REGIONS
    rows = {str(r["地区"]): r for _, r in table.iterrows()}
    for region in ("薛城区", "大连市"):
        assert "\\[" in rows[region]["主要做法"]  # every finding cell carries its [n]
    uncovered = [r for r in REGIONS if "未涉及" in rows[r]["主要做法"]]
    assert uncovered, "regions without evidence are marked 未涉及"
    assert "未涉及：" in all_text(at)

    charts = at.get("vega_lite_chart")
    assert charts, "a bar chart of evidence per region"
    assert expanders(at.main, "[1]")
    export = at.code[0].value
    assert "对比表" in export and "[1]" in export and "参考资料" in export
    assert "[^1]" not in export


def test_model_comparison_is_checked_and_tabled(indexed_assistant, isolated_env):
    reply = (
        "### 薛城区\n薛城区推行“1+6+N”综合执法[1]。\n\n"
        "### 对比表\n\n| 地区 | 主要做法 | 关键数据 |\n| --- | --- | --- |\n"
        "| 薛城区 | 推行综合执法[1] | — |\n"
    )
    model = ScriptedChatModel(reply=reply)
    at = open_app(assistant_view(indexed_assistant, isolated_env, chat_model=model), page="compare")
    _compare(at, "网格化管理")
    assert model.calls, "the model was asked"
    table = at.table[0].value
    assert len(table) >= 2
    first = table.iloc[0]
    assert str(first["地区"]) == "薛城区" and "综合执法" in str(first["主要做法"])


def test_empty_theme_is_refused_politely(indexed_assistant, isolated_env):
    at = open_app(assistant_view(indexed_assistant, isolated_env), page="compare")
    next(b for b in at.button if b.label == "开始比较").click().run()
    assert "请先输入要比较的主题" in "\n".join(texts(at.main))
    assert not at.table


def test_overlong_theme_is_kept_with_a_message(indexed_assistant, isolated_env):
    view = assistant_view(indexed_assistant, isolated_env)
    at = open_app(view, page="compare")
    limit = view.settings.max_question_chars
    theme = "网格化管理" * (limit // 5 + 1)
    _compare(at, theme)
    assert any(f"超过了 {limit} 字" in w.value for w in at.warning)
    assert at.text_input(key="compare_theme").value == theme  # nothing cut off
    assert "compare_answer" not in at.session_state
