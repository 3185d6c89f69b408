"""Shared fixtures: every on-disk path points into tmp, and the sample corpus is embedded
once per test run into a session store that read-only tests share."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from assistant.settings import PROJECT_ROOT, Settings, explicit_settings, get_settings

REPORTS_DIR = PROJECT_ROOT / "data" / "reports"
PROMPTS_DIR = PROJECT_ROOT / "prompts"
# A copy of ../shared/eval/questions.jsonl ships with the repo, so CI always has it.
EVAL_FILE = PROJECT_ROOT / "data" / "eval" / "questions.jsonl"

_ENV_KEYS = [k for k in os.environ if k.startswith(("ASSISTANT_", "OPENAI_", "CHROMA_"))]


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test touches the real store, uploads, prompts or an LLM configured on the machine."""
    for key in _ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    home = tmp_path / "home"
    prompts = home / "prompts"
    if PROMPTS_DIR.exists():
        shutil.copytree(PROMPTS_DIR, prompts)
    else:
        prompts.mkdir(parents=True)
    monkeypatch.setenv("ASSISTANT_STORE_DIR", str(home / "vectorstore"))
    monkeypatch.setenv("ASSISTANT_UPLOAD_DIR", str(home / "uploads"))
    monkeypatch.setenv("ASSISTANT_PROMPTS_DIR", str(prompts))
    monkeypatch.setenv("ASSISTANT_REPORTS_DIR", str(REPORTS_DIR))
    monkeypatch.chdir(tmp_path)  # a stray .env in the repo must not leak into tests
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


def make_settings(home: Path, **overrides) -> Settings:
    values = dict(
        reports_dir=REPORTS_DIR,
        store_dir=home / "vectorstore",
        upload_dir=home / "uploads",
        prompts_dir=home / "prompts",
    )
    return explicit_settings(**{**values, **overrides})


@pytest.fixture(scope="session")
def session_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("session")
    if PROMPTS_DIR.exists():
        shutil.copytree(PROMPTS_DIR, home / "prompts")
    return home


@pytest.fixture(scope="session")
def indexed_assistant(session_home: Path):
    """An Assistant over a store holding the sample corpus (embedded once per run).

    Read-only: tests that add or remove reports use `fresh_assistant`.
    """
    from assistant.service import Assistant

    assistant = Assistant.from_settings(make_settings(session_home))
    results = assistant.ingest_paths([REPORTS_DIR])
    assert all(r.ok for r in results), [r.line() for r in results if not r.ok]
    return assistant


@pytest.fixture
def seeded_cache(indexed_assistant, isolated_env: Path) -> Path:
    """A per-test store folder whose embedding cache already holds the corpus vectors."""
    store_dir = isolated_env / "vectorstore"
    store_dir.mkdir(parents=True, exist_ok=True)
    src = indexed_assistant.settings.store_dir / "embeddings.sqlite3"
    indexed_assistant.store.embeddings.cache.checkpoint()
    shutil.copy(src, store_dir / "embeddings.sqlite3")
    return store_dir


@pytest.fixture
def fresh_assistant(seeded_cache: Path, isolated_env: Path):
    """An Assistant over an empty per-test store (embedding cache pre-filled)."""
    from assistant.service import Assistant

    return Assistant.from_settings(make_settings(isolated_env))


@pytest.fixture(scope="session")
def eval_questions() -> list[dict]:
    with open(EVAL_FILE, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory):
    """A real `chroma run` server for the whole test run."""
    from tests.chroma_server import ChromaServer

    server = ChromaServer(tmp_path_factory.mktemp("chroma-server") / "data").start()
    yield server
    server.stop()
