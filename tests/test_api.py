"""The HTTP API (`assistant serve`): the real app under uvicorn on 127.0.0.1, driven with the
official openai client and httpx, over the session's indexed sample corpus (offline answerer)."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest
from openai import OpenAI
from pydantic import SecretStr

from assistant.api import MODEL_ID, REVISED_HEADING, revision
from bench.load import ApiServer  # the FastAPI app under a real uvicorn on a free port
from tests.conftest import make_settings
from tests.openai_stub import OpenAIStub, Reply

pytestmark = pytest.mark.integration

DALIAN_DOC = "001_75dfd3e5621028d9"
DALIAN_Q = "大连建立了多少个网格？"
XUECHENG_Q = "薛城区怎样整顿软弱涣散党组织？"


def client_for(url: str, key: str = "not-needed") -> OpenAI:
    # trust_env=False: no proxy from the machine's environment for 127.0.0.1.
    http = openai.DefaultHttpxClient(trust_env=False)
    return OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=60, http_client=http)


def open_assistant(assistant, **settings):
    """The session's Assistant with these settings (same store, retriever, prompts)."""
    return dataclasses.replace(assistant, settings=assistant.settings.model_copy(update=settings))


@pytest.fixture(scope="module")
def api(indexed_assistant):
    with ApiServer(open_assistant(indexed_assistant, api_key=None)) as server:
        yield server


@pytest.fixture
def client(api) -> OpenAI:
    return client_for(api.url)


@pytest.fixture
def http(api):
    with httpx.Client(base_url=api.url, trust_env=False, timeout=60) as c:
        yield c


def chat(client: OpenAI, *messages: tuple[str, str], **kw):
    return client.chat.completions.create(
        model="gpt-4o-mini",  # any name: tools send their own
        messages=[{"role": role, "content": text} for role, text in messages],
        temperature=0.3,
        **kw,
    )


# ---- models and plain completions --------------------------------------------------------


def test_models_lists_one_model_naming_the_answerer(client):
    models = client.models.list().data
    assert [m.id for m in models] == [MODEL_ID]
    assert models[0].owned_by == "offline"
    assert "离线摘录" in models[0].model_extra["description"]


def test_completion_has_cited_answer_and_citations(client):
    resp = chat(client, ("user", DALIAN_Q))
    assert resp.object == "chat.completion"
    choice = resp.choices[0]
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    assert "6331" in choice.message.content
    extra = resp.model_extra
    assert extra["answerer"] == "offline" and extra["found"] is True
    assert extra["standalone_question"] == DALIAN_Q
    citations = extra["citations"]
    assert DALIAN_DOC in {c["doc_id"] for c in citations}
    first = citations[0]
    assert set(first) >= {"n", "doc_id", "title", "region", "section", "page", "quote"}
    assert first["n"] == 1 and first["page"] is None and first["quote"]
    # every [n] in the text points at a listed citation
    assert all(f"[{c['n']}]" in choice.message.content for c in citations)


def test_compare_mode_through_extra_body(client):
    resp = chat(client, ("user", "各地是如何建设党群服务中心的？"), extra_body={"mode": "compare"})
    assert resp.model_extra["mode"] == "compare"
    assert len({c["region"] for c in resp.model_extra["citations"]}) >= 2


# ---- streaming ---------------------------------------------------------------------------


def test_stream_relays_tokens_then_citations(client):
    plain = chat(client, ("user", DALIAN_Q)).choices[0].message.content
    chunks = list(chat(client, ("user", DALIAN_Q), stream=True))
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert "6331" in text
    final = chunks[-1]
    assert final.choices[0].finish_reason == "stop"
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])
    extra = final.model_extra
    assert DALIAN_DOC in {c["doc_id"] for c in extra["citations"]}
    assert extra["answerer"] == "offline" and extra["standalone_question"] == DALIAN_Q
    # the verified answer is the plain one, and what a delta-only client shows ends with it
    assert extra["answer"] == plain
    assert text.endswith(plain)


def test_stream_wire_format_ends_with_done(http):
    body = {"model": "x", "messages": [{"role": "user", "content": DALIAN_Q}], "stream": True}
    with http.stream("POST", "/v1/chat/completions", json=body) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        events = [line for line in resp.iter_lines() if line]
    assert all(e.startswith("data: ") for e in events)
    assert events[-1] == "data: [DONE]"
    final = json.loads(events[-2][len("data: ") :])
    assert final["choices"][0]["finish_reason"] == "stop" and final["citations"]


