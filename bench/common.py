"""What every benchmark needs: the machine, percentiles, settings in a scratch folder, and
child processes that report JSON (for clean process state and peak-memory figures)."""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
EVAL_FILE = ROOT / "data" / "eval" / "questions.jsonl"
REPORTS_DIR = ROOT / "data" / "reports"


def machine() -> dict[str, Any]:
    """Cores and CPU model (from /proc/cpuinfo), memory and Python: stamped on every figure."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": model or "unknown",
        "memory_gb": mem_gb,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100); None for no values."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def p50_p95(values: Sequence[float]) -> dict[str, float | None]:
    return {"p50": _r(percentile(values, 50)), "p95": _r(percentile(values, 95)), "n": len(values)}


def median_of(rounds: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Median across repeated runs of each numeric field (nested dicts too)."""
    if not rounds:
        return {}
    out: dict[str, Any] = {}
    for key, first in rounds[0].items():
        vals = [r.get(key) for r in rounds]
        if isinstance(first, dict):
            out[key] = median_of([v for v in vals if isinstance(v, dict)])
        elif isinstance(first, (int, float)) and not isinstance(first, bool):
            nums = [v for v in vals if isinstance(v, (int, float))]
            med = statistics.median(nums) if nums else None
            if med is not None and all(isinstance(v, int) for v in nums) and med == int(med):
                out[key] = int(med)
            else:
                out[key] = _r(med)
        else:
            out[key] = first
    return out


def _r(x: float | None, nd: int = 3) -> float | None:
    return None if x is None else round(float(x), nd)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


def bench_settings(store_dir: Path, **overrides):
    """Settings for a scratch store: no LLM, no server, no .env, project prompts."""
    from assistant.settings import explicit_settings

    values: dict[str, Any] = dict(
        reports_dir=REPORTS_DIR,
        store_dir=store_dir,
        upload_dir=store_dir / "uploads",
        prompts_dir=ROOT / "prompts",
    )
    return explicit_settings(**{**values, **overrides})


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child process: no configured LLM or server leaks in, nor the
    OpenMP settings this process's own model load put into os.environ."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ASSISTANT_", "OPENAI_", "CHROMA_", "OMP_"))
    }
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def run_child(
    args: Sequence[str], env: dict[str, str] | None = None, timeout: float = 1800
) -> dict:
    """Run `python ARGS` in a fresh process; its last stdout line is a JSON object."""
    OUT.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        env=env or child_env(),
        cwd=str(OUT),
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"child {' '.join(args)} failed ({proc.returncode}): {proc.stderr[-2000:]}"
        )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def du(path: Path) -> int:
    """Bytes on disk under a folder (allocated blocks, so sparse files count as stored)."""
    total = 0
    for p in Path(path).rglob("*"):
        try:
            if p.is_file() and not p.is_symlink():
                total += p.stat().st_blocks * 512
        except OSError:
            pass
    return total


def fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def peak_rss_mb() -> float:
    """This process's peak resident set size so far (Linux reports KiB)."""
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def forget_queries(embeddings) -> None:
    """Empty the query-vector LRU so each timed query really runs the model.

    Bench-only: CachedEmbeddings has no public method for this (suggested upstream).
    """
    queries = getattr(embeddings, "_queries", None)
    if queries is not None:
        with embeddings._qlock:
            queries.clear()
