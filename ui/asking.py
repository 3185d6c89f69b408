"""Asking the Assistant from a page: streaming for a model, at once for the offline extract,
errors in Chinese with what to do."""

from __future__ import annotations

import logging

import streamlit as st

from assistant.answer_llm import FALLBACK_SUFFIX
from assistant.answers import Answer
from assistant.prompts import PromptError
from assistant.service import Assistant
from assistant.store import StoreError
from assistant.streaming import StreamTimeout, stream_ask
from ui import state
from ui.text import inert_stream, inert_text

log = logging.getLogger(__name__)


def ask(
    assistant: Assistant,
    question: str,
    *,
    history: list[dict] | None = None,
    mode: str = "auto",
) -> Answer | None:
    """Answer `question` with this session's options; None (and a message shown) on failure."""
    regions = state.option("regions", []) or None
    profile = state.option("profile", state.DEFAULT_PROFILE) or None
    kwargs = dict(
        history=history or None,
        mode=mode,
        regions=regions,
        k=state.option("k", assistant.settings.top_k),
        prompt=profile,
        offline=bool(state.option("offline", False)),
        scope=state.scope_of_session(),
    )
    llm = state.uses_llm(assistant)
    try:
        if llm:
            answer = _streamed(assistant, question, kwargs)
        else:
            with st.spinner("正在检索报告并摘录原文……"):
                answer = assistant.ask(question, **kwargs)
    except PromptError as exc:
        st.error(
            f"提示词文件有误：{inert_text(str(exc))}\n\n请在“提示词”页修正后再提问。",
            icon=":material/edit_note:",
        )
        return None
    except StoreError as exc:
        st.error(
            f"报告库暂时不可用：{inert_text(str(exc))}\n\n请稍后重试；如果一直如此，请联系管理员。",
            icon=":material/database:",
        )
        return None
    except StreamTimeout:
        state.llm_health(assistant).record(False, "大模型长时间没有响应")
        st.error("大模型长时间没有响应，已停止等待。请稍后重试，或在侧栏切换为“只用离线摘录”。")
        return None
    except Exception:
        log.exception("answering failed")
        st.error(
            "回答时出错了。请换个问法或稍后重试；如果一直出错，请联系管理员查看日志。",
            icon=":material/error:",
        )
        return None
    if llm:
        # The sidebar's health is about reaching the model: an answer it wrote without
        # citations (replaced by the extract) still shows the model is up.
        problem = answer.notice.replace(f"，{FALLBACK_SUFFIX}", "").strip("，。 ")
        state.llm_health(assistant).record(answer.failure != "model_failed", problem)
    return answer


def _streamed(assistant: Assistant, question: str, kwargs: dict) -> Answer:
    """Tokens appear as the model writes them; the verified answer replaces them after."""
    patience = assistant.settings.llm_deadline_s + 30.0
    stream = stream_ask(assistant, question, timeout_s=patience, **kwargs)
    placeholder = st.empty()
    with placeholder.container():
        with st.spinner("正在检索报告……"):
            tokens = stream.tokens()
            first = next(tokens, None)
        if first is not None:
            st.write_stream(inert_stream(_chain(first, tokens)), cursor="▌")
    answer = stream.answer(timeout_s=patience)
    placeholder.empty()
    return answer


def _chain(first: str, rest):
    yield first
    yield from rest
