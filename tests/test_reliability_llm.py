"""Issue 5, faults of the LLM endpoint: a real OpenAI-compatible stub on 127.0.0.1 that hangs,
trickles, fails, limits, refuses the key, cuts the stream, returns no choices or cites passages
that do not exist. Each: bounded time and retries, a clear message, the offline answer, an
incomplete answer never presented as complete, and the key nowhere."""

from __future__ import annotations

import logging
import time

import pytest

from assistant.export import to_docx, to_markdown
from assistant.service import Assistant
from tests.conftest import make_settings
from tests.openai_stub import OpenAIStub, Reply
from tests.reliability_helpers import docx_text

pytestmark = pytest.mark.integration

KEY = "sk-reliability-DUMMY-7f3a9c0e51d24b68"
DEADLINE_S = 4.0
TIMEOUT_S = 1.5
RETRIES = 2
QUESTION = "薛城区2020年以来共召开了几次党的建设工作领导小组会议？"
GOOD = "薛城区2020年以来共召开党的建设工作领导小组会议7次[1]。"


@pytest.fixture
def stub():
    with OpenAIStub() as server:
        yield server


@pytest.fixture
def llm_assistant(stub, indexed_assistant, session_home):
    """The session store, answered by a real ChatOpenAI pointed at the stub."""
    settings = make_settings(
        session_home,
        openai_api_key=KEY,
        openai_base_url=stub.base_url,
        openai_model="stub-model",
        llm_deadline_s=DEADLINE_S,
        llm_timeout_s=TIMEOUT_S,
        llm_retries=RETRIES,
    )
    return Assistant.from_settings(settings)


def _ask(assistant, caplog, capfd, **kw):
    caplog.set_level(logging.DEBUG)
    t = time.monotonic()
    answer = assistant.ask(QUESTION, **kw)
    elapsed = time.monotonic() - t
    out, err = capfd.readouterr()
    logs = "\n".join(
        r.getMessage() + (logging.Formatter().formatException(r.exc_info) if r.exc_info else "")
        for r in caplog.records
    )
    return answer, elapsed, logs + out + err


def _assert_fell_back(answer, elapsed, seen, stub, reason_word, max_requests):
    assert elapsed < DEADLINE_S + 3.0, f"took {elapsed:.1f}s"
    assert 1 <= len(stub.requests) <= max_requests, len(stub.requests)
    assert answer.complete is False
    assert answer.answerer == "offline"
    assert reason_word in answer.notice, answer.notice
    assert "离线摘录" in answer.notice
    assert "7次" in answer.answer, "the offline extract answers instead"
    md = to_markdown(answer)
    assert "没有完整生成" in md and "离线摘录" in md
    assert "没有完整生成" in docx_text(to_docx(answer))
    for text in (answer.answer, answer.notice, answer.partial, md, seen):
        assert KEY not in text
    assert KEY[-12:] not in seen


# Retries: the client's own (llm_retries) plus one of ours for connection-level failures.
MAX_REQUESTS = 1 + RETRIES + 1


@pytest.mark.parametrize(
    "reply, word",
    [
        (Reply.hang(), "秒"),
        (Reply.trickle(0.2), "秒"),
        (Reply.error(500), "HTTP 500"),
        (Reply.error(503), "HTTP 503"),
        (Reply.error(429, headers={"Retry-After": "3600"}), "429"),
        (Reply.no_choices(), "没有返回"),
    ],
    ids=["hang", "trickle", "500", "503", "429-retry-after-an-hour", "no-choices"],
)
def test_endpoint_failure_falls_back_in_bounded_time(
    reply, word, stub, llm_assistant, caplog, capfd
):
    stub.default = reply
    answer, elapsed, seen = _ask(llm_assistant, caplog, capfd)
    _assert_fell_back(answer, elapsed, seen, stub, word, MAX_REQUESTS)
    for r in stub.requests:  # the key did reach the endpoint (so hiding it elsewhere matters)
        assert {k.lower(): v for k, v in r["headers"].items()}["authorization"] == f"Bearer {KEY}"


