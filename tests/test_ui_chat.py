"""The 对话 page in AppTest: offline and fake-model answers, sources, export, follow-ups."""

from __future__ import annotations

import io
import re

import docx
import pytest

from assistant.conversations import ConversationStore
from tests.ui_helpers import (
    ScriptedChatModel,
    all_text,
    assistant_view,
    expanders,
    open_app,
    plain,
    texts,
)
from ui import exports

pytestmark = pytest.mark.unit

DALIAN_GRID = "大连全市建立了多少个网格？"
DALIAN_TITLE = "强基固本筑堡垒"


def _ask(at, question: str):
    at.chat_input[0].set_value(question).run()
    assert not at.exception, [e.value for e in at.exception]
    return at.chat_message[-1]


# The one link the page itself writes: an answer's [n] to its source below it.
_OWN_CITATION_LINK = re.compile(r"\[\\\[\d+\\\]\]\(#cite-[A-Za-z0-9_-]+-\d+\)")


def _live_markup(markdown: str) -> list[str]:
    """Markdown constructs that would act (not escaped by a backslash), besides [n] links."""
    markdown = _OWN_CITATION_LINK.sub("", markdown)
    patterns = [
        r"(?<!\\)<[A-Za-z/!]",
        r"(?<!\\)!(?<!\\)\[",
        r"(?<!\\)\]\(",
        r"(?<!\\)\[[^\]]*(?<!\\)\]\(",
    ]
    return [p for p in patterns if re.search(p, markdown)]


def test_offline_answer_has_citations_sources_and_export(indexed_assistant, isolated_env):
    at = open_app(assistant_view(indexed_assistant, isolated_env))
    assert "离线摘录模式" in all_text(at)
    reply = _ask(at, DALIAN_GRID)

    shown = "\n".join(texts(reply))
    assert "6331" in shown and "\\[1\\]" in shown  # the number, with an inline [n]
    assert "来源" in shown
    sources = expanders(reply, "[1]")
    assert sources and "大连市" in sources[0].label and DALIAN_TITLE in sources[0].label
    passage = "\n".join(texts(sources[0]))
    assert "orange-background[**" in passage  # the quoted span is highlighted in bold
    assert "6331" in passage
    assert re.search(r"第\d+段", passage) and "原文第" not in passage  # no character offsets
    # The inline [1] links to the anchor inside source [1]'s expander.
    link = re.search(r"\[\\\[1\\\]\]\(#(cite-[A-Za-z0-9_-]+-1)\)", shown)
    assert link, shown
    assert f'id="{link.group(1)}"' in "".join(h.proto.body for h in sources[0].get("html"))

    export = [c.value for c in reply.get("code")]
    assert export, "复制为简报 shows the plain-text brief"
    assert "[1]" in export[0] and "参考资料" in export[0] and DALIAN_TITLE in export[0]
    assert "[^1]" not in export[0]  # plain [n] and a reference list, no footnote syntax
    labels = [b.label for b in reply.get("download_button")]
    assert labels == ["下载 .docx", "下载 .md", "下载 .txt"]
    answer = at.session_state["messages"][-1]["answer"]
    document = docx.Document(io.BytesIO(exports.docx_of(answer)))  # what 下载 .docx serves
    written = "\n".join(p.text for p in document.paragraphs)
    assert "6331" in written and DALIAN_TITLE in written


def test_model_answer_streams_and_passages_reach_the_prompt(indexed_assistant, isolated_env):
    model = ScriptedChatModel(reply="大连市全市已建立6331个网格[1]。")
    at = open_app(assistant_view(indexed_assistant, isolated_env, chat_model=model))
    assert "llm:fake-scripted" in all_text(at)
    reply = _ask(at, DALIAN_GRID)

    shown = "\n".join(texts(reply))
    assert "大连市全市已建立6331个网格" in shown and "\\[1\\]" in shown
    assert "未核实" not in shown
    prompt = "\n".join(str(m.content) for m in model.calls[-1])
    assert "6331" in prompt and "<passage" in prompt
    assert expanders(reply, "[1] 大连市")


def test_unsupported_sentence_is_marked(indexed_assistant, isolated_env):
    model = ScriptedChatModel(reply="大连市全市已建立9999个网格[1]。")
    at = open_app(assistant_view(indexed_assistant, isolated_env, chat_model=model))
    reply = _ask(at, DALIAN_GRID)

    shown = "\n".join(texts(reply))
    assert "red-background[" in shown and "未核实" in shown
    assert any("9999" in w.value and "未能与所引原文核对" in w.value for w in reply.get("warning"))


def test_model_output_cannot_inject_markup(indexed_assistant, isolated_env):
    hostile = (
        "大连市全市已建立6331个网格[1]。<script>alert(1)</script>"
        "![x](http://127.0.0.1:9/leak?q=1) [点我](javascript:alert(1)) :red[假] $x$"
    )
    model = ScriptedChatModel(reply=hostile)
    at = open_app(assistant_view(indexed_assistant, isolated_env, chat_model=model))
    reply = _ask(at, DALIAN_GRID)

    for md in reply.get("markdown"):
        assert not _live_markup(md.value), md.value
        assert ":red[" not in md.value and "$x$" not in md.value


