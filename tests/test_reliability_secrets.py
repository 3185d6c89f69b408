"""Issue 5, secrets: with a dummy key set and every logger at DEBUG (OPENAI_LOG=debug too), a
failing LLM call leaves the key in no log line, message, export, or stored data."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from assistant.export import to_docx, to_markdown
from assistant.service import Assistant
from tests.conftest import REPORTS_DIR, make_settings
from tests.openai_stub import OpenAIStub, Reply
from tests.reliability_helpers import REPORT_TEXT, docx_text, run_cli

pytestmark = pytest.mark.integration

KEY = "sk-secret-DUMMY-b6d0e2f4a8c1937e5d"
FRAGMENTS = (KEY, KEY[3:], KEY[-16:])  # also no partial echo of it


def _no_key(text: str, where: str) -> None:
    for frag in FRAGMENTS:
        assert frag not in text, f"the key leaked into {where}"


def _no_key_in_tree(root: Path) -> None:
    for dirpath, _, files in os.walk(root):
        for f in files:
            data = (Path(dirpath) / f).read_bytes()
            for frag in FRAGMENTS:
                assert frag.encode() not in data, f"the key leaked into {Path(dirpath) / f}"


@pytest.fixture
def stub():
    with OpenAIStub() as server:
        # Worst case: a server echoing the key in its error text.
        server.default = Reply.error(401, message=f"Incorrect API key provided: {KEY}")
        yield server


def test_key_is_nowhere_after_a_failing_call(stub, seeded_cache, isolated_env, caplog, capfd):
    import openai

    caplog.set_level(logging.DEBUG)
    for name in ("openai", "httpx", "httpcore", "langchain", "assistant"):
        logging.getLogger(name).setLevel(logging.DEBUG)  # what OPENAI_LOG=debug does
    openai.log = "debug"
    settings = make_settings(
        isolated_env,
        openai_api_key=KEY,
        openai_base_url=stub.base_url,
        openai_model="stub-model",
        llm_deadline_s=4,
        llm_timeout_s=2,
        log_level="DEBUG",
    )
    assistant = Assistant.from_settings(settings)
    assistant.ingest_paths([REPORTS_DIR / "000_3076c0363e32bb05.txt"])
    upload = assistant.ingest_upload("东风社区.txt", REPORT_TEXT.encode("utf-8"))
    assert upload.status == "indexed"

    answer = assistant.ask("薛城区召开了几次党的建设工作领导小组会议？")
    assert answer.complete is False and "OPENAI_API_KEY" in answer.notice
    stream_tokens: list[str] = []
    streamed = assistant.ask("薛城区划分了多少个城市社区网格？", on_token=stream_tokens.append)
    compared = assistant.ask("各地如何建设党群服务中心？", mode="compare")
    assert len(stub.requests) >= 3

    out, err = capfd.readouterr()
    _no_key(out + err, "stdout/stderr")
    for record in caplog.records:
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        _no_key(text, f"log record {record.name}")
    for a in (answer, streamed, compared):
        _no_key(json.dumps(a.to_json(), ensure_ascii=False), "the answer JSON")
        _no_key(a.answer + a.notice + a.partial, "the answer")
        _no_key(to_markdown(a), "the Markdown export")
        _no_key(docx_text(to_docx(a)), "the Word export")
    _no_key("".join(stream_tokens), "the streamed tokens")
    _no_key(repr(settings) + str(settings.model_dump()), "the settings' repr")
    _no_key(json.dumps(assistant.status(), ensure_ascii=False), "status")
    _no_key(json.dumps(assistant.documents(), ensure_ascii=False), "documents")

    # Nothing stored carries it: Chroma's collections (metadata, documents), caches, uploads.
    for col in assistant.store.client.list_collections():
        got = col.get(include=["metadatas", "documents"])
        _no_key(
            json.dumps([got["metadatas"], got["documents"], col.metadata], default=str), col.name
        )
    _no_key_in_tree(isolated_env)


def test_key_is_nowhere_through_the_command(stub, seeded_cache, tmp_path, indexed_assistant):
    env = dict(
        OPENAI_API_KEY=KEY,
        OPENAI_BASE_URL=stub.base_url,
        OPENAI_MODEL="stub-model",
        OPENAI_LOG="debug",
        ASSISTANT_LOG_LEVEL="DEBUG",
        ASSISTANT_LLM_DEADLINE="4",
        ASSISTANT_LLM_TIMEOUT="2",
    )
    store = indexed_assistant.settings.store_dir
    for target in ("brief.md", "brief.docx"):
        out = run_cli(
            [
                "ask",
                "薛城区召开了几次党的建设工作领导小组会议？",
                "--export",
                str(tmp_path / target),
            ],
            store,
            **env,
        )
        assert out.returncode == 0, out.stderr
        assert "DEBUG" in out.stderr, "debug logging was on"
        _no_key(out.stdout + out.stderr, f"`assistant ask --export {target}` output")
    _no_key((tmp_path / "brief.md").read_text(encoding="utf-8"), "brief.md")
    _no_key(docx_text((tmp_path / "brief.docx").read_bytes()), "brief.docx")

    out = run_cli(["ingest", str(REPORTS_DIR / "002_99405c1be57e5253.txt")], seeded_cache, **env)
    assert out.returncode == 0, out.stderr
    _no_key(out.stdout + out.stderr, "`assistant ingest` output")
    out = run_cli(["status", "--json"], seeded_cache, **env)
    _no_key(out.stdout + out.stderr, "`assistant status` output")
    _no_key_in_tree(seeded_cache)