def test_429_with_short_retry_after_is_honoured(stub, llm_assistant, caplog, capfd):
    stub.push(Reply.error(429, headers={"Retry-After": "1"}), Reply.ok(GOOD))
    answer, elapsed, seen = _ask(llm_assistant, caplog, capfd)
    assert len(stub.requests) == 2
    assert elapsed >= 0.9, "waited as the server asked"
    assert answer.complete and answer.answerer == "llm:stub-model"
    assert "7次" in answer.answer and answer.citations
    assert KEY not in seen


def test_401_is_not_retried_and_the_echoed_key_is_not_shown(stub, llm_assistant, caplog, capfd):
    # A server that echoes the key back in its error body (some do, partly masked).
    stub.default = Reply.error(401, message=f"Incorrect API key provided: {KEY}")
    answer, elapsed, seen = _ask(llm_assistant, caplog, capfd)
    _assert_fell_back(answer, elapsed, seen, stub, "OPENAI_API_KEY", 1)


def test_stream_cut_midway_is_never_presented_as_complete(stub, llm_assistant, caplog, capfd):
    stub.default = Reply.cut("残缺回答甲乙丙丁：薛城区召开会议7次[1]。还有更多内容", after=2)
    answer, elapsed, seen = _ask(llm_assistant, caplog, capfd)
    _assert_fell_back(answer, elapsed, seen, stub, "中断", MAX_REQUESTS)
    assert "残缺回答" not in answer.answer
    assert "残缺回答" not in to_markdown(answer)


def test_stream_cut_after_tokens_were_shown(stub, llm_assistant, caplog, capfd):
    """Once the user saw tokens, nothing is retried; the shown text is marked incomplete."""
    stub.default = Reply.cut("残缺回答甲乙丙丁：薛城区召开会议7次[1]。还有更多内容", after=2)
    tokens: list[str] = []
    answer, elapsed, seen = _ask(llm_assistant, caplog, capfd, on_token=tokens.append)
    assert "".join(tokens).startswith("残缺回答")
    _assert_fell_back(answer, elapsed, seen, stub, "中断", 1)
    assert answer.partial.startswith("残缺回答")


def test_nonexistent_citations_are_flagged(stub, llm_assistant, caplog, capfd):
    stub.default = Reply.ok("薛城区共召开领导小组会议7次[1]。另据统计共召开会议9次[42]。")
    answer, elapsed, seen = _ask(llm_assistant, caplog, capfd)
    assert answer.answerer == "llm:stub-model"
    assert 42 not in {c.n for c in answer.citations}
    assert answer.unsupported, "a citation pointing nowhere is flagged"
    assert any("9次" in u.sentence for u in answer.unsupported)
    assert "[^42]" not in to_markdown(answer)
    assert "未核实" in to_markdown(answer)
    assert KEY not in seen


def test_llm_fault_through_the_command(stub, seeded_cache, indexed_assistant):
    """`assistant ask` with the endpoint down: exit normally with the offline answer."""
    from tests.reliability_helpers import run_cli

    stub.default = Reply.error(503)
    out = run_cli(
        ["ask", QUESTION, "--json"],
        indexed_assistant.settings.store_dir,
        OPENAI_API_KEY=KEY,
        OPENAI_BASE_URL=stub.base_url,
        OPENAI_MODEL="stub-model",
        ASSISTANT_LLM_DEADLINE=str(DEADLINE_S),
        ASSISTANT_LLM_TIMEOUT=str(TIMEOUT_S),
        ASSISTANT_LLM_RETRIES=str(RETRIES),
    )
    assert out.returncode == 0, out.stderr
    assert KEY not in out.stdout + out.stderr and "Traceback" not in out.stderr
    import json

    data = json.loads(out.stdout)
    assert data["answerer"] == "offline" and "7次" in data["answer"]
    assert "HTTP 503" in data["answer"]
