"""Issue 5, the server mode: a real `chroma run`, the corpus indexed through the same ingest
code, the same top passages as the embedded store, and two app processes sharing it."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from assistant.service import Assistant
from tests.conftest import REPORTS_DIR, make_settings
from tests.reliability_helpers import REPORT_TEXT, AppProcess, run_cli
from tests.test_reliability_uploads import assert_store_consistent

pytestmark = pytest.mark.integration


@pytest.fixture
def server_env(chroma_server, seeded_cache):
    """Settings (as environment) for a fresh collection on the shared test server."""
    return {
        "CHROMA_HOST": "127.0.0.1",
        "CHROMA_PORT": str(chroma_server.port),
        "ASSISTANT_COLLECTION": "r" + uuid.uuid4().hex[:12],
    }


def _server_assistant(home, env) -> Assistant:
    return Assistant.from_settings(
        make_settings(
            home,
            chroma_host=env["CHROMA_HOST"],
            chroma_port=int(env["CHROMA_PORT"]),
            collection=env["ASSISTANT_COLLECTION"],
        )
    )


def test_server_mode_finds_the_same_passages_as_embedded(
    server_env, seeded_cache, isolated_env, indexed_assistant, eval_questions
):
    out = run_cli(["ingest", "--quiet", str(REPORTS_DIR)], seeded_cache, **server_env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("\tindexed") == 5

    status = json.loads(run_cli(["status", "--json"], seeded_cache, **server_env).stdout)
    assert status["store"]["mode"] == "server"
    assert status["documents"] == 5 and status["incomplete"] == []
    assert status["chunks"] == indexed_assistant.store.count()

    server = _server_assistant(isolated_env, server_env)
    assert_store_consistent(server)
    for q in eval_questions:
        got = [p.chunk.chunk_id for p in server.search(q["question"], k=5)]
        want = [p.chunk.chunk_id for p in indexed_assistant.search(q["question"], k=5)]
        assert got == want, q["question"]

    # And through the command itself, as a user runs it.
    for q in eval_questions[:3]:
        served = run_cli(["search", q["question"], "--json"], seeded_cache, **server_env)
        local = run_cli(["search", q["question"], "--json"], indexed_assistant.settings.store_dir)
        assert served.returncode == 0 and local.returncode == 0, served.stderr + local.stderr
        assert [h["chunk_id"] for h in json.loads(served.stdout)] == [
            h["chunk_id"] for h in json.loads(local.stdout)
        ]


def test_two_app_processes_see_each_others_reports(
    server_env, seeded_cache, isolated_env, tmp_path
):
    run_cli(["ingest", "--quiet", str(REPORTS_DIR)], seeded_cache, **server_env)
    here = _server_assistant(isolated_env, server_env)  # this process, its own BM25 cache
    other_home = tmp_path / "other"
    other_home.mkdir()
    other = AppProcess(other_home / "vectorstore", **server_env)  # its own BM25 cache too
    try:
        assert len(other.call(op="documents")) == 5

        first = tmp_path / "东风社区.txt"
        first.write_text(REPORT_TEXT, encoding="utf-8")
        added = other.call(op="ingest", path=str(first))
        assert added[0]["status"] == "indexed", added
        time.sleep(1.1)  # the retriever looks for changes at most once a second
        hits = here.search("东风社区认领了多少个微心愿", k=3)
        assert hits[0].chunk.doc_id == "东风社区"
        assert hits[0].bm25_rank is not None, "the keyword index was rebuilt from the server"

        second = here.ingest_upload("红旗社区.txt", REPORT_TEXT.replace("东风", "红旗").encode())
        assert second.status == "indexed"
        time.sleep(1.1)
        seen = other.call(op="search", q="红旗社区认领了多少个微心愿", k=3)
        assert seen[0]["doc_id"] == second.doc_id and seen[0]["bm25_rank"] is not None

        removed = here.remove("东风社区")
        assert removed
        time.sleep(1.1)
        assert "东风社区" not in other.call(op="documents")
        assert all(h["doc_id"] != "东风社区" for h in other.call(op="search", q="东风社区微心愿"))
        # One replica rebuilds the collection from scratch: the other keeps working.
        out = run_cli(["ingest", "--rebuild", "--quiet", str(first)], seeded_cache, **server_env)
        assert out.returncode == 0, out.stderr
        time.sleep(1.1)
        assert other.call(op="documents") == ["东风社区"]
        assert here.search("东风社区认领了多少个微心愿", k=3)[0].chunk.doc_id == "东风社区"
        third = here.ingest_upload("朝阳社区.txt", REPORT_TEXT.replace("东风", "朝阳").encode())
        assert third.status == "indexed"
        time.sleep(1.1)
        assert len(other.call(op="documents")) == 2
    finally:
        other.close()
    assert_store_consistent(here)
