"""The session's conversation, kept in the conversation store and named in the URL (?c=<id>),
so a reload or a restart of the app shows it again."""

from __future__ import annotations

import logging

import streamlit as st

from assistant.answers import Answer
from assistant.conversations import (
    ConversationStore,
    Turn,
    conversation_docx,
    conversation_markdown,
    store_path,
)
from assistant.service import Assistant
from ui.text import inert_label

log = logging.getLogger(__name__)
PARAM = "c"
CURRENT = "conversation_id"


def store(assistant: Assistant) -> ConversationStore:
    """The Assistant's conversation store: an injected one (tests), else the file beside the
    vector store."""
    injected = assistant.extras.get("conversations")
    if injected is not None:
        return injected
    return ConversationStore(store_path(assistant.settings))


def messages() -> list[dict]:
    return st.session_state.setdefault("messages", [])


def current() -> str | None:
    return st.session_state.get(CURRENT)


def _messages_of(turns: list[Turn]) -> list[dict]:
    out: list[dict] = []
    for t in turns:
        out.append(
            {
                "role": "user",
                "content": t.question,
                "standalone_question": t.answer.standalone_question,
            }
        )
        out.append({"role": "assistant", "answer": t.answer, "id": f"t{t.id}", "turn": t.id})
    return out


def sync(conversations: ConversationStore) -> None:
    """Show the conversation the URL names; put the session's conversation into the URL."""
    wanted = st.query_params.get(PARAM)
    if wanted and wanted != current():
        if conversations.get(wanted) is None:
            st.toast("链接中的对话不存在或已被删除，已打开新对话。", icon=":material/info:")
            del st.query_params[PARAM]
            start_new()
            return
        st.session_state[CURRENT] = wanted
        st.session_state["messages"] = _messages_of(conversations.turns(wanted))
    elif not wanted and current():
        st.query_params[PARAM] = current()


def start_new() -> None:
    """Callback of 新对话: an empty conversation, created in the store with its first turn."""
    st.session_state[CURRENT] = None
    st.session_state["messages"] = []
    if PARAM in st.query_params:
        del st.query_params[PARAM]


def open_conversation(conversation_id: str) -> None:
    st.query_params[PARAM] = conversation_id  # sync() loads it on this run


def save(conversations: ConversationStore, question: str, answer: Answer) -> dict:
    """Store one answered question (a new conversation on the first one); its message."""
    if not current():
        st.session_state[CURRENT] = conversations.create()
        st.query_params[PARAM] = current()
    turn = conversations.add_turn(current(), question, answer)
    return {"role": "assistant", "answer": answer, "id": f"t{turn}", "turn": turn}


def sidebar(conversations: ConversationStore) -> None:
    """对话记录: a new conversation, search, and the saved conversations to open."""
    st.sidebar.divider()
    st.sidebar.subheader("对话记录")
    st.sidebar.button(
        "新对话",
        on_click=start_new,
        icon=":material/add_comment:",
        width="stretch",
        disabled=not messages() and not current(),
    )
    query = st.sidebar.text_input(
        "搜索对话",
        key="conversation_search",
        placeholder="标题、问题或答案中的词",
    )
    try:
        found = conversations.list(query, limit=30)
    except Exception:  # noqa: BLE001 - the chat works without its history list
        log.warning("listing conversations failed", exc_info=True)
        st.sidebar.caption("对话记录暂时无法读取。")
        return
    if not found:
        st.sidebar.caption("没有找到匹配的对话。" if query.strip() else "还没有保存的对话。")
    for c in found:
        st.sidebar.button(
            inert_label(c.title or "新对话", 24),
            key=f"open_{c.id}",
            on_click=open_conversation,
            args=(c.id,),
            type="primary" if c.id == current() else "tertiary",
            help=f"{c.turns} 个问题",
            width="stretch",
        )


def _rename(conversations: ConversationStore, conversation_id: str) -> None:
    title = st.session_state.get(f"rename_{conversation_id}", "")
    if conversations.rename(conversation_id, title):
        st.toast("已重命名。", icon=":material/check:")
    else:
        st.toast("名称不能为空。", icon=":material/warning:")


def _delete(conversations: ConversationStore, conversation_id: str) -> None:
    conversations.delete(conversation_id)
    start_new()
    st.toast("对话已删除。", icon=":material/delete:")


def manage(conversations: ConversationStore, slot, reports: int | None) -> None:
    """Rename, export and delete the open conversation (in a popover of the page header)."""
    conversation_id = current()
    saved = conversations.get(conversation_id) if conversation_id else None
    if saved is None:
        slot.empty()
        return
    with slot.popover("管理对话", icon=":material/more_horiz:", width="stretch"):
        st.text_input("对话名称", value=saved.title, key=f"rename_{saved.id}", max_chars=60)
        st.button(
            "保存名称",
            key=f"do_rename_{saved.id}",
            on_click=_rename,
            args=(conversations, saved.id),
        )
        st.download_button(
            "导出整个对话 .md",
            data=lambda: conversation_markdown(
                saved.title, conversations.turns(saved.id), reports
            ).encode("utf-8"),
            file_name="对话-" + _file_part(saved.title) + ".md",
            mime="text/markdown",
            key=f"export_{saved.id}",
            on_click="ignore",
            icon=":material/download:",
        )
        st.download_button(
            "导出整个对话 .docx",
            data=lambda: conversation_docx(saved.title, conversations.turns(saved.id), reports),
            file_name="对话-" + _file_part(saved.title) + ".docx",
            mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            key=f"export_docx_{saved.id}",
            on_click="ignore",
            icon=":material/description:",
        )
        sure = st.checkbox("确认删除这个对话", key=f"sure_{saved.id}")
        st.button(
            "删除对话",
            key=f"delete_{saved.id}",
            on_click=_delete,
            args=(conversations, saved.id),
            disabled=not sure,
            icon=":material/delete:",
        )


def _file_part(title: str) -> str:
    import re

    return re.sub(r"[^\w\u4e00-\u9fff-]+", "_", title).strip("_")[:24] or "对话"
