"""Untrusted text (report passages, model output, file names) made inert for `st.markdown`.

Streamlit renders Markdown: links, images (which load remote URLs), `:directives:`, LaTeX and,
with `unsafe_allow_html`, HTML. Report text and model output are data, so every character that
could start such a construct is backslash-escaped; what is left renders as the same characters.
Bare URLs and e-mail addresses would still become links (GFM linkifies them after escapes are
resolved), so they are shown as code spans: the same characters, visibly not a link.
Escaping a growing stream piece by piece gives the same text as escaping it whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from assistant.citations import merge_spans

# Markdown the assistant's answers may keep: emphasis, lists, headings, quotes, tables. An existing
# backslash escape (the chain already writes `\\<`, `!\\[`) is kept: it is inert as it is.
_ACTIVE = re.compile(r"\\([!-/:-@\[-`{-~])|([\\`<\[\]!$:~&])")
# Plain text: every ASCII punctuation character, so nothing is formatted at all.
_ALL = "\\`*_{}[]<>()#+-.!|$:~&="
_ALL_TABLE = str.maketrans({c: "\\" + c for c in _ALL})
_LEADING_SPACES = re.compile(r"(?m)^[ \t]+")
# What GFM turns into links without any brackets: scheme://…, www.…, mailto:/xmpp:, e-mail.
_LINKISH = re.compile(
    r"(?i)(?:[a-z][a-z0-9+.-]{0,20}://|www\.|mailto:|xmpp:)[^\s\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]*"
    r"|[a-z0-9._+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+"
)
_URLISH_TAIL = re.compile(r"[A-Za-z0-9._+\-@:/%?=&#~]+$")


def _code_span(text: str) -> str:
    return "`" + text.replace("`", "ˋ") + "`"


def _with_links_as_code(text: str, escape) -> str:
    out: list[str] = []
    pos = 0
    for m in _LINKISH.finditer(text):
        out.append(escape(text[pos : m.start()]))
        out.append(_code_span(m.group(0)))
        pos = m.end()
    out.append(escape(text[pos:]))
    return "".join(out)


def _escape_md(text: str) -> str:
    return _ACTIVE.sub(lambda m: m.group(0) if m.group(1) else "\\" + m.group(2), text)


def inert_markdown(text: str) -> str:
    """Model output as Markdown with formatting kept but no link, image, HTML or directive."""
    if not text:
        return ""
    return _with_links_as_code(text, _escape_md)


def inert_text(text: str) -> str:
    """Report text shown exactly as written (no formatting), line breaks kept."""
    if not text:
        return ""
    text = _LEADING_SPACES.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    escaped = _with_links_as_code(text, lambda part: part.translate(_ALL_TABLE))
    return re.sub(r"(?<!\n)\n(?!\n)", "  \n", escaped)


def one_line(text: str, limit: int = 80) -> str:
    """Untrusted text for a widget option (shown as plain text, never Markdown): one line, bounded."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def inert_label(text: str, limit: int = 80) -> str:
    """A short label (expander, button, caption) from untrusted metadata: one line, escaped."""
    return _with_links_as_code(one_line(text, limit), lambda part: part.translate(_ALL_TABLE))


def inert_stream(tokens: Iterable[str]) -> Iterator[str]:
    """Escape a token stream for `st.write_stream` (the same text as escaping it whole).

    What the next characters could still change is held back: a possible URL at the end
    (it becomes one code span) and an odd trailing backslash (it may escape the next one).
    """
    raw = ""
    shown = 0
    for token in tokens:
        raw += token
        escaped = inert_markdown(_settled(raw))
        if len(escaped) > shown:
            yield escaped[shown:]
            shown = len(escaped)
    escaped = inert_markdown(raw)
    if len(escaped) > shown:
        yield escaped[shown:]


def _settled(raw: str) -> str:
    cut = len(raw)
    last = next((m for m in reversed(list(_LINKISH.finditer(raw)))), None)
    if last is not None and last.end() == len(raw):
        cut = last.start()
    tail = _URLISH_TAIL.search(raw[:cut])
    if tail:
        cut = tail.start()
    ready = raw[:cut]
    if (len(ready) - len(ready.rstrip("\\"))) % 2:
        ready = ready[:-1]
    return ready


def highlight(
    text: str, spans: list[tuple[int, int]], color: str = "orange", *, bold: bool = False
) -> str:
    """`text` escaped, with the character ranges in `spans` on a coloured background (and in
    bold, for a span that must stand out from a long passage)."""
    spans = merge_spans(spans, len(text), text)
    out: list[str] = []
    pos = 0
    for start, end in spans:
        out.append(inert_text(text[pos:start]))
        out.append(_background(text[start:end], color, bold))
        pos = end
    out.append(inert_text(text[pos:]))
    return "".join(out)


def mark(text_md: str, color: str) -> str:
    """Already-escaped Markdown on a coloured background, line by line."""
    return "\n".join(
        f":{color}-background[{line}]" if line.strip() else line for line in text_md.split("\n")
    )


def _background(raw: str, color: str, bold: bool = False) -> str:
    strong = "**" if bold else ""
    return "\n".join(
        f":{color}-background[{strong}{inert_text(line.strip())}{strong}]"
        if bold and line.strip()
        else f":{color}-background[{inert_text(line)}]"
        if line.strip()
        else ""
        for line in raw.split("\n")
    )
