"""Helpers for the AppTest tests of the Streamlit app (no tests in this module)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field
from streamlit.testing.v1 import AppTest

from assistant.settings import PROJECT_ROOT

APP = PROJECT_ROOT / "ui" / "app.py"
OVERRIDE_KEY = "_assistant_override"  # ui.state.OVERRIDE_KEY
PAGES = {
    "chat": "views/chat.py",
    "compare": "views/compare.py",
    "library": "views/library.py",
    "prompts": "views/prompt_files.py",
}


def assistant_view(base, home: Path, **extras: Any):
    """The session's indexed Assistant with this test's prompts/uploads folders and extras.

    Store, retriever and models are shared (read-only use); settings and extras are the test's.
    """
    settings = base.settings.model_copy(
        update={"prompts_dir": home / "prompts", "upload_dir": home / "uploads"}
    )
    return dataclasses.replace(base, settings=settings, extras=dict(extras))


def open_app(assistant, page: str = "chat", timeout: float = 120) -> AppTest:
    """The app with `assistant` injected, run once and switched to `page`."""
    at = AppTest.from_file(str(APP), default_timeout=timeout)
    at.session_state[OVERRIDE_KEY] = assistant
    at.run()
    if page != "chat":
        at.switch_page(PAGES[page]).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(node) -> list[str]:
    """Every piece of text a user would read under `node` (markdown, captions, labels, code)."""
    out: list[str] = []

    def walk(n) -> None:
        label = getattr(n, "label", None)
        if isinstance(label, str) and label:
            out.append(label)
        if getattr(n, "type", "") in {
            "markdown",
            "caption",
            "code",
            "text",
            "warning",
            "error",
            "info",
            "success",
            "title",
            "subheader",
            "header",
            "toast",
        }:
            out.append(str(n.value))
        children = getattr(n, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                walk(child)

    walk(node)
    return out


def plain(markdown: str) -> str:
    """Escaped Markdown as the reader sees it (backslash escapes removed)."""
    return re.sub(r"\\(.)", r"\1", markdown)


def all_text(at: AppTest) -> str:
    return "\n".join(texts(at.main) + texts(at.sidebar))


def expanders(node, prefix: str = "") -> list:
    found = []

    def walk(n) -> None:
        if getattr(n, "type", "") == "expander" and str(getattr(n, "label", "")).startswith(prefix):
            found.append(n)
        children = getattr(n, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                walk(child)

    walk(node)
    return found


class ScriptedChatModel(BaseChatModel):
    """A chat model that streams a scripted reply in small pieces and records every call."""

    reply: str = "报告中未找到相关内容。"
    calls: list[list[BaseMessage]] = Field(default_factory=list)
    fail_with: BaseException | None = None
    model_name: str = "fake-scripted"
    chunk_chars: int = 4

    model_config = ConfigDict(arbitrary_types_allowed=True)

    @property
    def _llm_type(self) -> str:
        return "scripted-fake"

    def _text(self, messages: list[BaseMessage]) -> str:
        self.calls.append(list(messages))
        if self.fail_with is not None:
            raise self.fail_with
        return self.reply

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:  # type: ignore[override]
        message = AIMessage(
            content=self._text(messages), response_metadata={"finish_reason": "stop"}
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self, messages, stop=None, run_manager=None, **kwargs
    ) -> Iterator[ChatGenerationChunk]:  # type: ignore[override]
        text = self._text(messages)
        for i in range(0, len(text), self.chunk_chars):
            yield ChatGenerationChunk(
                message=AIMessageChunk(content=text[i : i + self.chunk_chars])
            )
        yield ChatGenerationChunk(
            message=AIMessageChunk(content="", response_metadata={"finish_reason": "stop"})
        )