def test_revision_appends_only_what_the_stream_lacks():
    assert revision("abc", "abc") == ""
    assert revision("", "abc") == "abc"
    assert revision("ab", "abc") == "c"
    assert revision("x[3]", "x[1]") == REVISED_HEADING + "x[1]"


def test_llm_stream_relays_model_tokens_then_the_verified_text(indexed_assistant):
    with OpenAIStub() as stub:
        llm = open_assistant(
            indexed_assistant,
            api_key=None,
            openai_api_key=SecretStr("sk-test"),
            openai_base_url=stub.base_url,
            openai_model="stub-model",
            llm_deadline_s=20.0,
            llm_timeout_s=10.0,
            llm_retries=0,
        )
        with ApiServer(llm) as server:
            client = client_for(server.url)
            assert client.models.list().data[0].owned_by == "llm:stub-model"
            # the model cites passage [2]; the citation check renumbers it to [1]
            stub.push(Reply.ok("大连市全市已建立网格，成立网格党组织。[2]", chunk_chars=3))
            chunks = list(chat(client, ("user", DALIAN_Q), stream=True))
        prompt = json.dumps(stub.requests[-1]["json"]["messages"], ensure_ascii=False)
    deltas = [c.choices[0].delta.content for c in chunks if c.choices[0].delta.content]
    assert len(deltas) > 3  # the model's tokens, not one block at the end
    assert "".join(deltas).startswith("大连市全市已建立网格")
    extra = chunks[-1].model_extra
    assert extra["answerer"] == "llm:stub-model"
    assert extra["answer"].endswith("[1]") and [c["n"] for c in extra["citations"]] == [1]
    assert "".join(deltas).endswith(REVISED_HEADING + extra["answer"])
    assert extra["citations"][0]["quote"] in prompt  # the cited passage reached the model


# ---- follow-ups --------------------------------------------------------------------------


def test_follow_up_uses_history(client):
    first = chat(client, ("user", XUECHENG_Q))
    assert first.model_extra["standalone_question"] == XUECHENG_Q
    turns = [("user", XUECHENG_Q), ("assistant", first.choices[0].message.content)]
    second = chat(client, ("system", "你是助手"), *turns, ("user", "那大连呢？"))
    standalone = second.model_extra["standalone_question"]
    assert "大连" in standalone and "软弱涣散" in standalone
    assert {c["region"] for c in second.model_extra["citations"]} >= {"大连市"}
    # a chain of follow-ups keeps the topic: the client sends back only what was said
    turns += [("user", "那大连呢？"), ("assistant", second.choices[0].message.content)]
    third = chat(client, *turns, ("user", "那浮山县呢？"))
    standalone = third.model_extra["standalone_question"]
    assert "浮山" in standalone and "软弱涣散" in standalone


def test_content_parts_are_read_as_text(client):
    resp = client.chat.completions.create(
        model=MODEL_ID,
        messages=[{"role": "user", "content": [{"type": "text", "text": DALIAN_Q}]}],
    )
    assert "6331" in resp.choices[0].message.content


# ---- search ------------------------------------------------------------------------------


def test_search_returns_passages(http):
    resp = http.post("/v1/search", json={"query": "大连建立了多少个网格", "k": 3})
    assert resp.status_code == 200
    results = resp.json()["results"]
    assert 1 <= len(results) <= 3
    assert set(results[0]) == {
        "chunk_id",
        "doc_id",
        "title",
        "region",
        "section",
        "page",
        "score",
        "text",
    }
    assert any(r["doc_id"] == DALIAN_DOC and "6331" in r["text"] for r in results)


def test_search_filters_by_region(http):
    for regions in (["薛城区"], "薛城区"):
        resp = http.post("/v1/search", json={"query": "网格化管理", "k": 4, "regions": regions})
        results = resp.json()["results"]
        assert results and {r["region"] for r in results} == {"薛城区"}


# ---- errors ------------------------------------------------------------------------------


def _error(resp: httpx.Response, status: int) -> dict:
    assert resp.status_code == status, resp.text
    error = resp.json()["error"]
    assert set(error) >= {"message", "type", "code"}
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"])  # says it in Chinese
    return error


