"""`assistant feedback`: ratings saved by the app's chat page, listed for evaluation."""

from __future__ import annotations

import json

import pytest

from assistant.answers import Answer
from assistant.cli import main
from assistant.conversations import ConversationStore, store_path
from assistant.settings import get_settings

pytestmark = pytest.mark.unit

GRID = "大连全市建立了多少个网格？"
LONG_ANSWER = "大连全市已建立6331个网格，成立5059个网格党组织[1]。" + "各网格配备专职网格员。" * 20


@pytest.fixture
def saved(isolated_env):
    """Two rated answers (one by the offline answerer, one by a model) and one unrated."""
    store = ConversationStore(store_path(get_settings()))
    cid = store.create()
    first = store.add_turn(cid, GRID, Answer(question=GRID, answer=LONG_ANSWER, found=True))
    second = store.add_turn(
        cid,
        "那薛城区呢？",
        Answer(question="那薛城区呢？", answerer="llm:qwen-test", answer="薛城区……[1]"),
    )
    store.add_turn(cid, "第三个问题", Answer(question="第三个问题", answer="没有评分"))
    store.set_feedback(first, 1)
    store.set_feedback(second, -1, "  没有回答\n薛城区的网格数 ")
    return cid, first, second


def test_feedback_json_lists_every_rating_with_its_answer(saved, capsys):
    cid, first, second = saved
    assert main(["feedback", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["turn_id"] for r in records] == [first, second]  # oldest first, unrated left out
    up, down = records
    assert (up["rating"], up["question"], up["comment"], up["answerer"]) == (1, GRID, "", "offline")
    assert (
        up["answer_excerpt"].startswith("大连全市已建立6331个网格")
        and len(up["answer_excerpt"]) == 80
    )
    assert up["answer_excerpt"].endswith("…")
    assert (down["rating"], down["answerer"]) == (-1, "llm:qwen-test")
    assert down["comment"] == "没有回答\n薛城区的网格数" and down["question"] == "那薛城区呢？"
    assert up["conversation_id"] == down["conversation_id"] == cid
    assert up["time"].endswith("+00:00") and up["time"] <= down["time"]


def test_feedback_text_and_rating_filter(saved, capsys):
    assert main(["feedback"]) == 0
    out = capsys.readouterr().out
    assert "有用  离线摘录" in out and "没用  大模型（qwen-test）" in out
    assert f"问：{GRID}" in out and "意见：没有回答 薛城区的网格数" in out
    assert "没有评分" not in out
    assert "共 2 条反馈：有用 1 条，没用 1 条。" in out

    assert main(["feedback", "--rating", "down", "--json"]) == 0
    assert [r["rating"] for r in json.loads(capsys.readouterr().out)] == [-1]


def test_feedback_without_a_conversation_file_says_so_and_creates_nothing(isolated_env, capsys):
    path = store_path(get_settings())
    assert main(["feedback"]) == 0
    assert "还没有反馈" in capsys.readouterr().out
    assert main(["feedback", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert not path.exists()
