"""What the pages share: the process's Assistant, the session's options, the LLM's health.

The Assistant (store, retriever, models) is created once per process and shared by every
browser session; options and the conversation live in `st.session_state`, one per session.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from assistant.answers import OFFLINE
from assistant.service import Assistant
from assistant.settings import get_settings

# Tests (AppTest runs the script in-process) put their own Assistant here before a run.
OVERRIDE_KEY = "_assistant_override"

DEFAULT_PROFILE = ""  # the answer prompt without an extra style profile
MODES = {"auto": "自动", "qa": "问答", "compare": "跨地区比较"}


@st.cache_resource(show_spinner="正在加载报告库和检索模型……")
def _shared_assistant(config_key: str) -> Assistant:
    """One Assistant per configuration and process (`config_key` only keys the cache)."""
    return Assistant.from_settings(get_settings())


def get_assistant() -> Assistant:
    """The Assistant every page calls; a test may inject one through session state."""
    injected = st.session_state.get(OVERRIDE_KEY)
    if injected is not None:
        return injected
    settings = get_settings()
    return _shared_assistant(
        settings.model_dump_json(exclude={"openai_api_key", "embedding_api_key"})
    )


# ---- options of this session (kept while the widgets are off screen) -----------------------


def option(name: str, default: Any = None) -> Any:
    return st.session_state.get(f"opt_{name}", default)


def set_option(name: str, value: Any) -> None:
    """Set an option from a callback or before its widget is drawn in this run."""
    st.session_state[f"opt_{name}"] = value
    st.session_state[f"_w_{name}"] = value


def widget_key(name: str, default: Any) -> str:
    """Key for the widget of option `name`, seeded from the kept value on every run.

    Streamlit forgets a widget's value on runs where it is not drawn (another page), and two
    pages may draw the same option with different widgets; the option lives under its own key
    and is copied into the widget's key before the widget is created.
    """
    key = f"_w_{name}"
    st.session_state[key] = st.session_state.setdefault(f"opt_{name}", default)
    return key


def scope_of_session():
    """The report scope chosen in the sidebar (kinds, years, reports; regions are separate)."""
    from assistant.scope import Scope

    return Scope.of(option("doc_ids", []), None, option("kinds", []), option("years", []))


def keep(name: str) -> None:
    """on_change callback: copy a widget's value to the kept option."""
    st.session_state[f"opt_{name}"] = st.session_state[f"_w_{name}"]


# ---- LLM health, shared by the sessions of this process ------------------------------------


@dataclass
class LLMHealth:
    """Whether the configured model answered lately; shown in every session's sidebar."""

    failed_at: float = 0.0
    problem: str = ""
    ok_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, ok: bool, problem: str = "") -> None:
        with self._lock:
            if ok:
                self.ok_at, self.problem = time.time(), ""
            else:
                self.failed_at, self.problem = time.time(), problem or "大模型没有返回完整答案。"

    @property
    def failing(self) -> bool:
        return bool(self.problem) and self.failed_at >= self.ok_at


@st.cache_resource
def _health(assistant_id: int) -> LLMHealth:
    return LLMHealth()


def llm_health(assistant: Assistant) -> LLMHealth:
    return _health(id(assistant))


def uses_llm(assistant: Assistant) -> bool:
    """Whether the next answer in this session will come from a chat model."""
    return answerer_label(assistant) != "离线摘录模式"


def answerer_label(assistant: Assistant) -> str:
    """`llm:<model>` or 离线摘录模式, as the sidebar shows it: the name of the answerer the
    next question goes to (the process's one, chosen by the factory)."""
    name = assistant.answerer(bool(option("offline", False))).name
    return "离线摘录模式" if name == OFFLINE else name
