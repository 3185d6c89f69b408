"""Query latency over the evaluation questions, split by stage, for our pipeline and the
plain LangChain baseline, measured in the same process and run."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench.common import EVAL_FILE, REPORTS_DIR, bench_settings, forget_queries, median_of, p50_p95

STAGES = ("embed_ms", "dense_ms", "bm25_ms", "fuse_ms")


class StageTimer:
    """Adds up HybridRetriever's stage times over every search of one request (compare mode
    searches once per region). Wraps the instance's `_search` (bench only)."""

    def __init__(self, retriever) -> None:
        self.totals = dict.fromkeys(STAGES, 0.0)
        self.calls = 0
        inner = retriever._search

        def wrapped(state, query, k, regions, doc_ids, timings=None):
            local: dict[str, float] = {}
            out = inner(state, query, k, regions, doc_ids, local)
            for key in STAGES:
                self.totals[key] += local.get(key, 0.0)
            if timings is not None:
                for key, value in local.items():
                    timings[key] = timings.get(key, 0.0) + value
            self.calls += 1
            return out

        retriever._search = wrapped

    def reset(self) -> None:
        self.totals = dict.fromkeys(STAGES, 0.0)
        self.calls = 0


def open_store(store_dir: Path):
    """An Assistant over `store_dir`, indexed from the sample corpus if needed."""
    from assistant.service import Assistant

    a = Assistant.from_settings(bench_settings(store_dir))
    results = a.ingest_paths([REPORTS_DIR])
    assert all(r.ok for r in results), [r.line() for r in results]
    return a


def run(store_dir: Path, rounds: int = 3) -> dict[str, Any]:
    from assistant.baseline import BaselineRAG
    from assistant.evaluation import load_questions

    a = open_store(store_dir)
    emb = a.store.embeddings
    model = emb.base
    questions = [q.question for q in load_questions(EVAL_FILE)]
    k = a.settings.top_k
    baseline = BaselineRAG.for_assistant(a)
    timer = StageTimer(a.retriever)
    try:
        for q in questions:  # warm-up: model, jieba, prompt files, Chroma pages
            a.ask(q, offline=True)
            baseline.answer(q, k)
        per_round = []
        for _ in range(rounds):
            samples: dict[str, list[float]] = {}

            def add(key: str, ms: float, samples=samples) -> None:
                samples.setdefault(key, []).append(ms)

            def embed_alone(q: str, add=add) -> None:
                t0 = time.perf_counter()
                model.embed_query(q)
                add("query_embedding_alone", (time.perf_counter() - t0) * 1000)

            def search(q: str, add=add) -> None:
                forget_queries(emb)
                stages: dict[str, float] = {}
                t0 = time.perf_counter()
                a.retriever.search(q, k=k, timings=stages)
                add("search_total", (time.perf_counter() - t0) * 1000)
                for key in STAGES:
                    add("search_" + key, stages.get(key, 0.0))

            def ask(q: str, add=add) -> None:
                forget_queries(emb)
                timer.reset()
                t0 = time.perf_counter()
                ans = a.ask(q, offline=True)
                total = (time.perf_counter() - t0) * 1000
                add("answer_total", total)
                add(f"answer_total_{ans.mode}", total)
                add("answer_stage", ans.timings_ms.get("answer", 0.0))
                add("answer_retrieve", ans.timings_ms.get("retrieve", 0.0))
                add("answer_searches", timer.calls)
                for key in STAGES:
                    add("answer_" + key, timer.totals[key])

            def base(q: str, add=add) -> None:
                forget_queries(emb)
                t0 = time.perf_counter()
                baseline.answer(q, k)
                add("baseline_total", (time.perf_counter() - t0) * 1000)
                add("baseline_embed_ms", baseline.last_timings["embed_ms"])
                add("baseline_dense_ms", baseline.last_timings["dense_ms"])
                add("baseline_answer_ms", baseline.last_timings["answer_ms"])

            steps = [embed_alone, search, ask, base]
            for i, q in enumerate(questions):
                # Rotate the order so no side always runs first (or right after the model).
                for step in steps[i % 4 :] + steps[: i % 4]:
                    step(q)
            per_round.append({key: p50_p95(vals) for key, vals in samples.items()})
    finally:
        baseline.close()
    med = median_of(per_round)
    embed = med["query_embedding_alone"]["p50"]
    return {
        "questions": len(questions),
        "k": k,
        "rounds": rounds,
        "stages": med,
        "retrieval_over_embedding_p50": round(med["search_total"]["p50"] / embed, 3),
        "answer_over_baseline_p50": round(
            med["answer_total"]["p50"] / med["baseline_total"]["p50"], 3
        ),
        "search_over_baseline_p50": round(
            med["search_total"]["p50"] / med["baseline_total"]["p50"], 3
        ),
    }
