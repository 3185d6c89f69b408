"""The answer as a brief: Markdown with its references and .docx, the same export as the CLI."""

from __future__ import annotations

import re

from assistant.answer_offline import figures
from assistant.answers import Answer

_UNSAFE_FILE = re.compile(r"[^\w\u4e00-\u9fff-]+")


def markdown_of(answer: Answer) -> str:
    from assistant.export import to_markdown

    return to_markdown(answer)


def docx_of(answer: Answer) -> bytes:
    from assistant.export import to_docx

    return to_docx(answer)


def file_stem(answer: Answer) -> str:
    """A download name from the question: 简报-<first words>."""
    words = _UNSAFE_FILE.sub("_", answer.question or "").strip("_")[:24]
    return f"简报-{words}" if words else "简报"


def key_figures(text: str, limit: int = 3) -> list[str]:
    """Numbers with their units in a region's findings (46个, 94.48%, 1300余名)."""
    return figures(re.sub(r"\[\d+\]", "", text or ""), limit=limit)