def test_bad_chat_requests_get_openai_errors(client, http):
    with pytest.raises(openai.BadRequestError) as exc:
        chat(client)  # no messages at all
    assert exc.value.body["code"] == "empty_messages"
    with pytest.raises(openai.BadRequestError) as exc:
        chat(client, ("system", "你是助手"))
    assert exc.value.body["code"] == "no_user_message"
    with pytest.raises(openai.BadRequestError) as exc:
        chat(client, ("user", "   "))
    assert exc.value.body["code"] == "empty_question"

    post = "/v1/chat/completions"
    headers = {"Content-Type": "application/json"}
    error = _error(http.post(post, content=b'{"messages": [', headers=headers), 400)
    assert error["code"] == "invalid_json" and "JSON" in error["message"]
    assert "messages" in _error(http.post(post, json={"model": "x"}), 400)["message"]
    assert _error(http.post(post, json=["not", "an", "object"]), 400)["type"] == (
        "invalid_request_error"
    )
    body = {"messages": [{"role": "user", "content": DALIAN_Q}], "mode": "nonsense"}
    assert "mode" in _error(http.post(post, json=body), 400)["message"]
    body = {"messages": [{"role": "user", "content": DALIAN_Q}], "k": 0}
    assert "k" in _error(http.post(post, json=body), 400)["message"]


def test_bad_search_and_unknown_paths(http):
    assert _error(http.post("/v1/search", json={"query": " "}), 400)["code"] == "empty_query"
    assert "query" in _error(http.post("/v1/search", json={"k": 3}), 400)["message"]
    assert _error(http.post("/v1/search", json={"query": "网格", "k": 99}), 400)
    assert "/v1/models" in _error(http.get("/v1/nothing"), 404)["message"]
    assert _error(http.get("/v1/chat/completions"), 405)


# ---- authentication ----------------------------------------------------------------------


def test_api_key_required_when_set(indexed_assistant, isolated_env, monkeypatch):
    key = "s3cret-api-key-for-tests"
    monkeypatch.setenv("ASSISTANT_API_KEY", key)
    settings = make_settings(Path(indexed_assistant.settings.store_dir).parent)
    assert settings.api_key is not None and key not in repr(settings)
    with ApiServer(dataclasses.replace(indexed_assistant, settings=settings)) as server:
        with pytest.raises(openai.AuthenticationError) as exc:
            client_for(server.url, "wrong-key").models.list()
        assert exc.value.body["code"] == "invalid_api_key"
        with pytest.raises(openai.AuthenticationError):
            chat(client_for(server.url, key + "x"), ("user", DALIAN_Q))
        with httpx.Client(base_url=server.url, trust_env=False, timeout=60) as http:
            error = _error(http.post("/v1/search", json={"query": "网格"}), 401)
            assert "ASSISTANT_API_KEY" in error["message"] and key not in error["message"]
            # no body is read before the key is checked
            resp = http.post(
                "/v1/chat/completions", content=b"{", headers={"Authorization": "Basic x"}
            )
            assert resp.status_code == 401
            assert http.get("/health").status_code == 200
        good = client_for(server.url, key)
        assert [m.id for m in good.models.list().data] == [MODEL_ID]
        assert "6331" in chat(good, ("user", DALIAN_Q)).choices[0].message.content


# ---- one Assistant, many requests at once ------------------------------------------------


def test_concurrent_requests_each_get_their_own_answer(client):
    questions = [DALIAN_Q, XUECHENG_Q] * 4
    expected = {q: chat(client, ("user", q)).choices[0].message.content for q in set(questions)}

    def ask(i_q):
        i, q = i_q
        if i % 2:
            chunks = list(chat(client, ("user", q), stream=True))
            return q, chunks[-1].model_extra["answer"]
        return q, chat(client, ("user", q)).choices[0].message.content

    with ThreadPoolExecutor(max_workers=4) as pool:
        for q, answer in pool.map(ask, enumerate(questions)):
            assert answer == expected[q]


# ---- the command line --------------------------------------------------------------------


def test_cli_stays_import_light():
    code = "import sys, assistant.cli; assistant.cli.build_parser(); print('fastapi' in sys.modules, 'uvicorn' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.split() == ["False", "False"]


def test_cli_serve_prints_url_and_serves(isolated_env):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "assistant", "serve", "--port", str(port)]
    proc = subprocess.Popen(
        cmd, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        line = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/v1" in line, line + proc.stderr.read()
        deadline = time.monotonic() + 60
        with httpx.Client(trust_env=False, timeout=5) as http:
            while True:
                try:
                    resp = http.get(f"http://127.0.0.1:{port}/v1/models")
                    break
                except httpx.TransportError:
                    assert proc.poll() is None, proc.stderr.read()
                    assert time.monotonic() < deadline
                    time.sleep(0.2)
        assert resp.json()["data"][0]["id"] == MODEL_ID
        # a second server on the same port is refused with a message, not a traceback
        busy = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert busy.returncode == 2 and "--port" in busy.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=30)
