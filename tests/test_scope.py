"""Scoped questions: search, chat and comparison limited to chosen reports, regions, kinds
and years, on the real sample library; an empty scope says so instead of searching."""

from __future__ import annotations

import json

import pytest

from assistant.scope import Scope
from tests.conftest import REPORTS_DIR
from tests.reliability_helpers import run_cli

pytestmark = pytest.mark.integration

QUESTION = "怎样整顿软弱涣散党组织？"


def _docs(a) -> dict[str, dict]:
    return {d["doc_id"]: d for d in a.documents()}


def test_chat_limited_to_chosen_reports(indexed_assistant):
    a = indexed_assistant
    docs = _docs(a)
    chosen = sorted(docs)[:2]
    ans = a.ask(QUESTION, scope=Scope.of(doc_ids=chosen), mode="qa")
    assert ans.retrieved and {p.chunk.doc_id for p in ans.retrieved} <= set(chosen)
    assert {c.doc_id for c in ans.citations} <= set(chosen)
    unscoped = a.ask(QUESTION, mode="qa")
    assert {p.chunk.doc_id for p in unscoped.retrieved} - set(chosen), "the scope narrowed it"


def test_kind_scope_and_comparison_within_it(indexed_assistant):
    a = indexed_assistant
    docs = _docs(a)
    kind = "报道"
    of_kind = {d for d, m in docs.items() if m["kind"] == kind}
    assert len(of_kind) >= 2
    ans = a.ask("各地网格化党建有哪些做法？", scope=Scope.of(kinds=[kind]), mode="compare")
    assert ans.mode == "compare"
    assert {p.chunk.doc_id for p in ans.retrieved} <= of_kind
    assert {r.region for r in ans.regions} == {docs[d]["region"] for d in of_kind}


def test_empty_scope_says_so_and_searches_nothing(indexed_assistant):
    a = indexed_assistant
    ans = a.ask(QUESTION, scope=Scope.of(kinds=["不存在的类型"], years=[1999]))
    assert ans.failure == "empty_scope" and not ans.found and ans.retrieved == []
    assert (
        "没有符合所选范围" in ans.answer and "不存在的类型" in ans.answer and "1999" in ans.answer
    )
    assert a.search(QUESTION, scope=Scope.of(doc_ids=["no_such_doc"])) == []
    # A region with no report is an empty scope too, not another region's passages.
    other = a.ask(QUESTION, regions=["海淀区"])
    assert other.failure == "empty_scope" and other.citations == []


def test_cli_and_api_take_the_scope(indexed_assistant, seeded_cache):
    a = indexed_assistant
    chosen = sorted(_docs(a))[0]
    out = run_cli(["ingest", "--quiet", str(REPORTS_DIR)], seeded_cache, timeout=300)
    assert out.returncode == 0, out.stderr
    out = run_cli(["search", QUESTION, "--doc", chosen, "--json"], seeded_cache)
    assert out.returncode == 0, out.stderr
    results = json.loads(out.stdout)
    assert results and {r["doc_id"] for r in results} == {chosen}
    out = run_cli(["ask", QUESTION, "--kind", "不存在的类型", "--json"], seeded_cache)
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body["found"] is False and "没有符合所选范围" in body["answer"]
    out = run_cli(["ask", QUESTION, "--year", "23"], seeded_cache)
    assert out.returncode != 0 and "四位年份" in out.stderr

    from fastapi.testclient import TestClient

    from assistant.api import create_app

    client = TestClient(create_app(a))
    r = client.post(
        "/v1/chat/completions",
        json={"messages": [{"role": "user", "content": QUESTION}], "doc_ids": [chosen]},
    )
    assert r.status_code == 200, r.text
    assert {c["doc_id"] for c in r.json()["citations"]} <= {chosen}
    r = client.post("/v1/search", json={"query": QUESTION, "kinds": ["不存在的类型"]})
    assert r.status_code == 200 and r.json()["results"] == [] and r.json()["notice"]
