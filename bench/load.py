"""Load: concurrent chat sessions on one shared Assistant (as the app shares it), some through
the app's code path (`Assistant.ask`) and some through the HTTP API (`assistant serve`'s app
under a real uvicorn on 127.0.0.1), while reports are uploaded and one is removed. Each
session asks the evaluation questions with follow-ups and keeps its own history.

Checks: no errors, no cross-talk (every session's answers and rewritten follow-ups are what
the same script gives run alone, on the same path, in one of the library states the uploads
and the removal pass through), p50/p95 latency, peak memory.

    python -m bench.load                      # 32 sessions x 20 questions, writes bench/load_results.json
    python -m bench.load --sessions 8 --questions 10 --api-every 2 --out /tmp/load.json

The tests (tests/test_reliability_load.py) run the same `run_load` and assert on it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EVAL_FILE = ROOT / "data" / "eval" / "questions.jsonl"
RESULTS = ROOT / "bench" / "load_results.json"

FOLLOW_UPS = ("那{r}呢？", "{r}呢？", "{r}的情况怎么样？")
# A report that is not in the corpus, ingested while the sessions ask (embedded for real).
_TOPICS = [
    ("网格化治理", "全街道划分网格{a}个，配备专职网格员{b}名，建立网格党支部{c}个"),
    (
        "吹哨报到",
        "驻区单位党组织与社区签订共建协议{a}份，在职党员到社区报到{b}名，认领服务项目{c}个",
    ),
    ("阵地建设", "建成社区党群服务站{a}个，服务面积合计达到{b}平方米，全年开展志愿服务活动{c}场次"),
    ("头雁培育", "选派年轻干部到社区任职{a}名，培训社区党组织书记{b}人次，后备干部储备{c}名"),
    ("红色物业", "推动{a}个小区成立业委会党支部，物业企业党组织覆盖率达到{b}%，化解矛盾纠纷{c}件"),
    ("两新党建", "新组建非公企业党组织{a}个，选派党建指导员{b}名，发展新业态党员{c}名"),
]


def extra_report(paragraphs: int = 18, place: str = "红星街道", seed: int = 0) -> str:
    """A report not in the corpus (红星街道's by default): new text, so the concurrent
    ingest embeds for real."""
    parts = [f"{place}“红色引擎”工作纪实"]
    for i in range(paragraphs):
        topic, figures_ = _TOPICS[(i + seed) % len(_TOPICS)]
        numbers = figures_.format(a=11 + 7 * i + seed, b=130 + 13 * i + seed, c=21 + 5 * i)
        parts.append(
            f"在{topic}方面，{place}第{i + 1}网格片区坚持以党建引领基层治理，{numbers}。"
            f"片区党组织每月召开一次联席会议，研究解决群众反映的第{i + 1}批急难愁盼问题，"
            f"做到件件有回音、事事有着落，群众满意率逐年提升。"
        )
    return "\n\n".join(parts)


def load_questions(path: Path = EVAL_FILE) -> list[str]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line)["question"] for line in fh if line.strip()]


def build_scripts(
    questions: list[str], regions: list[str], sessions: int, per_session: int
) -> list[list[str]]:
    """Each session a different order of the evaluation questions; every fourth turn a
    follow-up naming another region (which only makes sense with that session's history)."""
    scripts = []
    for s in range(sessions):
        script = []
        for t in range(per_session):
            if t % 4 == 3:
                region = regions[(s + t) % len(regions)]
                script.append(FOLLOW_UPS[(s + t) % len(FOLLOW_UPS)].format(r=region))
            else:
                script.append(questions[(s * 5 + t * 7) % len(questions)])
        scripts.append(script)
    return scripts


@dataclass
class Turn:
    question: str
    standalone: str = ""
    mode: str = ""
    answer: str = ""
    citations: tuple[str, ...] = ()
    latency_s: float = 0.0
    error: str = ""

    def key(self) -> tuple:
        """What must be identical to a run of the same script alone."""
        return (self.question, self.standalone, self.mode, self.answer, self.citations)


class ApiSession:
    """A client of the HTTP API asking like `Assistant.ask`: it sends the conversation so far
    as OpenAI messages (only what was said, as a real client does) and reads the answer's
    fields from the response."""

    def __init__(self, base_url: str) -> None:
        import httpx

        self.http = httpx.Client(base_url=base_url, timeout=120, trust_env=False)

    def ask(self, question: str, *, history: list[dict], offline: bool = True) -> Any:
        from types import SimpleNamespace

        messages = [{"role": h["role"], "content": h["content"]} for h in history]
        messages.append({"role": "user", "content": question})
        r = self.http.post("/v1/chat/completions", json={"model": "x", "messages": messages})
        if r.status_code != 200:
            raise RuntimeError(f"HTTP {r.status_code}: {r.text[:300]}")
        body = r.json()
        return SimpleNamespace(
            standalone_question=body["standalone_question"],
            mode=body["mode"],
            answer=body["choices"][0]["message"]["content"],
            citations=[SimpleNamespace(chunk_id=c["chunk_id"]) for c in body["citations"]],
        )

    def close(self) -> None:
        self.http.close()


class ApiServer:
    """The API app over `assistant` under a real uvicorn server on a free loopback port."""

    def __init__(self, assistant: Any) -> None:
        import socket

        import uvicorn

        from assistant.api import create_app

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(create_app(assistant), log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> ApiServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


def run_script(assistant: Any, script: list[str], ask_kwargs: dict | None = None) -> list[Turn]:
    """One chat session: its own history, follow-ups rewritten from it (as the chat page does)."""
    history: list[dict] = []
    turns: list[Turn] = []
    for question in script:
        turn = Turn(question)
        t = time.perf_counter()
        try:
            answer = assistant.ask(question, history=history, offline=True, **(ask_kwargs or {}))
        except Exception as exc:  # counted and reported, never hidden
            turn.error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
            answer = None
        turn.latency_s = time.perf_counter() - t
        if answer is not None:
            turn.standalone = answer.standalone_question
            turn.mode = answer.mode
            turn.answer = answer.answer
            turn.citations = tuple(c.chunk_id for c in answer.citations)
            history += [
                {
                    "role": "user",
                    "content": question,
                    "standalone_question": answer.standalone_question,
                },
                {"role": "assistant", "content": answer.answer},
            ]
        turns.append(turn)
    return turns


class MemorySampler:
    """Peak resident memory of this process while running (VmRSS sampled; VmHWM as a check)."""

    def __init__(self, interval_s: float = 0.02) -> None:
        self.interval_s = interval_s
        self.start_mb = _rss_mb()
        self.peak_mb = self.start_mb
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.peak_mb = max(self.peak_mb, _rss_mb())

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, _rss_mb())


def _rss_mb(field_name: str = "VmRSS") -> float:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class LoadRun:
    turns: list[list[Turn]]
    wall_s: float
    ingest: dict[str, Any] = field(default_factory=dict)
    memory_start_mb: float = 0.0
    memory_peak_mb: float = 0.0

    @property
    def latencies(self) -> list[float]:
        return [t.latency_s for session in self.turns for t in session]

    @property
    def errors(self) -> list[str]:
        return [t.error for session in self.turns for t in session if t.error]


def run_load(
    assistant: Any,
    scripts: list[list[str]],
    during: Callable[[], Any] | None = None,
    askers: list[Any] | None = None,
) -> LoadRun:
    """All scripts on their own threads at once (plus `during`, e.g. an ingest, on another).
    Session i asks through `askers[i]` (the Assistant itself, or an ApiSession)."""
    results: list[list[Turn] | None] = [None] * len(scripts)
    ingest: dict[str, Any] = {}
    start = threading.Barrier(len(scripts) + (1 if during else 0))

    def session(i: int) -> None:
        start.wait()
        results[i] = run_script(askers[i] if askers else assistant, scripts[i])

    def background() -> None:
        start.wait()
        t = time.perf_counter()
        try:
            ingest["result"] = during()
        except Exception as exc:
            ingest["error"] = f"{type(exc).__name__}: {exc}"
        ingest["seconds"] = round(time.perf_counter() - t, 2)

    threads = [threading.Thread(target=session, args=(i,)) for i in range(len(scripts))]
    if during:
        threads.append(threading.Thread(target=background))
    with MemorySampler() as memory:
        t = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - t
    return LoadRun(
        turns=[r or [] for r in results],
        wall_s=wall,
        ingest=ingest,
        memory_start_mb=round(memory.start_mb, 1),
        memory_peak_mb=round(memory.peak_mb, 1),
    )


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def compare(
    run: LoadRun,
    alone: list[dict[tuple, list[Turn]]],
    scripts: list[list[str]],
    paths: list[str] | None = None,
) -> list[str]:
    """Turns whose result matches no single-threaded run of the same script on the same path
    (in any of the library states the concurrent changes pass through)."""
    problems = []
    paths = paths or ["app"] * len(scripts)
    for i, (script, turns) in enumerate(zip(scripts, run.turns, strict=True)):
        key = (paths[i], tuple(script))
        for j, turn in enumerate(turns):
            expected = {runs[key][j].key() for runs in alone if key in runs}
            if turn.key() not in expected:
                problems.append(
                    f"session {i} ({paths[i]}) turn {j} {turn.question!r}: standalone "
                    f"{turn.standalone!r}, answer differs from every single-threaded run"
                )
    return problems


def figures(
    run: LoadRun, scripts: list[list[str]], mismatches: list[str], paths: list[str] | None = None
) -> dict[str, Any]:
    lat = run.latencies
    paths = paths or ["app"] * len(scripts)
    by_path = {}
    for name in sorted(set(paths)):
        these = [
            t.latency_s for p, ts in zip(paths, run.turns, strict=True) if p == name for t in ts
        ]
        by_path[name] = {
            "sessions": paths.count(name),
            "p50": round(percentile(these, 0.50) * 1000, 1),
            "p95": round(percentile(these, 0.95) * 1000, 1),
        }
    return {
        "sessions": len(scripts),
        "questions_per_session": len(scripts[0]) if scripts else 0,
        "answers": len(lat),
        "errors": len(run.errors),
        "mismatches": len(mismatches),
        "wall_s": round(run.wall_s, 2),
        "throughput_per_s": round(len(lat) / run.wall_s, 1) if run.wall_s else 0.0,
        "latency_ms": {
            "p50": round(percentile(lat, 0.50) * 1000, 1),
            "p95": round(percentile(lat, 0.95) * 1000, 1),
            "max": round(max(lat, default=0.0) * 1000, 1),
            "mean": round(statistics.fmean(lat) * 1000, 1) if lat else 0.0,
        },
        "latency_ms_by_path": by_path,
        "memory_mb": {"start": run.memory_start_mb, "peak": run.memory_peak_mb},
        "changes_during_load": run.ingest,
    }


def single_threaded(
    askers: dict[str, Any], scripts: list[list[str]], paths: list[str] | None = None
) -> dict[tuple, list[Turn]]:
    """Each distinct (path, script) run alone, through that path's asker."""
    out: dict[tuple, list[Turn]] = {}
    paths = paths or ["app"] * len(scripts)
    for path, script in zip(paths, scripts, strict=True):
        key = (path, tuple(script))
        if key not in out:
            out[key] = run_script(askers[path], script)
    return out


def session_paths(sessions: int, api_every: int) -> list[str]:
    """Which sessions ask through the HTTP API (every `api_every`-th) and which the app's path."""
    return ["api" if api_every and i % api_every == 0 else "app" for i in range(sessions)]


def benchmark(
    assistant: Any,
    uploads: list[tuple[str, bytes]],
    sessions: int,
    per_session: int,
    api_every: int = 4,
) -> dict:
    """The whole measurement: baselines alone, then the load while the first upload is
    indexed, the second too and then removed; then baselines in the states passed through."""
    regions = assistant.retriever.regions()
    scripts = build_scripts(load_questions(), regions, sessions, per_session)
    paths = session_paths(sessions, api_every)
    with ApiServer(assistant) as server:
        clients = [ApiSession(server.url) if p == "api" else None for p in paths]
        alone = {"app": assistant, "api": ApiSession(server.url)}
        try:
            t = time.perf_counter()
            single_threaded(alone, scripts, paths)  # warm caches, as a running app has them
            cold_s = time.perf_counter() - t
            t = time.perf_counter()
            before = single_threaded(alone, scripts, paths)
            alone_s = time.perf_counter() - t
            askers = [c or assistant for c in clients]
            run = run_load(
                assistant, scripts, during=lambda: _changes(assistant, uploads), askers=askers
            )
            after = single_threaded(alone, scripts, paths)  # first upload in, second removed
            _changes(assistant, uploads[1:], remove=False)
            both = single_threaded(alone, scripts, paths)  # the state between
            _remove(assistant, uploads[1:])
        finally:
            for c in [*clients, alone["api"]]:
                if c is not None:
                    c.close()
    mismatches = compare(run, [before, both, after], scripts, paths)
    result = figures(run, scripts, mismatches, paths)
    answers = max(1, sum(len(k[1]) for k in before))
    result["single_threaded_ms_per_answer"] = {
        "cold": round(cold_s / answers * 1000, 1),
        "warm": round(alone_s / answers * 1000, 1),
    }
    result["distinct_scripts"] = len(before)
    result["turns_changed_by_the_uploads"] = sum(
        a.key() != b.key() for key in before for a, b in zip(before[key], after[key], strict=True)
    )
    result["_run"] = run
    result["_mismatches"] = mismatches
    return result


def _changes(assistant: Any, uploads: list[tuple[str, bytes]], remove: bool = True) -> list[dict]:
    """Upload each report as the library page does; then remove all but the first."""
    done = []
    for name, data in uploads:
        r = assistant.ingest_upload(name, data)
        done.append({**r.to_dict(), "action": "upload"})
    if remove:
        for r in done[1:]:
            ok = assistant.remove(r["doc_id"])
            done.append(
                {
                    "doc_id": r["doc_id"],
                    "action": "remove",
                    "status": "removed" if ok else "missing",
                }
            )
    return done


def _remove(assistant: Any, uploads: list[tuple[str, bytes]]) -> None:
    names = {name for name, _ in uploads}
    for d in assistant.documents():
        if d.get("source") in names:
            assistant.remove(d["doc_id"])


def default_uploads() -> list[tuple[str, bytes]]:
    """Two reports not in the corpus: the first stays, the second is removed again."""
    return [
        ("红星街道.txt", extra_report().encode("utf-8")),
        ("青禾镇.txt", extra_report(place="青禾镇", seed=3).encode("utf-8")),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=32)
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--api-every", type=int, default=4, help="every Nth session via HTTP")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    from assistant.service import Assistant
    from assistant.settings import explicit_settings

    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        home = Path(tmp)
        shutil.copytree(ROOT / "prompts", home / "prompts")
        settings = explicit_settings(
            store_dir=home / "vectorstore",
            upload_dir=home / "uploads",
            prompts_dir=home / "prompts",
        )
        cache = ROOT / "vectorstore" / "embeddings.sqlite3"
        if cache.exists():  # reuse vectors already computed for the corpus
            (home / "vectorstore").mkdir()
            shutil.copy(cache, home / "vectorstore" / "embeddings.sqlite3")
        assistant = Assistant.from_settings(settings)
        assistant.ingest_paths([settings.reports_dir])
        result = benchmark(
            assistant, default_uploads(), args.sessions, args.questions, args.api_every
        )
    run, mismatches = result.pop("_run"), result.pop("_mismatches")
    result["machine"] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    result["measured_at"] = time.strftime("%Y-%m-%d %H:%M:%S")
    print(json.dumps(result, ensure_ascii=False, indent=2))
    for line in run.errors[:5] + mismatches[:5]:
        print(line)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 1 if run.errors or mismatches else 0


if __name__ == "__main__":
    raise SystemExit(main())
