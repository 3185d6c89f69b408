"""Issue 5, load: 32 concurrent sessions × 20 evaluation questions (with follow-ups) through
the one shared Assistant the app uses, offline, while an ingest runs (bench/load.py)."""

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
def test_concurrent_sessions_while_an_ingest_runs(seeded_cache, isolated_env, tmp_path):
    assistant = Assistant.from_settings(make_settings(isolated_env))
    assert all(r.ok for r in assistant.ingest_paths([REPORTS_DIR]))
    extra = tmp_path / "红星街道.txt"
    extra.write_text(load.extra_report(), encoding="utf-8")

    t = time.monotonic()
    result = load.benchmark(assistant, extra, SESSIONS, QUESTIONS)
    run, mismatches = result.pop("_run"), result.pop("_mismatches")
    print("\nload figures:", json.dumps(result, ensure_ascii=False, indent=2))
    assert time.monotonic() - t < 240

    assert run.errors == [], run.errors[:3]
    assert result["answers"] == SESSIONS * QUESTIONS
    assert mismatches == [], mismatches[:5]  # no cross-talk; same answers as alone
    ingest = run.ingest
    assert "error" not in ingest, ingest
    assert ingest["result"][0]["status"] == "indexed" and ingest["result"][0]["chunks"] > 3
    assert run.wall_s > ingest["seconds"] * 0.5, "the ingest overlapped the sessions"
    assert assistant.status()["incomplete"] == []

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
        tuple(scripts[0]): [
            load.Turn(scripts[0][0], "大连建立了多少个网格？", "qa", "A"),
            load.Turn(scripts[0][1], "薛城区建立了多少个网格？", "qa", "B"),
        ],
        tuple(scripts[1]): [
            load.Turn(scripts[1][0], "青山区社区用房多大？", "qa", "C"),
            load.Turn(scripts[1][1], "薛城区社区用房多大？", "qa", "D"),
        ],
    }
    crossed = load.LoadRun(
        turns=[
            alone[tuple(scripts[0])],
            [alone[tuple(scripts[1])][0], alone[tuple(scripts[0])][1]],
        ],
        wall_s=1.0,
    )
    problems = load.compare(crossed, [alone], scripts)
    assert len(problems) == 1 and "session 1 turn 1" in problems[0]
    clean = load.LoadRun(turns=[alone[tuple(s)] for s in scripts], wall_s=1.0)
    assert load.compare(clean, [alone], scripts) == []
