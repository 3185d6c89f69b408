"""assistant/streaming.py: tokens from a worker thread, the final result, errors, cancellation."""

from __future__ import annotations

import threading
import time

import pytest

from assistant.streaming import StreamCancelled, StreamTimeout, TokenStream, stream_ask

pytestmark = pytest.mark.unit


def test_tokens_then_result():
    def produce(on_token):
        for piece in ["大连", "全市", "6331个网格[1]。"]:
            on_token(piece)
        return "final answer"

    stream = TokenStream(produce).start()
    assert list(stream) == ["大连", "全市", "6331个网格[1]。"]
    assert stream.answer() == "final answer"
    assert stream.done


def test_tokens_arrive_while_the_worker_runs():
    release = threading.Event()
    seen_before_release: list[str] = []

    def produce(on_token):
        on_token("first")
        release.wait(5)
        on_token("second")
        return 42

    stream = TokenStream(produce, timeout_s=5).start()
    tokens = stream.tokens()
    seen_before_release.append(next(tokens))
    assert not stream.done
    release.set()
    assert list(tokens) == ["second"]
    assert seen_before_release == ["first"]
    assert stream.answer() == 42


def test_worker_exception_is_reraised_by_answer():
    def produce(on_token):
        on_token("partial")
        raise ValueError("boom")

    stream = TokenStream(produce).start()
    assert list(stream) == ["partial"]
    with pytest.raises(ValueError, match="boom"):
        stream.answer()


def test_reader_leaving_early_cancels_the_worker():
    stopped = threading.Event()

    def produce(on_token):
        try:
            for i in range(1000):
                on_token(str(i))
                time.sleep(0.005)
        except StreamCancelled:
            stopped.set()
            raise
        return "never"

    stream = TokenStream(produce).start()
    tokens = stream.tokens()
    assert next(tokens) == "0"
    tokens.close()  # what happens when Streamlit stops the script mid-stream
    assert stopped.wait(5)
    with pytest.raises(StreamCancelled):
        stream.answer(timeout_s=5)


def test_silence_longer_than_the_timeout_ends_the_stream():
    gate = threading.Event()

    def produce(on_token):
        gate.wait(5)
        return "late"

    stream = TokenStream(produce, timeout_s=0.2).start()
    started = time.monotonic()
    assert list(stream) == []
    assert time.monotonic() - started < 2
    with pytest.raises(StreamTimeout):
        stream.answer()
    gate.set()


def test_empty_tokens_are_dropped():
    stream = TokenStream(lambda on_token: (on_token(""), on_token("x"), "ok")[-1]).start()
    assert list(stream) == ["x"]
    assert stream.answer() == "ok"


def test_stream_ask_passes_on_token_to_the_assistant():
    class FakeAssistant:
        def __init__(self):
            self.kwargs = None

        def ask(self, question, **kwargs):
            self.kwargs = kwargs
            kwargs["on_token"]("答")
            kwargs["on_token"]("案")
            return f"answer to {question}"

    fake = FakeAssistant()
    stream = stream_ask(fake, "问题", mode="qa", k=3)
    assert "".join(stream) == "答案"
    assert stream.answer() == "answer to 问题"
    assert fake.kwargs["mode"] == "qa" and fake.kwargs["k"] == 3


def test_offline_assistant_answer_through_the_stream(indexed_assistant):
    stream = stream_ask(indexed_assistant, "大连全市建立了多少个网格？", offline=True)
    text = "".join(stream)
    answer = stream.answer()
    assert "6331" in text and "6331" in answer.answer
    assert answer.citations and answer.citations[0].region == "大连市"


def test_a_reasoning_model_streams_only_its_answer():
    from langchain_core.messages import HumanMessage

    from assistant.answer_llm import Deadline, generate
    from tests.test_answers_fakes import RecordingChatModel

    think = "嗯，用户问网格数量，我先想一想。"
    answer = "大连市全市已建立6331个网格[1]。"
    model = RecordingChatModel(replies=[f"<think>{think}</think>\n\n{answer}"], chunk_chars=3)

    def produce(on_token):
        return generate(model, [HumanMessage("网格？")], deadline=Deadline(5), on_token=on_token)

    stream = TokenStream(produce, timeout_s=5).start()
    tokens = list(stream)
    gen = stream.answer()
    assert "".join(tokens) == answer and len(tokens) > 3
    assert not any("think" in t or "嗯" in t for t in tokens)
    assert gen.text == answer and gen.reasoning == think
