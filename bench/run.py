"""`make bench`: every benchmark in order, results merged into bench/results.json (a section
not run keeps its last figures), and docs/benchmarks.md regenerated.

    python -m bench.run                         # all sections; scale at 10k chunks
    BENCH_SCALE=10000,100000 python -m bench.run  # also 100k (about 10 more minutes)
    BENCH_STORE_WRITE=10000,100000 python -m bench.run --only store_write  # ~30 min more
    BENCH_KEYWORD_UPDATE=10000,100000 python -m bench.run --only keyword_update  # ~4 min
    python -m bench.run --only latency,quality --repeats 5
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from bench import report
from bench.common import EVAL_FILE, OUT, ROOT, machine

RESULTS = ROOT / "bench" / "results.json"
NOTES = ROOT / "bench" / "notes.md"
SECTIONS = (
    "ingest",
    "quality",
    "latency",
    "coldstart",
    "threads",
    "scale",
    "store_write",
    "keyword_update",
)


def quality(store: Path) -> dict[str, Any]:
    from assistant.baseline import BaselineRAG
    from assistant.evaluation import evaluate, load_questions
    from bench.latency import open_store

    a = open_store(store)
    questions = load_questions(EVAL_FILE)
    with BaselineRAG.for_assistant(a) as baseline:
        rep = evaluate(a, questions, baseline=baseline, source=str(EVAL_FILE.relative_to(ROOT)))
    data = rep.to_json()
    data.pop("per_question")
    data["questions_n"] = len(questions)
    return data


def run_section(name: str, args: argparse.Namespace, store: Path) -> dict[str, Any]:
    if name == "ingest":
        from bench import ingest

        return ingest.run(repeats=args.repeats, keep_store=store)
    if name == "quality":
        return quality(store)
    if name == "latency":
        from bench import latency

        return latency.run(store, rounds=args.repeats)
    if name == "coldstart":
        from bench import coldstart
        from bench.latency import open_store

        open_store(store)  # indexed before the timed processes start
        return coldstart.run(store, repeats=args.repeats)
    if name == "threads":
        from bench import threads

        return threads.run(repeats=args.repeats)
    if name == "scale":
        from bench import scale

        sizes = [int(x) for x in args.scale.split(",") if x.strip()]
        return scale.run(sizes, rounds=args.repeats)
    if name == "store_write":
        from bench import store_write

        sizes = [int(x) for x in args.store_write.split(",") if x.strip()]
        return store_write.run(sizes)
    if name == "keyword_update":
        from bench import keyword_update

        sizes = [int(x) for x in args.keyword_update.split(",") if x.strip()]
        return keyword_update.run(sizes)
    raise ValueError(name)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.run")
    p.add_argument("--only", default="", help="comma-separated sections: " + ",".join(SECTIONS))
    p.add_argument("--skip", default="", help="comma-separated sections to leave out")
    p.add_argument("--scale", default=os.environ.get("BENCH_SCALE", "10000"))
    p.add_argument(
        "--store-write",
        default=os.environ.get("BENCH_STORE_WRITE", "10000"),
        help="library sizes (chunks) of the store_write section",
    )
    p.add_argument(
        "--keyword-update",
        default=os.environ.get("BENCH_KEYWORD_UPDATE", "10000"),
        help="library sizes (chunks) of the keyword_update section (one report added)",
    )
    p.add_argument("--repeats", type=int, default=int(os.environ.get("BENCH_REPEATS", "3")))
    p.add_argument("--report-only", action="store_true", help="only rewrite docs/benchmarks.md")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("bm25s").setLevel(logging.WARNING)

    results: dict[str, Any] = {"sections": {}}
    if RESULTS.exists():
        results = json.loads(RESULTS.read_text(encoding="utf-8"))
    chosen = [s for s in (args.only.split(",") if args.only else SECTIONS) if s]
    chosen = [s for s in chosen if s not in args.skip.split(",")]
    unknown = set(chosen) - set(SECTIONS)
    if unknown:
        p.error(f"unknown sections: {', '.join(sorted(unknown))}")
    store = OUT / "store"
    OUT.mkdir(parents=True, exist_ok=True)
    for name in [] if args.report_only else [s for s in SECTIONS if s in chosen]:
        print(f"bench: {name} …", flush=True)
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        data = run_section(name, args, store)
        old = results["sections"].get(name, {}).get("results", {})
        if name == "scale" and "sizes" in old:  # sizes not run this time keep their figures
            data["sizes"] = {**old["sizes"], **data["sizes"]}
        if name in (
            "store_write",
            "keyword_update",
        ):  # likewise: sizes not run this time keep their figures
            data = {**old, **data}
        results["sections"][name] = {
            "machine": machine(),
            "when": time.strftime("%Y-%m-%d %H:%M"),
            "load_before": round(load, 2),
            "repeats": args.repeats,
            "seconds": round(time.perf_counter() - t0, 1),
            "results": data,
        }
        results["machine"] = machine()
        RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", "utf-8")
        print(f"bench: {name} done in {time.perf_counter() - t0:.0f} s", flush=True)
    notes = NOTES.read_text(encoding="utf-8") if NOTES.exists() else ""
    report.write(results, notes)
    print(f"bench: wrote {RESULTS.relative_to(ROOT)} and {report.DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
