"""The 对话 page as a workbench in AppTest: saved conversations restored from the URL, managed
from the page, checkable citations, long pastes kept, feedback stored, follow-ups offered."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from assistant.conversations import ConversationStore
from tests.ui_helpers import (
    APP,
    OVERRIDE_KEY,
    all_text,
    assistant_view,
    expanders,
    open_app,
    plain,
    texts,
)

pytestmark = pytest.mark.unit

GRID = "大连全市建立了多少个网格？"
XUECHENG = "薛城区怎样整顿软弱涣散党组织？"


@pytest.fixture
def store(isolated_env) -> ConversationStore:
    return ConversationStore(isolated_env / "conversations.sqlite3")


@pytest.fixture
def view(indexed_assistant, isolated_env, store):
    return assistant_view(indexed_assistant, isolated_env, conversations=store)


def _ask(at: AppTest, question: str):
    at.chat_input[0].set_value(question).run()
    assert not at.exception, [e.value for e in at.exception]
    return at.chat_message[-1]


def _reload(view, conversation_id: str | None) -> AppTest:
    """A new browser session opening the app's URL (what a reload or a restart does)."""
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state[OVERRIDE_KEY] = view
    if conversation_id:
        at.query_params["c"] = conversation_id
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_reload_restores_the_conversation_without_asking_again(view, store):
    at = open_app(view)
    _ask(at, XUECHENG)
    _ask(at, "那大连呢？")
    cid = at.query_params["c"]
    assert store.get(cid).title == XUECHENG
    before = [m["answer"] for m in at.session_state["messages"] if m["role"] == "assistant"]

    again = _reload(view, cid)
    assert len(again.chat_message) == 4
    restored = [m["answer"] for m in again.session_state["messages"] if m["role"] == "assistant"]
    assert [a.answer for a in restored] == [a.answer for a in before]
    assert [a.citations for a in restored] == [a.citations for a in before]
    shown = "\n".join(texts(again.chat_message[-1]))
    assert "来源" in shown and expanders(again.chat_message[-1], "[1] 大连市")
    assert len(store.turns(cid)) == 2  # nothing was asked again

    # The restored conversation goes on: a follow-up reads the restored history.
    _ask(again, "那薛城区呢？")
    assert len(store.turns(cid)) == 3
    last = again.session_state["messages"][-1]["answer"]
    assert "软弱涣散" in last.standalone_question


def test_unknown_conversation_in_the_url_opens_a_new_one(view):
    at = _reload(view, "0" * 32)
    assert len(at.chat_message) == 0 and "c" not in at.query_params
    assert "不存在或已被删除" in "\n".join(str(t.value) for t in at.toast)


def test_conversations_are_listed_searched_opened_renamed_and_deleted(view, store):
    at = open_app(view)
    _ask(at, GRID)
    first = at.query_params["c"]
    next(b for b in at.sidebar.button if b.label == "新对话").click().run()
    _ask(at, XUECHENG)
    second = at.query_params["c"]
    assert first != second
    listed = [b.label for b in at.sidebar.button if b.key and b.key.startswith("open_")]
    assert [plain(x) for x in listed] == [XUECHENG, GRID]  # newest first

    at.sidebar.text_input(key="conversation_search").input("6331").run()  # in an answer
    listed = [b.key for b in at.sidebar.button if b.key and b.key.startswith("open_")]
    assert listed == [f"open_{first}"]
    at.sidebar.button(key=f"open_{first}").click().run()
    assert at.query_params["c"] == first
    assert at.session_state["messages"][0]["content"] == GRID

    at.text_input(key=f"rename_{first}").input("网格情况摘录").run()
    at.button(key=f"do_rename_{first}").click().run()
    assert store.get(first).title == "网格情况摘录"
    assert "网格情况摘录" in all_text(at)

    export = [b.label for b in at.get("download_button")]
    assert "导出整个对话 .md" in export and "导出整个对话 .docx" in export

    delete = at.button(key=f"delete_{first}")
    assert delete.disabled  # only after the confirmation box is ticked
    at.checkbox(key=f"sure_{first}").check().run()
    at.button(key=f"delete_{first}").click().run()
    assert store.get(first) is None and [c.id for c in store.list()] == [second]
    assert len(at.chat_message) == 0 and "c" not in at.query_params


