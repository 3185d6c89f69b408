"""Load: 32 concurrent sessions × 20 evaluation questions (with follow-ups) on the one shared
Assistant, a quarter of them through the HTTP API and the rest through the app's code path,
offline, while two reports are uploaded and one of them removed (bench/load.py)."""

from __future__ import annotations

import json
import time

import pytest

from assistant.catalog import short_name
from assistant.service import Assistant
from bench import load
from tests.conftest import REPORTS_DIR, make_settings

SESSIONS = 32
QUESTIONS = 20


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_concurrent_sessions_api_and_app_while_uploads_and_a_removal_happen(
    seeded_cache, isolated_env, tmp_path
):
    assistant = Assistant.from_settings(make_settings(isolated_env))
    assert all(r.ok for r in assistant.ingest_paths([REPORTS_DIR]))
    uploads = load.default_uploads()

    t = time.monotonic()
    result = load.benchmark(assistant, uploads, SESSIONS, QUESTIONS, api_every=4)
    run, mismatches = result.pop("_run"), result.pop("_mismatches")
    print("\nload figures:", json.dumps(result, ensure_ascii=False, indent=2))
    assert time.monotonic() - t < 400

    assert run.errors == [], run.errors[:3]
    assert result["answers"] == SESSIONS * QUESTIONS
    assert mismatches == [], mismatches[:5]  # no cross-talk; same answers as alone
    assert result["latency_ms_by_path"]["api"]["sessions"] == SESSIONS // 4
    changes = run.ingest
    assert "error" not in changes, changes
    actions = [(c["action"], c["status"]) for c in changes["result"]]
    assert actions == [("upload", "indexed"), ("upload", "indexed"), ("remove", "removed")]
    assert all(c["chunks"] > 3 for c in changes["result"][:2])
    assert run.wall_s > changes["seconds"] * 0.5, "the changes overlapped the sessions"
    assert assistant.status()["incomplete"] == []
    # The first upload stays, the second is gone (and its text with it).
    sources = {d["source"] for d in assistant.documents()}
    assert uploads[0][0] in sources and uploads[1][0] not in sources
    assert not any("青禾镇" in p.chunk.text for p in assistant.search("青禾镇网格党支部", k=10))

    # Follow-ups were rewritten from each session's own previous question.
    for turns in run.turns:
        for j, turn in enumerate(turns):
            if j % 4 == 3:
                region = next(
                    r for r in assistant.retriever.regions() if short_name(r) in turn.question
                )
                assert short_name(region) in turn.standalone, (turn.question, turn.standalone)
                assert turn.standalone != turn.question
    assert result["latency_ms"]["p95"] < 5000
    assert result["memory_mb"]["peak"] < 2048


@pytest.mark.unit
def test_the_comparison_catches_cross_talk():
    """The harness is not vacuous: a turn answered from another session's history is caught."""
    scripts = [["大连建立了多少个网格？", "那薛城呢？"], ["青山区社区用房多大？", "那薛城呢？"]]
    alone = {
        ("app", tuple(scripts[0])): [
            load.Turn(scripts[0][0], "大连建立了多少个网格？", "qa", "A"),
            load.Turn(scripts[0][1], "薛城区建立了多少个网格？", "qa", "B"),
        ],
        ("app", tuple(scripts[1])): [
            load.Turn(scripts[1][0], "青山区社区用房多大？", "qa", "C"),
            load.Turn(scripts[1][1], "薛城区社区用房多大？", "qa", "D"),
        ],
    }
    crossed = load.LoadRun(
        turns=[
            alone["app", tuple(scripts[0])],
            [alone["app", tuple(scripts[1])][0], alone["app", tuple(scripts[0])][1]],
        ],
        wall_s=1.0,
    )
    problems = load.compare(crossed, [alone], scripts)
    assert len(problems) == 1 and "session 1 (app) turn 1" in problems[0]
    clean = load.LoadRun(turns=[alone["app", tuple(s)] for s in scripts], wall_s=1.0)
    assert load.compare(clean, [alone], scripts) == []
    # The same script through the API is compared with API runs, not the app's.
    problems = load.compare(clean, [alone], scripts, ["api", "app"])
    assert len(problems) == 2 and all("session 0 (api)" in p for p in problems)
