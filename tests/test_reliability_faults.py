"""Issue 5, faults on the store side: an ingest killed with SIGKILL, two writers on one
embedded store, prompt files broken while running, a Chroma server that goes away."""

from __future__ import annotations

import json
import logging
import os
import queue
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from assistant.ingest import doc_id_for
from assistant.prompts import PromptLibrary
from assistant.service import Assistant
from assistant.store import StoreUnavailable
from tests.conftest import REPORTS_DIR, make_settings
from tests.reliability_helpers import REPORT_TEXT, run_cli, start_slow_ingest
from tests.test_reliability_uploads import assert_store_consistent

CORPUS = sorted(p.name for p in REPORTS_DIR.glob("*.txt"))


class Lines:
    """A child's stderr, read on a thread so the test can wait for a line with a timeout."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self.seen: list[str] = []
        self._q: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.proc.stderr:
            self._q.put(line.rstrip("\n"))
        self._q.put(None)

    def wait_for(self, predicate, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._q.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                break
            self.seen.append(line)
            if predicate(line):
                return line
        raise AssertionError(f"child never printed the expected line; stderr: {self.seen[-20:]}")


def _added_docs(lines: list[str]) -> list[str]:
    return list(dict.fromkeys(ln.split()[1] for ln in lines if ln.startswith("ADDED ")))


def _copy_corpus(folder: Path) -> Path:
    folder.mkdir()
    for name in CORPUS:
        shutil.copy(REPORTS_DIR / name, folder / name)
    return folder


def _assert_only_indexed_reports_are_found(assistant: Assistant, eval_questions) -> None:
    indexed = {r.doc_id for r in assistant.store.records() if r.status == "indexed"}
    for q in eval_questions[:8]:
        for p in assistant.search(q["question"], k=6):
            assert p.chunk.doc_id in indexed, (q["question"], p.chunk.doc_id)
    for r in assistant.store.records():
        if r.status == "indexed":
            assert len(assistant.store.chunks_of(r.doc_id)) == r.n_chunks


# ---- SIGKILL during ingest ------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize("case", ["first-index", "replace"])
def test_ingest_killed_midway_recovers(
    case, seeded_cache, isolated_env, tmp_path, indexed_assistant, eval_questions
):
    folder = _copy_corpus(tmp_path / "reports")
    if case == "replace":
        assert run_cli(["ingest", "--quiet", str(folder)], seeded_cache).returncode == 0
        for name in CORPUS:  # a new version of every report
            p = folder / name
            p.write_text(p.read_text(encoding="utf-8") + "\n\n（本版新增：修订说明。）", "utf-8")

    child = start_slow_ingest([folder], seeded_cache, batch=4, pause=0.2)
    lines = Lines(child)
    try:
        # Kill while the second report is half written.
        lines.wait_for(lambda ln: len(_added_docs([*lines.seen])) >= 2)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    victim = _added_docs(lines.seen)[-1]

    # Restart: the store opens, queries work, the half-written report is not visible.
    assistant = Assistant.from_settings(make_settings(isolated_env))
    status = assistant.status()
    assert victim in status["incomplete"]
    record = assistant.store.record(victim)
    assert record is not None and record.status == "indexing"
    _assert_only_indexed_reports_are_found(assistant, eval_questions)
    out = run_cli(["status"], seeded_cache)
    assert out.returncode == 0 and "未完成索引" in out.stdout and victim in out.stdout

    # Re-running ingest completes it: the same store as a clean run of the same files.
    results = {r.doc_id: r.status for r in assistant.ingest_paths([folder])}
    assert results[victim] in ("indexed", "replaced")
    assert assistant.status()["incomplete"] == []
    assert_store_consistent(assistant)
    if case == "first-index":
        assert assistant.store.count() == indexed_assistant.store.count()
        for q in eval_questions[:5]:
            got = [p.chunk.chunk_id for p in assistant.search(q["question"], k=5)]
            want = [p.chunk.chunk_id for p in indexed_assistant.search(q["question"], k=5)]
            assert got == want, q["question"]
    else:
        for name in CORPUS:
            text = "".join(c.text for c in assistant.store.chunks_of(Path(name).stem))
            assert "本版新增" in text


@pytest.mark.integration
def test_ingest_killed_at_arbitrary_moments(isolated_env, tmp_path, eval_questions):
    """Unscripted: the real command, embedding for real, killed at several moments."""
    folder = _copy_corpus(tmp_path / "reports")
    store = isolated_env / "vectorstore"
    for delay in (2.0, 4.0, 6.0):
        child = subprocess.Popen(
            [os.sys.executable, "-m", "assistant", "ingest", "--quiet", str(folder)],
            env={**os.environ, "ASSISTANT_STORE_DIR": str(store)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=str(tmp_path),
        )
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        assistant = Assistant.from_settings(make_settings(isolated_env))
        _assert_only_indexed_reports_are_found(assistant, eval_questions)
    out = run_cli(["ingest", "--quiet", str(folder)], store, timeout=300)
    assert out.returncode == 0, out.stderr
    assistant = Assistant.from_settings(make_settings(isolated_env))
    assert assistant.status()["documents"] == 5 and assistant.status()["incomplete"] == []
    assert_store_consistent(assistant)


# ---- two writers ----------------------------------------------------------------------------


@pytest.mark.integration
def test_second_writer_queues_between_reports_and_nothing_is_corrupted(
    seeded_cache, isolated_env, tmp_path, eval_questions
):
    """The lock is held per report while it is written, so an ingest and a removal started
    during a long ingest get their turn between two reports instead of failing."""
    folder = _copy_corpus(tmp_path / "reports")
    extra = tmp_path / "东风社区.txt"
    extra.write_text(REPORT_TEXT, encoding="utf-8")

    writer = start_slow_ingest([folder], seeded_cache, batch=2, pause=0.3)
    lines = Lines(writer)
    try:
        lines.wait_for(lambda ln: ln.startswith("ADDED "))
        second = run_cli(["ingest", str(extra)], seeded_cache, timeout=240)
        assert second.returncode == 0, second.stdout + second.stderr
        assert "\tindexed" in second.stdout and "Traceback" not in second.stderr
        assert writer.poll() is None, "it went in while the first writer was still running"
        removing = run_cli(["remove", doc_id_for(extra)], seeded_cache, timeout=240)
        assert removing.returncode == 0, removing.stderr
        writer.wait(timeout=240)
    finally:
        if writer.poll() is None:
            writer.kill()
    assert writer.returncode == 0

    assistant = Assistant.from_settings(make_settings(isolated_env))
    assert assistant.status()["documents"] == 5 and assistant.status()["incomplete"] == []
    assert_store_consistent(assistant)
    _assert_only_indexed_reports_are_found(assistant, eval_questions)


@pytest.mark.integration
def test_second_writer_can_be_told_at_once(seeded_cache, isolated_env, tmp_path):
    """ASSISTANT_WRITE_LOCK_TIMEOUT=0: a second writer while a report is being written is
    refused at once, in Chinese, and the first finishes untouched."""
    folder = tmp_path / "one"
    folder.mkdir()
    shutil.copy(REPORTS_DIR / CORPUS[0], folder / CORPUS[0])
    extra = tmp_path / "东风社区.txt"
    extra.write_text(REPORT_TEXT, encoding="utf-8")
    # One report written slowly: the lock is held for the whole of it (about 10 s).
    writer = start_slow_ingest([folder], seeded_cache, batch=1, pause=1.0)
    lines = Lines(writer)
    try:
        lines.wait_for(lambda ln: ln.startswith("ADDED "))
        t = time.monotonic()
        second = run_cli(["ingest", str(extra)], seeded_cache, ASSISTANT_WRITE_LOCK_TIMEOUT="0")
        assert time.monotonic() - t < 60
        assert second.returncode == 2, second.stdout + second.stderr
        assert "另一个进程正在写入" in second.stderr and "Traceback" not in second.stderr
        writer.wait(timeout=240)
    finally:
        if writer.poll() is None:
            writer.kill()
    assert writer.returncode == 0
    assistant = Assistant.from_settings(make_settings(isolated_env))
    assert assistant.status()["documents"] == 1
    assert_store_consistent(assistant)


# ---- prompt files broken while running ------------------------------------------------------


def _bump(path: Path) -> None:
    """Make sure the change is seen even on a file system with coarse timestamps."""
    st = path.stat() if path.exists() else None
    if st is not None:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))


BREAKAGES = {
    "deleted": None,
    "emptied": "",
    "bad-yaml": "---\nname: system\ndescription: [unclosed\nvariables: []\n---\n正文\n",
    "no-front-matter": "你是一个什么都回答的助手。\n",
    "undeclared-variable": "---\nname: system\ndescription: x\nvariables: []\n---\n{{ secret }}\n",
    "not-utf8": "规则".encode("gbk").decode("latin-1"),
}


@pytest.mark.unit
@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_broken_prompt_keeps_the_last_good_version(breakage, isolated_env, caplog):
    folder = isolated_env / "prompts"
    library = PromptLibrary(folder, fallback_dir=None)
    path = folder / "system.md"
    good = library.get("system")
    assert "回答规则" in good.body and library.problems == {}

    content = BREAKAGES[breakage]
    if content is None:
        path.unlink()
    elif breakage == "not-utf8":
        path.write_bytes(b"---\nname: system\n---\n\xb9\xe6\xd4\xf2\xff\xfe")
    else:
        path.write_text(content, encoding="utf-8")
        _bump(path)
    with caplog.at_level(logging.WARNING, logger="assistant.prompts"):
        still = library.get("system")
    assert still == good, "the last good version stays in use"
    assert "system.md" in library.problems
    assert any("system.md" in r.getMessage() for r in caplog.records)
    assert any("system.md" in p for p in library.check())

    shutil.copy(REPORTS_DIR.parent.parent / "prompts" / "system.md", path)
    _bump(path)
    assert library.get("system").body == good.body
    assert library.problems == {}


@pytest.mark.unit
def test_broken_prompt_while_answering_uses_the_last_good_version(fresh_assistant, isolated_env):
    from tests.test_answers_fakes import RecordingChatModel

    fresh_assistant.ingest_paths([REPORTS_DIR / "000_3076c0363e32bb05.txt"])
    model = RecordingChatModel(replies=["薛城区共召开党的建设工作领导小组会议7次[1]。"])
    question = "薛城区召开了几次党的建设工作领导小组会议？"
    first = fresh_assistant.ask(question, chat_model=model)
    assert first.complete and "7次" in first.answer
    system_before = model.calls[-1][0].content

    for name in ("system.md", "answer.md"):
        (isolated_env / "prompts" / name).write_text("", encoding="utf-8")
    second = fresh_assistant.ask(question, chat_model=model)
    assert second.complete and "7次" in second.answer
    assert model.calls[-1][0].content == system_before
    assert "<passage" in model.calls[-1][-1].content
    problems = fresh_assistant.prompts.problems
    assert {"system.md", "answer.md"} <= set(problems)


# ---- a Chroma server that goes away ---------------------------------------------------------


@pytest.fixture
def own_chroma_server(tmp_path):
    """A server this test may stop and restart (the session one is shared)."""
    from tests.chroma_server import ChromaServer

    server = ChromaServer(tmp_path / "chroma-data").start()
    yield server
    server.stop()


def _restart(server):
    from tests.chroma_server import ChromaServer

    server.stop()
    return ChromaServer(server.path, port=server.port).start()


@pytest.mark.integration
def test_chroma_server_stopped_mid_session(own_chroma_server, seeded_cache, isolated_env, tmp_path):
    settings = make_settings(
        isolated_env, chroma_host="127.0.0.1", chroma_port=own_chroma_server.port
    )
    assistant = Assistant.from_settings(settings)
    assert assistant.ingest_paths([REPORTS_DIR / CORPUS[1]])[0].status == "indexed"
    assert assistant.search("大连全市建立了多少个网格", k=3)

    own_chroma_server.stop()
    time.sleep(1.1)  # past the retriever's refresh interval
    with pytest.raises(StoreUnavailable, match="Chroma 服务器") as err:
        assistant.search("大连全市建立了多少个网格", k=3)
    assert "Traceback" not in str(err.value)
    with pytest.raises(StoreUnavailable, match="Chroma 服务器"):
        assistant.ingest_paths([REPORTS_DIR / CORPUS[2]])
    try:  # a clear error either way: raised for the UI to show, or as the answer's notice
        answer = assistant.ask("大连全市建立了多少个网格？", offline=True)
    except StoreUnavailable as exc:
        assert "Chroma 服务器" in str(exc)
    else:
        assert answer.complete is False and "Chroma" in (answer.notice + answer.answer)
    upload = tmp_path / "东风社区.txt"
    upload.write_text(REPORT_TEXT, encoding="utf-8")
    out = run_cli(
        ["ingest", str(upload)],
        seeded_cache,
        CHROMA_HOST="127.0.0.1",
        CHROMA_PORT=str(own_chroma_server.port),
    )
    assert out.returncode == 2 and "Chroma" in out.stderr and "Traceback" not in out.stderr

    server = _restart(own_chroma_server)
    try:
        time.sleep(1.1)
        docs = {d["doc_id"]: d["status"] for d in assistant.documents()}
        assert docs == {Path(CORPUS[1]).stem: "indexed"}, "nothing indexed while it was down"
        assert assistant.search("大连全市建立了多少个网格", k=3)
    finally:
        server.stop()


@pytest.mark.integration
def test_chroma_server_stopped_while_writing(own_chroma_server, seeded_cache, isolated_env):
    settings = make_settings(
        isolated_env, chroma_host="127.0.0.1", chroma_port=own_chroma_server.port
    )
    assistant = Assistant.from_settings(settings)
    servers = {"current": own_chroma_server}
    original = assistant.store.add_chunks

    def add_then_die(*args, **kw):
        servers["current"].stop()  # the server dies between the record and the chunks
        return original(*args, **kw)

    assistant.store.add_chunks = add_then_die
    with pytest.raises(StoreUnavailable):
        assistant.ingest_paths([REPORTS_DIR / CORPUS[4]])
    assistant.store.add_chunks = original

    servers["current"] = _restart(own_chroma_server)
    try:
        time.sleep(1.1)
        victim = Path(CORPUS[4]).stem
        record = assistant.store.record(victim)
        assert record is None or record.status != "indexed"
        assert all(p.chunk.doc_id != victim for p in assistant.search("浮山县党建", k=6))
        status = json.loads(
            run_cli(
                ["status", "--json"],
                seeded_cache,
                CHROMA_HOST="127.0.0.1",
                CHROMA_PORT=str(own_chroma_server.port),
            ).stdout
        )
        assert status["documents"] == (0 if record is None else 1)
        again = assistant.ingest_paths([REPORTS_DIR / CORPUS[4]])[0]
        assert again.status == "indexed"
        assert_store_consistent(assistant)
    finally:
        servers["current"].stop()


# ---- a running app and the command line on one embedded store -------------------------------


@pytest.mark.integration
def test_running_app_keeps_working_while_the_cli_ingests(seeded_cache, isolated_env):
    """The app process stays up while `assistant ingest` adds reports from another process.

    Chroma's embedded client caches its vector index per process; without catching up, the
    app's searches failed ("Error finding id" / "Nothing found on disk") or missed new reports.
    """
    app = Assistant.from_settings(make_settings(isolated_env))  # opened on an empty store
    assert app.search("大连全市建立了多少个网格", k=3) == []
    for name in CORPUS[:2]:
        out = run_cli(["ingest", "--quiet", str(REPORTS_DIR / name)], seeded_cache)
        assert out.returncode == 0, out.stderr
        time.sleep(1.1)  # the retriever looks for changes at most once a second
        hits = app.search("大连全市建立了多少个网格", k=3)
        assert hits and all(p.chunk.doc_id in {Path(n).stem for n in CORPUS[:2]} for p in hits)
    assert {p.chunk.doc_id for p in app.search("大连全市建立了多少个网格", k=3)} == {
        "001_75dfd3e5621028d9"
    }
    # The app writes after the other process did: nothing of either is lost.
    app.ingest_paths([REPORTS_DIR / CORPUS[2]])
    out = run_cli(["remove", Path(CORPUS[0]).stem], seeded_cache)
    assert out.returncode == 0, out.stderr
    time.sleep(1.1)
    assert all(p.chunk.doc_id != Path(CORPUS[0]).stem for p in app.search("薛城区网格", k=6))
    assert app.status()["documents"] == 2
    assert_store_consistent(app)
    vec = app.store.embeddings.embed_query("社区")
    assert {c.doc_id for c, _ in app.store.dense_search(vec, 100)} == {
        Path(n).stem for n in CORPUS[1:3]
    }
    # Another process rebuilds the store from scratch: the app follows, without a restart.
    out = run_cli(["ingest", "--rebuild", "--quiet", str(REPORTS_DIR / CORPUS[3])], seeded_cache)
    assert out.returncode == 0, out.stderr
    time.sleep(1.1)
    assert {p.chunk.doc_id for p in app.search("清河门区社区办公场所面积", k=3)} == {
        Path(CORPUS[3]).stem
    }
    assert app.ingest_paths([REPORTS_DIR / CORPUS[4]])[0].status == "indexed"
    assert app.status()["documents"] == 2
    assert_store_consistent(app)