def test_citations_open_their_quoted_words_and_the_passage_in_context(view):
    at = open_app(view)
    reply = _ask(at, GRID)
    answer = at.session_state["messages"][-1]["answer"]
    popovers = [p for p in reply.get("popover") if p.proto.popover.label.startswith("[")]
    labels = [p.proto.popover.label.split(" ")[0] for p in popovers]
    assert labels == [f"[{c.n}]" for c in answer.citations]
    inside = "\n".join(texts(popovers[0]))
    assert "大连市" in inside and re.search(r"第\d+段", inside)
    assert "orange-background[**" in inside and "6331" in inside
    assert not re.search(r"第 ?\d+[–-]\d+ ?字", inside)  # never character offsets

    at.button(key=f"ctx_{at.session_state['messages'][-1]['id']}_1").click().run()
    assert not at.exception
    shown = all_text(at)
    assert shown.count("orange-background[**") >= 2  # popover text and the passage in context
    c = answer.citations[0]
    _, chunks = view.document_text(c.doc_id)
    at_index = next(i for i, ch in enumerate(chunks) if ch.chunk_id == c.chunk_id)
    neighbour = chunks[at_index + 1 if at_index + 1 < len(chunks) else at_index - 1].text
    assert neighbour[:12] in plain(shown)  # the passage is shown between its neighbours


def test_long_paste_is_kept_with_a_message_and_can_be_sent_shortened(view, store):
    at = open_app(view)
    limit = view.settings.max_question_chars
    pasted = GRID + "背景材料。" * (limit // 5 + 20)
    at.chat_input[0].set_value(pasted).run()
    assert not at.exception
    warning = "\n".join(w.value for w in at.warning)
    assert f"超过了 {limit} 字" in warning and str(len(pasted)) in warning
    box = at.text_area(key="overlong_edit")
    assert box.value == pasted  # nothing lost
    assert len(at.chat_message) == 0 and store.list() == []

    box.input(GRID).run()
    next(b for b in at.button if b.label == "提问").click().run()
    assert not at.exception
    assert len(at.chat_message) == 2
    assert at.session_state["messages"][0]["content"] == GRID
    assert not any("超过了" in w.value for w in at.warning)


def test_feedback_is_stored_with_a_comment_and_shown_after_a_reload(view, store):
    at = open_app(view)
    _ask(at, GRID)
    turn = at.session_state["messages"][-1]["turn"]
    at.session_state[f"fb_{turn}"] = 0  # 👎 (what a click on the thumb sets)
    at.run()
    at.text_input(key=f"fbc_{turn}").input("引用的段落不对").run()
    at.button(key=f"fbs_{turn}").click().run()
    saved = store.feedback(turn)
    assert (saved.rating, saved.comment, saved.question) == (-1, "引用的段落不对", GRID)

    again = _reload(view, at.query_params["c"])
    assert again.session_state[f"fb_{turn}"] == 0
    assert again.text_input(key=f"fbc_{turn}").value == "引用的段落不对"


def test_follow_ups_come_from_the_cited_reports_sections(view):
    at = open_app(view)
    _ask(at, XUECHENG)
    answer = at.session_state["messages"][-1]["answer"]
    buttons = [b for b in at.button if b.key and b.key.startswith("follow_")]
    assert buttons
    cited = {c.doc_id for c in answer.citations}
    regions = {c.region for c in answer.citations}
    sections = {
        ch.section.translate(str.maketrans("", "", "“”"))
        for doc in cited
        for ch in view.document_text(doc)[1]
    }
    for b in buttons:
        label = plain(b.label)
        assert any(label.startswith(r) for r in regions)
        topic = label.split("“")[1].split("”")[0]
        assert any(topic in s for s in sections)
    buttons[0].click().run()
    assert not at.exception
    assert at.session_state["messages"][-2]["content"] == plain(buttons[0].label)


def test_offline_mode_says_the_style_has_no_effect(view):
    at = open_app(view)
    style = next(s for s in at.sidebar.selectbox if s.label.startswith("输出风格"))
    assert "离线摘录模式下不起作用" in style.label and style.disabled
    prompts = at.switch_page("views/prompt_files.py").run()
    assert "离线摘录模式下不起作用" in "\n".join(i.value for i in prompts.info)
