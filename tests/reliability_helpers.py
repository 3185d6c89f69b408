"""Shared pieces of the reliability tests (issue 5): hostile files, tree hashes, the CLI as a
subprocess, and a child process that runs the real ingest with a fault-injection hook."""

from __future__ import annotations

import codecs
import hashlib
import io
import os
import random
import subprocess
import sys
import zipfile
from pathlib import Path

from assistant.settings import PROJECT_ROOT

# A short report in the corpus' style; every decoded variant must come back as exactly this.
REPORT_TEXT = (
    "关于东风社区“双报到”工作的报告\n\n"
    "东风社区组织在职党员到社区报到服务，2023年共认领微心愿126个，解决群众急难愁盼问题30件。\n\n"
    "社区把党小组建在楼栋上，设立楼栋长42名，群众满意率达到98%。"
)
# Only GB18030 (not GBK) can encode 䶮 (CJK extension A).
GB18030_TEXT = REPORT_TEXT + "\n\n䶮字旁注：社区档案以GB18030编码保存。"


def _pdf(encrypt: bool = False) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    if encrypt:
        writer.encrypt("secret", algorithm="AES-256")
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def docx_bytes(paragraphs: list[str]) -> bytes:
    import docx

    document = docx.Document()
    for p in paragraphs:
        document.add_paragraph(p)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def bad_files() -> dict[str, bytes]:
    """Files that must be refused, each with the reason's key word."""
    rng = random.Random(5)
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(rng.randrange(256) for _ in range(3000))
    pdf = _pdf()
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("readme.txt", "not a word document")
    return {
        "empty.txt": b"",
        "binary.txt": Path(sys.executable).read_bytes()[:16384],
        "highbytes.txt": bytes(rng.randrange(0x80, 0x100) for _ in range(4000)),
        "image.pdf": png,
        "corrupt.pdf": b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        + bytes(rng.randrange(256) for _ in range(800)),
        "truncated.pdf": pdf[: len(pdf) // 2],
        "encrypted.pdf": _pdf(encrypt=True),
        "archive.docx": zipped.getvalue(),
        "photo.docx": png,
    }


# What the user is told for each bad file (a word the reason must contain).
BAD_REASONS = {
    "empty.txt": "空",
    "binary.txt": "不是文字",
    "highbytes.txt": "编码",
    "image.pdf": "PDF",
    "corrupt.pdf": "损坏",
    "truncated.pdf": "损坏",
    "encrypted.pdf": "加密",
    "archive.docx": "不是 Word",
    "photo.docx": "Word",
}


def good_files() -> dict[str, tuple[bytes, str]]:
    """Encoded files that must index, with the text each must decode to."""
    return {
        "gbk.txt": (REPORT_TEXT.replace("东风", "红旗").encode("gbk"), "红旗社区"),
        "gb18030.txt": (GB18030_TEXT.replace("东风", "朝阳").encode("gb18030"), "䶮字旁注"),
        "bom.md": (
            codecs.BOM_UTF8 + REPORT_TEXT.replace("东风", "幸福").encode("utf-8"),
            "幸福社区",
        ),
        "utf16.txt": (REPORT_TEXT.replace("东风", "和平").encode("utf-16"), "和平社区"),
        "plain.docx": (
            docx_bytes(REPORT_TEXT.replace("东风", "光明").split("\n\n")),
            "光明社区",
        ),
    }


def tree_hash(root: Path, exclude: tuple[Path, ...] = ()) -> dict[str, str]:
    """relative path -> sha256 (or "dir") of everything under root, minus `exclude`."""
    out: dict[str, str] = {}
    excluded = [e.resolve() for e in exclude]
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath).resolve()
        dirnames[:] = [d for d in dirnames if (here / d).resolve() not in excluded]
        for d in dirnames:
            out[str((here / d).relative_to(root.resolve()))] = "dir"
        for f in filenames:
            p = here / f
            if p.resolve() in excluded:
                continue
            out[str(p.relative_to(root.resolve()))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def cli_env(store_dir: Path, **env: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CHROMA_"))}
    return {**base, "ASSISTANT_STORE_DIR": str(store_dir), **env}


def run_cli(args: list[str], store_dir: Path, timeout: float = 180, **env: str):
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args],
        capture_output=True,
        text=True,
        env=cli_env(store_dir, **env),
        timeout=timeout,
        cwd=str(store_dir.parent),
    )


# A child process running the real `assistant ingest`, with the store's chunk writes slowed
# down so a test can kill it (or compete with it) while a report is half written. Each batch
# written is announced on stderr as "ADDED <doc_id> <n>".
CHILD_INGEST = r"""
import sys, time
import assistant.store as store_mod
from assistant.cli import main

store_mod._ADD_BATCH = int(sys.argv[1])
pause = float(sys.argv[2])
original = store_mod.ReportStore.add_chunks

def add_chunks(self, chunks, ids):
    original(self, chunks, ids)
    for doc_id in dict.fromkeys(c.doc_id for c in chunks):
        n = sum(c.doc_id == doc_id for c in chunks)
        print(f"ADDED {doc_id} {n}", file=sys.stderr, flush=True)
    time.sleep(pause)

store_mod.ReportStore.add_chunks = add_chunks
raise SystemExit(main(["ingest", "--quiet", *sys.argv[3:]]))
"""


def start_slow_ingest(
    paths: list[Path], store_dir: Path, batch: int = 2, pause: float = 0.3, **env: str
) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD_INGEST, str(batch), str(pause), *map(str, paths)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**cli_env(store_dir, **env), "PYTHONPATH": str(PROJECT_ROOT)},
        cwd=str(store_dir.parent),
    )


# A long-lived second "app process": reads JSON commands on stdin, answers one JSON line each.
APP_CHILD = r"""
import json, sys
from pathlib import Path
from assistant.service import Assistant

app = Assistant.from_settings()
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    cmd = json.loads(line)
    try:
        if cmd["op"] == "search":
            hits = app.search(cmd["q"], k=cmd.get("k", 5))
            out = [{"doc_id": p.chunk.doc_id, "chunk_id": p.chunk.chunk_id,
                    "bm25_rank": p.bm25_rank, "dense_rank": p.dense_rank} for p in hits]
        elif cmd["op"] == "ingest":
            out = [r.to_dict() for r in app.ingest_paths([Path(cmd["path"])])]
        elif cmd["op"] == "documents":
            out = [d["doc_id"] for d in app.documents()]
        else:
            out = {"error": "unknown op"}
    except Exception as exc:
        out = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(out, ensure_ascii=False), flush=True)
"""


class AppProcess:
    """A second app process on the same settings (env), driven over stdin/stdout."""

    def __init__(self, store_dir: Path, **env: str) -> None:
        import json

        self._json = json
        self.proc = subprocess.Popen(
            [sys.executable, "-c", APP_CHILD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**cli_env(store_dir, **env), "PYTHONPATH": str(PROJECT_ROOT)},
            cwd=str(store_dir.parent),
        )
        assert json.loads(self.proc.stdout.readline()) == {"ready": True}

    def call(self, **cmd):
        self.proc.stdin.write(self._json.dumps(cmd, ensure_ascii=False) + "\n")
        self.proc.stdin.flush()
        return self._json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def docx_text(data: bytes) -> str:
    """All the XML text of a .docx (document, relationships, headers), for searching."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return "\n".join(
            zf.read(n).decode("utf-8", "replace")
            for n in zf.namelist()
            if n.endswith(".xml") or n.endswith(".rels")
        )
