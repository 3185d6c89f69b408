"""对话: ask about the reports, read answers with [n], check every source, copy as a brief.

The conversation is saved as it grows and named in the URL, so a reload shows it again."""

from __future__ import annotations

import streamlit as st

from ui import asking, history, state, suggestions
from ui.answer_view import render_answer
from ui.exports import library_size
from ui.text import inert_label, inert_text

OVERLONG = "overlong_question"


def _queue(question: str) -> None:
    st.session_state["pending_question"] = question


def _history(messages: list[dict]) -> list[dict]:
    """The conversation so far, in the form the chain reads for follow-ups."""
    turns: list[dict] = []
    for m in messages:
        if m["role"] == "user":
            turns.append(
                {
                    "role": "user",
                    "content": m["content"],
                    "standalone_question": m.get("standalone_question", ""),
                }
            )
        else:
            turns.append({"role": "assistant", "content": m["answer"].answer})
    return turns


def _ask_edited(limit: int) -> None:
    text = (st.session_state.get("overlong_edit") or "").strip()
    if len(text) > limit:
        st.session_state[OVERLONG] = text
        return
    st.session_state.pop(OVERLONG, None)
    if text:
        _queue(text)


def _drop_overlong() -> None:
    st.session_state.pop(OVERLONG, None)


def _overlong(limit: int) -> None:
    """A paste over the limit: said so, and kept in a box to shorten and send."""
    text = st.session_state.get(OVERLONG)
    if not text:
        return
    st.warning(
        f"问题有 {len(text)} 字，超过了 {limit} 字的上限，还没有发送。"
        f"原文保留在下面：请删减到 {limit} 字以内，或只留下要问的部分，再点“提问”。",
        icon=":material/content_cut:",
    )
    st.session_state.setdefault("overlong_edit", text)
    st.text_area("待发送的问题", key="overlong_edit", height=160)
    left, right = st.columns(2)
    left.button("提问", on_click=_ask_edited, args=(limit,), type="primary", icon=":material/send:")
    right.button("放弃这段文字", on_click=_drop_overlong, icon=":material/close:")


def _rate(conversations, turn: int) -> None:
    value = st.session_state.get(f"fb_{turn}")
    if value is None:
        return
    comment = st.session_state.get(f"fbc_{turn}", "")
    conversations.set_feedback(turn, 1 if value == 1 else -1, comment)


def _feedback(conversations, turn: int) -> None:
    """👍/👎 with an optional comment, stored with the turn for evaluation."""
    key = f"fb_{turn}"
    if key not in st.session_state:
        saved = conversations.feedback(turn)
        if saved is not None:
            st.session_state[key] = 1 if saved.rating == 1 else 0
            st.session_state[f"fbc_{turn}"] = saved.comment
    st.feedback("thumbs", key=key, on_change=_rate, args=(conversations, turn))
    if st.session_state.get(key) is not None:
        left, right = st.columns([4, 1], vertical_alignment="bottom")
        left.text_input(
            "意见（可选）",
            key=f"fbc_{turn}",
            placeholder="哪里有用、哪里不对",
            max_chars=500,
        )
        right.button(
            "提交意见",
            key=f"fbs_{turn}",
            on_click=_rate,
            args=(conversations, turn),
            width="stretch",
        )


def _follow_ups(assistant, answer, key: str) -> None:
    questions = suggestions.follow_ups(assistant, answer)
    if not questions:
        return
    st.caption("可以接着问：")
    with st.container(horizontal=True, gap="small"):
        for i, q in enumerate(questions):
            st.button(
                inert_label(q, 60),
                key=f"follow_{key}_{i}",
                on_click=_queue,
                args=(q,),
                type="tertiary",
                icon=":material/subdirectory_arrow_right:",
            )


assistant = state.get_assistant()
conversations = history.store(assistant)
history.sync(conversations)
messages = history.messages()
limit = assistant.settings.max_question_chars
lookup = suggestions.lookup(assistant)

typed = st.chat_input(
    f"请输入问题（{limit} 字以内），可以接着上一个问题追问",
    submit_mode="stop",
)
if typed is not None and len(typed.strip()) > limit:
    st.session_state[OVERLONG] = typed.strip()
    st.session_state.pop("overlong_edit", None)
    typed = None
question = (typed or st.session_state.pop("pending_question", None) or "").strip()
if typed is not None and not question:
    st.toast("问题是空的，请输入要查询的内容。")

head, tools = st.columns([5, 1], vertical_alignment="bottom")
head.title("对话")
saved = conversations.get(history.current()) if history.current() else None
if saved is not None:
    head.caption(inert_label(saved.title, 60))
history.manage(conversations, tools.empty(), library_size())
history.sidebar(conversations)

_overlong(limit)

if not messages and not question:
    st.markdown(
        "向报告提问：答案中的 **\\[n\\]** 指向报告原文，点答案下方的 \\[n\\] 可看到所引的原话和出处，"
        "“查看原文”显示它在报告中的上下文；“复制为简报”可一键复制带引用的文字。"
        "追问时可以省略上文。对话会自动保存，在侧栏“对话记录”里可以找回。"
    )
    examples = suggestions.examples(assistant)
    if examples:
        st.caption("从资料库的报告中挑了几个问题：")
        cols = st.columns(len(examples))
        for i, (col, example) in enumerate(zip(cols, examples, strict=True)):
            col.button(
                inert_label(example, 60),
                key=f"example_{i}",
                on_click=_queue,
                args=(example,),
                width="stretch",
            )

last_answer = next((m for m in reversed(messages) if m["role"] == "assistant"), None)
for m in messages:
    with st.chat_message(m["role"]):
        if m["role"] == "user":
            st.markdown(inert_text(m["content"]))
        else:
            render_answer(m["answer"], key=m["id"], chunks=lookup)
            if m.get("turn"):
                _feedback(conversations, m["turn"])
            if m is last_answer and not question:
                _follow_ups(assistant, m["answer"], m["id"])

if question:
    past = _history(messages)
    with st.chat_message("user"):
        st.markdown(inert_text(question))
    with st.chat_message("assistant"):
        answer = asking.ask(
            assistant, question, history=past, mode=state.option("mode", "auto") or "auto"
        )
        if answer is not None:
            created = not history.current()
            reply = history.save(conversations, question, answer)
            messages.append(
                {
                    "role": "user",
                    "content": question,
                    "standalone_question": answer.standalone_question,
                }
            )
            messages.append(reply)
            render_answer(answer, key=reply["id"], chunks=lookup)
            _feedback(conversations, reply["turn"])
            _follow_ups(assistant, answer, reply["id"])
            if created:  # the header and the 对话记录 list show the new conversation
                st.rerun()
