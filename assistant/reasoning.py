"""Keep a reasoning model's thinking out of the answer: `<think>…</think>` in the content.

Qwen3, DeepSeek-R1 and QwQ served raw (vLLM without a reasoning parser, Ollama's OpenAI API)
write their reasoning into the content between `<think>` and `</think>` (also seen:
`<thinking>`, `<reasoning>`). DeepSeek-R1's and QwQ's chat templates put the opening tag in
the prompt, so the reply starts inside the reasoning and only the closing tag shows up.

`ReasoningFilter` is fed content deltas as they stream, in any chunking (a tag may be split
across chunks), and returns only the visible answer text; `split_reasoning` does the same for
a whole reply. Reasoning sent in a separate field (`reasoning_content`) is added with
`add_reasoning` and never touches the answer.
"""

from __future__ import annotations

import re

_NAMES = ("think", "thinking", "reasoning")
_OPEN_TAGS = tuple(f"<{n}>" for n in _NAMES)
_CLOSE_TAGS = tuple(f"</{n}>" for n in _NAMES)
_ALL_TAGS = _OPEN_TAGS + _CLOSE_TAGS
_TAG = re.compile(r"</?(?:thinking|think|reasoning)>", re.IGNORECASE)
_LONGEST_TAG = max(len(t) for t in _ALL_TAGS)

# Models whose chat template opens `<think>` in the prompt, so their reply begins inside the
# reasoning with no opening tag (DeepSeek-R1 and its distills, QwQ: see their
# tokenizer_config.json chat templates). Qwen3 writes its own `<think>` and is not listed.
_OPENS_IN_PROMPT = re.compile(r"deepseek[-_]?r1|(?<![a-z])r1[-_]distill|qwq", re.IGNORECASE)

_START, _ANSWER, _REASONING, _HELD = "start", "answer", "reasoning", "held"


def opens_in_prompt(model: str | None) -> bool:
    """Whether this model's template opens `<think>` in the prompt (guessed from its name)."""
    return bool(model and _OPENS_IN_PROMPT.search(model))


def _partial_tag_at(text: str) -> int:
    """Where a possibly unfinished tag starts at the end of `text`, or -1."""
    start = text.rfind("<", max(0, len(text) - _LONGEST_TAG))
    if start == -1:
        return -1
    tail = text[start:].lower()
    return start if any(tag.startswith(tail) for tag in _ALL_TAGS) else -1


class ReasoningFilter:
    """Fed the deltas of one reply; hands back visible text and collects the reasoning.

    With `held=True` (the template opened `<think>` in the prompt) nothing is shown until a
    closing tag ends the reasoning; a reply that never closes it was all answer after all and
    is released by `finish()`. Without it, a closing tag that arrives with no opening tag turns
    the text before it into reasoning: `answer` is right, but that text was already handed out
    (`leaked` says so).
    """

    def __init__(self, *, held: bool = False) -> None:
        self._state = _HELD if held else _START
        self._pending = ""  # a tail that may be the start of a tag
        self._answer: list[str] = []
        self._reasoning: list[str] = []
        self._held: list[str] = []
        self.leaked = False

    @property
    def answer(self) -> str:
        """The visible answer so far (all of it after `finish()`)."""
        return "".join(self._answer)

    @property
    def reasoning(self) -> str:
        return "".join(self._reasoning)

    def add_reasoning(self, text: str) -> None:
        """Reasoning that came in its own field (`reasoning_content`), not in the content.

        The server separates the reasoning itself (vLLM's reasoning parser), so a held-back
        reply that has shown no content yet need not wait for a closing tag.
        """
        if text:
            self._reasoning.append(text)
            if self._state == _HELD and not "".join(self._held).strip():
                self._held = []
                self._state = _START

    def feed(self, delta: str) -> str:
        """The part of `delta` (with what was held back) that can be shown now."""
        text = self._pending + (delta or "")
        self._pending = ""
        shown: list[str] = []
        pos = 0
        for m in _TAG.finditer(text):
            shown.append(self._text(text[pos : m.start()]))
            shown.append(self._tag(m.group(0).lower()))
            pos = m.end()
        rest = text[pos:]
        cut = _partial_tag_at(rest)
        if cut != -1:
            rest, self._pending = rest[:cut], rest[cut:]
        shown.append(self._text(rest))
        return "".join(shown)

    def finish(self) -> str:
        """End of the reply: what is left to show. An unclosed `<think>` stays reasoning."""
        shown = self._text(self._pending)
        self._pending = ""
        if self._state == _HELD:
            held = "".join(self._held)
            self._held = []
            inner = ReasoningFilter()
            shown += inner.feed(held) + inner.finish()
            self._reasoning.append(inner.reasoning)
            self._answer.append(inner.answer)
            self._state = _ANSWER if inner.answer else _START
        return shown

    def _text(self, text: str) -> str:
        if not text:
            return ""
        if self._state == _HELD:
            self._held.append(text)
            return ""
        if self._state == _REASONING:
            self._reasoning.append(text)
            return ""
        if self._state == _START:
            text = text.lstrip()  # no answer starts with blank lines (they follow </think>)
            if not text:
                return ""
            self._state = _ANSWER
        self._answer.append(text)
        return text

    def _tag(self, tag: str) -> str:
        opening = not tag.startswith("</")
        if self._state == _HELD:
            held = "".join(self._held)
            if opening and not held.strip():
                self._held = []  # the model wrote the opening tag itself after all
                self._state = _REASONING
            elif opening:
                self._held.append(tag)  # kept, in case it all turns out to be the answer
            else:
                self._reasoning.append(_TAG.sub("", held))
                self._held = []
                self._state = _START
        elif opening:
            self._state = _REASONING
        elif self._state == _REASONING:
            self._state = _ANSWER if self._answer else _START
        elif self._answer:  # a closing tag with no opening one: all so far was reasoning
            self._reasoning.append(self.answer)
            self._answer = []
            self.leaked = True
            self._state = _START
        return ""


def split_reasoning(text: str, *, held: bool = False) -> tuple[str, str]:
    """(answer, reasoning) of a whole reply; the same split as streaming it in any chunks."""
    f = ReasoningFilter(held=held)
    f.feed(text or "")
    f.finish()
    return f.answer, f.reasoning
