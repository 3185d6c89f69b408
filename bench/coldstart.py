"""Cold start: seconds from process start to the first answer, for `assistant ask` and for
the Streamlit app in the browser-less AppTest harness (store already indexed, no LLM)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import OUT, ROOT, child_env, median_of

QUESTION = "大连全市建立了多少个网格？"
EXPECT = "6331"
APP = ROOT / "ui" / "app.py"


def cli_once(store_dir: Path) -> dict[str, float]:
    env = child_env(ASSISTANT_STORE_DIR=str(store_dir))
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "assistant", "ask", QUESTION, "--offline"],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(OUT),
        timeout=600,
    )
    seconds = time.perf_counter() - t0
    if proc.returncode != 0 or EXPECT not in proc.stdout:
        raise RuntimeError(f"assistant ask failed ({proc.returncode}): {proc.stderr[-500:]}")
    return {"seconds": seconds}


def apptest_child() -> dict[str, Any]:
    """Runs in the child: open the app, ask once, report wall-clock marks."""
    marks = {"imported": time.time()}
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=600)
    at.run()
    if at.exception:
        raise RuntimeError(f"app raised: {[e.value for e in at.exception]}")
    marks["app_ready"] = time.time()
    at.chat_input[0].set_value(QUESTION).run()
    if at.exception:
        raise RuntimeError(f"app raised: {[e.value for e in at.exception]}")
    shown = json.dumps([str(m.value) for m in at.chat_message[-1].markdown], ensure_ascii=False)
    if EXPECT not in shown:
        raise RuntimeError("the answer did not show the expected figure")
    marks["answered"] = time.time()
    return marks


def apptest_once(store_dir: Path) -> dict[str, float]:
    env = child_env(ASSISTANT_STORE_DIR=str(store_dir), ASSISTANT_OFFLINE="1")
    start = time.time()
    proc = subprocess.run(
        [sys.executable, "-m", "bench.coldstart", "apptest"],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(OUT),
        timeout=900,
    )
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-800:])
    marks = json.loads(proc.stdout.strip().splitlines()[-1])
    return {
        "seconds": marks["answered"] - start,
        "to_app_ready_s": marks["app_ready"] - start,
        "question_to_answer_s": marks["answered"] - marks["app_ready"],
    }


def run(store_dir: Path, repeats: int = 3) -> dict[str, Any]:
    out: dict[str, Any] = {"question": QUESTION, "repeats": repeats}
    out["cli_ask"] = median_of([cli_once(store_dir) for _ in range(repeats)])
    if not APP.exists():
        out["apptest"] = {"pending": "ui/app.py is not there yet"}
        return out
    try:
        out["apptest"] = median_of([apptest_once(store_dir) for _ in range(repeats)])
    except Exception as exc:  # the UI is another module's work; report, don't crash the bench
        out["apptest"] = {"pending": f"AppTest run failed: {str(exc)[-300:]}"}
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("step", choices=["apptest"])
    p.parse_args()
    print(json.dumps(apptest_child()))


if __name__ == "__main__":
    main()
