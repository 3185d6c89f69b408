"""The answer component: one answerer per process from one factory, shared by every session,
with no per-question state; fakes go through the same factory."""

from __future__ import annotations

import copy
import dataclasses
import threading

import pytest

from assistant.answer_llm import LLMAnswerer
from assistant.answer_offline import OfflineAnswerer
from assistant.answers import OFFLINE
from tests.test_answers_fakes import RecordingChatModel

QUESTION = "大连全市建立了多少个网格？"


def _state(answerer) -> dict:
    """What an answerer holds, to check a question leaves nothing behind on it."""
    held = {k: v for k, v in vars(answerer).items() if k not in ("chat_model", "prompts")}
    if isinstance(answerer, LLMAnswerer):
        held["fallback"] = _state(answerer.fallback)
    return copy.copy(held)


@pytest.mark.integration
def test_one_answerer_per_process_and_flag(indexed_assistant):
    a = indexed_assistant
    assert a.answerer() is a.answerer()
    assert isinstance(a.answerer(), OfflineAnswerer) and a.answerer_name == OFFLINE
    # The library's names come from the retriever at each question, not a frozen copy.
    assert set(a.retriever.regions()) <= set(a.answerer().region_names.values())
    before = _state(a.answerer())
    answers = []

    def ask() -> None:
        answers.append(a.ask(QUESTION))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({x.answer for x in answers}) == 1 and "6331" in answers[0].answer
    assert _state(a.answerer()) == before  # nothing per question stored on the shared one


@pytest.mark.integration
def test_injected_model_goes_through_the_same_factory(indexed_assistant):
    fake = RecordingChatModel(replies=["大连市已建立6331个网格。[1]"])
    llm = dataclasses.replace(indexed_assistant, extras={"chat_model": fake})
    answerer = llm.answerer()
    assert isinstance(answerer, LLMAnswerer) and answerer is llm.answerer()
    assert llm.answerer_name == "llm:fake-recorder"
    # The offline switch gets the process's offline extract, not a per-question build.
    assert isinstance(llm.answerer(offline=True), OfflineAnswerer)
    assert llm.answerer(offline=True) is llm.answerer(offline=True)
    ans = llm.ask(QUESTION)
    assert ans.answerer == "llm:fake-recorder" and "6331" in ans.answer and ans.citations
    assert not hasattr(answerer, "deadline")  # the deadline is passed per call
    # The original (offline) Assistant keeps its own answerer.
    assert indexed_assistant.answerer_name == OFFLINE
