"""assistant/reasoning.py: a reasoning model's thinking never reaches the answer, whatever the
chunking of the stream."""

from __future__ import annotations

import random

import pytest

from assistant.reasoning import ReasoningFilter, opens_in_prompt, split_reasoning

pytestmark = pytest.mark.unit

THINK = "嗯，用户问的是网格数量。摘录[4]说6331个，我再核对一下。"
ANSWER = "大连市全市已建立6331个网格[1]。"


@pytest.mark.parametrize(
    ("reply", "answer", "reasoning"),
    [
        (f"<think>{THINK}</think>\n\n{ANSWER}", ANSWER, THINK),
        (f"\n<THINK>{THINK}</Think>{ANSWER}", ANSWER, THINK),
        (f"<thinking>{THINK}</thinking>\n{ANSWER}", ANSWER, THINK),
        (f"<reasoning>{THINK}</reasoning>{ANSWER}", ANSWER, THINK),
        # the template opened <think> in the prompt (DeepSeek-R1, QwQ): only the closing tag
        (f"{THINK}\n</think>\n\n{ANSWER}", ANSWER, THINK + "\n"),
        (f"<think>{THINK}</think>", "", THINK),  # only reasoning: an empty reply
        (f"<think>{THINK}", "", THINK),  # never closed: all of it is reasoning
        (f"<think></think>\n\n{ANSWER}", ANSWER, ""),  # Qwen3 with thinking switched off
        (ANSWER, ANSWER, ""),
        ("面积 < 1100 平方米 <b>[1]。", "面积 < 1100 平方米 <b>[1]。", ""),  # not our tags
        ("末尾是一个 <thin", "末尾是一个 <thin", ""),  # an unfinished look-alike is text
    ],
)
def test_split_reasoning(reply: str, answer: str, reasoning: str) -> None:
    assert split_reasoning(reply) == (answer, reasoning)


def _stream(reply: str, chunks: list[int], *, held: bool = False) -> tuple[list[str], str, str]:
    f = ReasoningFilter(held=held)
    shown: list[str] = []
    pos = 0
    for end in [*chunks, len(reply)]:
        shown.append(f.feed(reply[pos:end]))
        pos = end
    shown.append(f.finish())
    return [s for s in shown if s], f.answer, f.reasoning


REPLIES = [
    f"<think>{THINK}</think>\n\n{ANSWER}",
    f"<Thinking>\n{THINK}\n</Thinking>\n{ANSWER}",
    f"<think>{THINK}",
    f"<think>{THINK}</think>",
    ANSWER,
]


@pytest.mark.parametrize("reply", REPLIES)
def test_every_two_chunk_split_gives_the_one_shot_result(reply: str) -> None:
    expected = split_reasoning(reply)
    for cut in range(len(reply) + 1):
        shown, answer, reasoning = _stream(reply, [cut])
        assert (answer, reasoning) == expected, cut
        assert "".join(shown) == answer, cut  # what was streamed is exactly the answer
        assert all("think" not in s.lower() and "嗯" not in s for s in shown), cut


@pytest.mark.parametrize("reply", REPLIES)
@pytest.mark.parametrize("held", [False, True])
def test_random_chunk_boundaries(reply: str, held: bool) -> None:
    rng = random.Random(f"{reply}{held}")
    expected = split_reasoning(reply, held=held)
    for _ in range(200):
        cuts = sorted(rng.sample(range(1, len(reply)), rng.randint(1, min(12, len(reply) - 1))))
        shown, answer, reasoning = _stream(reply, cuts, held=held)
        assert (answer, reasoning) == expected, cuts
        assert "".join(shown) == answer, cuts
        assert not any(word in "".join(shown) for word in ("<", "嗯", "核对一下")), cuts


def test_tags_split_like_a_real_stream() -> None:
    f = ReasoningFilter()
    pieces = ["<th", "ink>", THINK[:5], THINK[5:], "</thi", "nk>", "\n\n", ANSWER[:4], ANSWER[4:]]
    shown = [f.feed(p) for p in pieces] + [f.finish()]
    assert "".join(shown) == ANSWER and f.reasoning == THINK
    assert shown[: pieces.index("\n\n") + 1] == [""] * (pieces.index("\n\n") + 1)


def test_held_reasoning_shows_nothing_before_the_closing_tag() -> None:
    reply = f"{THINK}</think>\n\n{ANSWER}"
    for cut in range(len(reply) + 1):
        shown, answer, reasoning = _stream(reply, [cut], held=True)
        assert "".join(shown) == ANSWER and answer == ANSWER and reasoning == THINK, cut


def test_held_reply_without_a_closing_tag_was_the_answer() -> None:
    f = ReasoningFilter(held=True)
    assert f.feed(ANSWER[:5]) == "" and f.feed(ANSWER[5:]) == ""
    assert f.finish() == ANSWER and f.answer == ANSWER and f.reasoning == ""
    # reasoning sent in its own field (vLLM's reasoning parser) leaves the content alone
    f = ReasoningFilter(held=True)
    f.add_reasoning(THINK)
    assert f.feed(ANSWER) == ANSWER  # so nothing needs holding back
    assert f.finish() == "" and f.answer == ANSWER and f.reasoning == THINK


def test_a_bare_closing_tag_without_held_fixes_the_answer_but_says_it_leaked() -> None:
    f = ReasoningFilter()
    assert f.feed(THINK) == THINK  # nothing said it was reasoning yet
    f.feed(f"</think>\n\n{ANSWER}")
    f.finish()
    assert f.answer == ANSWER and f.reasoning == THINK and f.leaked


def test_reasoning_field_is_kept_apart() -> None:
    f = ReasoningFilter()
    f.add_reasoning("先想")
    assert f.feed("答") == "答"
    f.add_reasoning("再想")
    assert f.feed("案") == "案" and f.finish() == ""
    assert (f.answer, f.reasoning) == ("答案", "先想再想")


@pytest.mark.parametrize(
    ("model", "opens"),
    [
        ("deepseek-r1", True),
        ("deepseek-ai/DeepSeek-R1-Distill-Qwen-32B", True),
        ("deepseek-r1:14b", True),
        ("Qwen/QwQ-32B", True),
        ("qwen3:8b", False),  # Qwen3 writes its own <think>
        ("deepseek-chat", False),
        ("gpt-4o-mini", False),
        (None, False),
    ],
)
def test_models_whose_template_opens_think(model: str | None, opens: bool) -> None:
    assert opens_in_prompt(model) is opens