def test_follow_up_keeps_the_topic(indexed_assistant, isolated_env):
    at = open_app(assistant_view(indexed_assistant, isolated_env))
    _ask(at, "薛城区怎样整顿软弱涣散党组织？")
    reply = _ask(at, "那大连呢？")

    last = at.session_state["messages"][-1]["answer"]
    assert "大连" in last.standalone_question and "软弱涣散" in last.standalone_question
    assert last.citations and all(c.region == "大连市" for c in last.citations)
    assert expanders(reply, "[1] 大连市")
    assert len(at.chat_message) == 4


def test_new_conversation_keeps_the_old_one(indexed_assistant, isolated_env):
    store = ConversationStore(isolated_env / "conversations.sqlite3")
    at = open_app(assistant_view(indexed_assistant, isolated_env, conversations=store))
    _ask(at, DALIAN_GRID)
    assert len(at.chat_message) == 2
    old = at.query_params["c"]
    next(b for b in at.sidebar.button if b.label == "新对话").click().run()
    assert len(at.chat_message) == 0
    assert at.session_state["messages"] == [] and "c" not in at.query_params
    assert [c.id for c in store.list()] == [old]  # still saved, listed in the sidebar
    assert any(b.label == DALIAN_GRID for b in at.sidebar.button)


def test_failing_model_is_reported_and_the_extract_shown(indexed_assistant, isolated_env):
    model = ScriptedChatModel(fail_with=ConnectionError("connection refused"))
    at = open_app(assistant_view(indexed_assistant, isolated_env, chat_model=model))
    reply = _ask(at, DALIAN_GRID)

    shown = "\n".join(texts(reply))
    assert "离线摘录" in shown and "6331" in shown
    at.run()  # the sidebar of the next run shows the failure
    sidebar = "\n".join(texts(at.sidebar))
    assert "大模型最近一次调用失败" in sidebar


def test_example_questions_come_from_the_library_and_are_answered(indexed_assistant, isolated_env):
    at = open_app(assistant_view(indexed_assistant, isolated_env))
    buttons = [b for b in at.button if b.key and b.key.startswith("example_")]
    assert len(buttons) == 3
    docs = {d.region: d.doc_id for d in indexed_assistant.retriever.documents()}
    first = plain(buttons[0].label)
    region = next(r for r in docs if first.startswith(r))  # about a report in the library
    topic = first.split("“")[1].split("”")[0]
    sections = [c.section for c in indexed_assistant.document_text(docs[region])[1]]
    assert any(topic in s.translate(str.maketrans("", "", "“”")) for s in sections)
    assert plain(buttons[-1].label).startswith("比较各地")
    buttons[0].click().run()
    assert not at.exception
    assert len(at.chat_message) == 2
    answer = at.session_state["messages"][-1]["answer"]
    assert answer.question == first and answer.citations
    assert any(c.region == region for c in answer.citations)


def test_empty_store_indexes_the_sample_reports(fresh_assistant):
    assert fresh_assistant.status()["documents"] == 0
    at = open_app(fresh_assistant, timeout=300)
    shown = all_text(at)
    assert "报告库是空的" in shown and "已索引 5 份报告" in shown
    assert fresh_assistant.status()["documents"] == 5
    reply = _ask(at, DALIAN_GRID)
    assert "6331" in "\n".join(texts(reply))


def test_sidebar_scope_limits_the_answer_and_an_empty_one_says_so(indexed_assistant, isolated_env):
    """限定报告范围: a kind (or report) chosen in the sidebar limits what the answer uses."""
    at = open_app(assistant_view(indexed_assistant, isolated_env))
    kind_box = next(m for m in at.sidebar.multiselect if m.label == "报告类型")
    kinds = {d.doc_id: d.kind for d in indexed_assistant.retriever.documents()}
    assert "报道" in kind_box.options
    kind_box.set_value(["报道"]).run()
    reply = _ask(at, "怎样整顿软弱涣散党组织？")
    shown = "\n".join(texts(reply))
    assert "来源" in shown
    others = {
        d.region for d in indexed_assistant.retriever.documents() if kinds[d.doc_id] != "报道"
    }
    assert others and not [r for r in others if r in shown], shown
    # A report chosen alone: its region is the only one quoted.
    dalian = next(d.doc_id for d in indexed_assistant.retriever.documents() if d.region == "大连市")
    kind_box = next(m for m in at.sidebar.multiselect if m.label == "报告类型")
    kind_box.set_value([]).run()
    report_box = next(m for m in at.sidebar.multiselect if m.label == "指定报告")
    report_box.set_value([dalian]).run()
    reply = _ask(at, "怎样整顿软弱涣散党组织？")
    shown = "\n".join(texts(reply))
    assert "大连市" in shown and "薛城区" not in shown
    # Nothing in scope: said plainly, no sources.
    kind_box = next(m for m in at.sidebar.multiselect if m.label == "报告类型")
    kind_box.set_value(["报道"]).run()  # 大连市's report is a 综述: nothing matches both
    reply = _ask(at, "怎样整顿软弱涣散党组织？")
    assert "没有符合所选范围" in "\n".join(texts(reply))
