"""Keyword index: adding one report to a big library, incremental update vs full rebuild.

Chunks are recombined sentences of the sample reports (as bench/scale.py makes them, without
vectors: BM25 needs none). In one process: a full build of N chunks; then one report of
CHUNKS_PER_DOC chunks is added both ways, by `KeywordIndex.update` (what the retriever does
when the store's generation moves) and by a full `KeywordIndex.build` of N + that report, and
the two are checked to rank the same chunks with the same scores and to hold the same
bigram statistics (the offline answerer's evidence weights, updated alongside). Save and load of the
snapshot are timed too: a new process starts from the saved one.

    python -m bench.keyword_update --sizes 10000,100000
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import OUT
from bench.scale import CHUNKS_PER_DOC, invented_regions, real_region_names, sentence_pool

QUERIES = ("软弱涣散党组织整顿", "网格化管理 党员", "志愿服务 群众", "党群服务中心建设")


def _substitute(sentence: str, real: list[str], region: str) -> str:
    for name in real:
        if name in sentence:
            sentence = sentence.replace(name, region)
    return sentence


def make_chunks(n: int, first_doc: int = 0, seed: int = 5) -> list:
    from assistant.types import Chunk

    pool, real = sentence_pool(), real_region_names()
    regions = invented_regions(max(2, n // (CHUNKS_PER_DOC * 10)) + 1)
    rng = random.Random(seed + first_doc)
    chunks = []
    d = first_doc
    while len(chunks) < n:
        region = regions[d % len(regions)]
        doc_id = f"syn_{d:06d}"
        for i in range(min(CHUNKS_PER_DOC, n - len(chunks))):
            picks = [pool[rng.randrange(len(pool))] for _ in range(rng.randint(1, 4))]
            text = "".join(_substitute(s, real, region) for s in picks)
            chunks.append(Chunk(f"c{i:04d}", doc_id, text, region, doc_id, "", i, i, i + 1))
        d += 1
    return chunks


def _versions(chunks) -> dict[str, str]:
    return {c.doc_id: "1" for c in chunks}


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def measure(n: int) -> dict[str, Any]:
    from assistant.keyword import KeywordIndex
    from assistant.wordseg import default_segmenter

    base_chunks = make_chunks(n)
    n_docs = len({c.doc_id for c in base_chunks})
    new = make_chunks(CHUNKS_PER_DOC, first_doc=n_docs)
    new_doc = new[0].doc_id
    seg = default_segmenter()
    build_s, base = _timed(
        lambda: KeywordIndex.build(base_chunks, seg, "g1", _versions(base_chunks))
    )
    stats_s, _ = _timed(base.gram_stats)  # a running app has them before the upload
    versions = {**_versions(base_chunks), new_doc: "1"}
    update_s, inc = _timed(lambda: base.update(versions, {new_doc: new}, seg, "g2"))
    rebuild_s, full = _timed(
        lambda: KeywordIndex.build(base_chunks + new, default_segmenter(), "g2", versions)
    )
    same = all(
        [(c.doc_id, c.chunk_id, s) for c, s in inc.search(q, seg, k=20)]
        == [(c.doc_id, c.chunk_id, s) for c, s in full.search(q, seg, k=20)]
        for q in QUERIES
    )
    stats_update_s, inc_stats = _timed(inc.gram_stats)  # the first offline answer after it
    same_stats = dict(inc_stats.df) == dict(full.gram_stats().df)
    with tempfile.TemporaryDirectory(dir=OUT) as tmp:
        folder = Path(tmp) / "bm25"
        save_s, _ = _timed(lambda: inc.save(folder))
        load_s, loaded = _timed(lambda: KeywordIndex.load(folder, "g2"))
    assert loaded is not None and len(loaded) == len(inc)
    return {
        "chunks": n,
        "added_chunks": len(new),
        "full_build_s": round(build_s, 2),
        "incremental_update_s": round(update_s, 3),
        "full_rebuild_s": round(rebuild_s, 2),
        "rebuild_over_update": round(rebuild_s / update_s, 1),
        "same_results_as_rebuild": same,
        "bigram_stats_full_s": round(stats_s, 2),
        "same_bigram_stats_as_rebuild": same_stats,
        "bigram_stats_update_s": round(stats_update_s, 2),
        "save_s_in_background": round(save_s, 2),
        "load_s": round(load_s, 2),
        "searchable_after_s": round(update_s, 2),
    }


def run(sizes: list[int]) -> dict[str, Any]:
    OUT.mkdir(parents=True, exist_ok=True)
    out = {}
    for n in sizes:
        out[str(n)] = measure(n)
        print(json.dumps({n: out[str(n)]}, ensure_ascii=False), flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.keyword_update")
    p.add_argument("--sizes", default="10000")
    args = p.parse_args(argv)
    run([int(x) for x in args.sizes.split(",") if x.strip()])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
