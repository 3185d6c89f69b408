"""对话: ask about the reports, read answers with [n], check every source, copy as a brief."""

from __future__ import annotations

import streamlit as st

from ui import asking, state
from ui.answer_view import render_answer
from ui.text import inert_text

EXAMPLES = (
    "大连全市建立了多少个网格？",
    "薛城区怎样整顿软弱涣散党组织？",
    "比较各地发挥党员先锋模范作用的做法",
)


def _messages() -> list[dict]:
    return st.session_state.setdefault("messages", [])


def _clear() -> None:
    st.session_state["messages"] = []


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


assistant = state.get_assistant()
messages = _messages()

typed = st.chat_input(
    "请输入问题，例如：大连全市建立了多少个网格？",
    max_chars=assistant.settings.max_question_chars,
    submit_mode="stop",
)
question = (typed or st.session_state.pop("pending_question", None) or "").strip()
if typed is not None and not question:
    st.toast("问题是空的，请输入要查询的内容。")

head, tools = st.columns([5, 1], vertical_alignment="bottom")
head.title("对话")
tools.button(
    "清空对话",
    on_click=_clear,
    icon=":material/delete_sweep:",
    disabled=not messages and not question,
    width="stretch",
)


if not messages and not question:
    st.markdown(
        "向报告提问：答案中的 **\\[n\\]** 指向下方“来源”里的报告原文，可展开核对；"
        "“复制为简报”可一键复制带引用的 Markdown。追问时可以省略上文，"
        "例如先问“薛城区怎样整顿软弱涣散党组织？”，再问“那大连呢？”。"
    )
    cols = st.columns(len(EXAMPLES))
    for col, example in zip(cols, EXAMPLES, strict=True):
        col.button(example, on_click=_queue, args=(example,), width="stretch")

for m in messages:
    with st.chat_message(m["role"]):
        if m["role"] == "user":
            st.markdown(inert_text(m["content"]))
        else:
            render_answer(m["answer"], key=m["id"])

if question:
    history = _history(messages)
    with st.chat_message("user"):
        st.markdown(inert_text(question))
    with st.chat_message("assistant"):
        answer = asking.ask(
            assistant, question, history=history, mode=state.option("mode", "auto") or "auto"
        )
        if answer is not None:
            seq = st.session_state.get("message_seq", 0) + 1
            st.session_state["message_seq"] = seq
            render_answer(answer, key=f"m{seq}")
            messages.append(
                {
                    "role": "user",
                    "content": question,
                    "standalone_question": answer.standalone_question,
                }
            )
            messages.append({"role": "assistant", "answer": answer, "id": f"m{seq}"})
