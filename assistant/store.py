"""The Chroma store of report chunks (embedded or server, same code) and per-document
status records, so an interrupted ingest never leaves a half-indexed report visible."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chromadb
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import NotFoundError
from filelock import FileLock, Timeout

from assistant.chunk_texts import ChunkTexts
from assistant.embeddings import CachedEmbeddings
from assistant.settings import Settings
from assistant.types import Chunk, DocMeta

log = logging.getLogger(__name__)


def _me() -> str:
    return f"{os.getpid()}-{threading.get_ident()}"


STATUS_INDEXING = "indexing"
STATUS_INDEXED = "indexed"
STATUS_REMOVING = "removing"  # hidden from searches while its chunks are deleted
_DOCS_SUFFIX = "__documents"
_STATE_SUFFIX = "__state"  # one record whose value changes with every write (the generation)
_GENERATION_ID = "generation"
_PAGE = 2000
# Chunks per upsert, capped by the client's max_batch_size: Chroma's cost per call is large
# (one transaction), so a report goes in as few calls as it may.
_ADD_BATCH = 1024
# Where a chunk collection keeps its texts (collection metadata, fixed at creation): "sqlite"
# beside an embedded store (assistant/chunk_texts.py); absent: in Chroma, as every server
# store and every embedded store made before it.
_TEXTS_KEY = "chunk_texts"
_TEXTS_SQLITE = "sqlite"
# The fields chunk searches filter on; an embedded store gives Chroma only these.
_FILTER_FIELDS = ("doc_id", "region")


def chunk_key(doc_id: str, chunk_id: str) -> str:
    """The Chroma id of a chunk: scoped by report, so equal texts of two reports never clash."""
    return hashlib.sha256(f"{doc_id}\x00{chunk_id}".encode()).hexdigest()[:24]


class StoreError(RuntimeError):
    """A store problem a user can act on; the message says what to do."""


class StoreUnavailable(StoreError):
    pass


class StoreBusy(StoreError):
    pass


class EmbeddingModelMismatch(StoreError):
    pass


@dataclass
class DocRecord:
    """What the store knows about one report."""

    meta: DocMeta
    content_hash: str
    status: str
    n_chunks: int
    updated_at: float

    @property
    def doc_id(self) -> str:
        return self.meta.doc_id

    def to_metadata(self) -> dict[str, Any]:
        md = {k: v for k, v in self.meta.to_dict().items() if k != "inferred"}
        md.update(
            inferred=self.meta.inferred,
            content_hash=self.content_hash,
            status=self.status,
            n_chunks=self.n_chunks,
            updated_at=self.updated_at,
        )
        return md

    @classmethod
    def from_metadata(cls, md: dict[str, Any]) -> DocRecord:
        fields = DocMeta.__dataclass_fields__
        meta = DocMeta(**{k: md[k] for k in fields if k in md})
        meta.inferred = bool(md.get("inferred", False))
        return cls(
            meta=meta,
            content_hash=str(md.get("content_hash", "")),
            status=str(md.get("status", "")),
            n_chunks=int(md.get("n_chunks", 0)),
            updated_at=float(md.get("updated_at", 0.0)),
        )


def make_client(settings: Settings) -> chromadb.ClientAPI:
    """Embedded PersistentClient by default; HttpClient when CHROMA_HOST is set."""
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.server_mode:
        try:
            client = chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
            )
            client.heartbeat()
        except Exception as exc:
            raise StoreUnavailable(
                f"无法连接 Chroma 服务器 {settings.chroma_host}:{settings.chroma_port}"
                f"（{type(exc).__name__}）。请确认服务器已启动（chroma run），"
                "或清空 CHROMA_HOST 改用本地向量库。"
            ) from exc
        return client
    path = settings.store_dir / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    # Chroma shares one client state per folder within a process, loaded once and never
    # refreshed; drop it so this client reads the folder as it is now (see ReportStore.sync).
    # Clients holding the old state keep working.
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient._identifier_to_system.pop(str(path), None)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


class ReportStore:
    """Chunks in one Chroma collection (via langchain-chroma), report records in another."""

    def __init__(self, settings: Settings, embeddings: CachedEmbeddings, client=None) -> None:
        self.settings = settings
        self.embeddings = embeddings
        self.client = client or make_client(settings)
        self.name = settings.collection
        self.texts: ChunkTexts | None = None  # set by _open_collections for a sqlite layout
        self._open_collections()
        self._lock_path = settings.store_dir / "write.lock"
        self._reopen_lock = threading.Lock()
        self._bumped: str | None = None  # the generation this process wrote under the lock
        self._max_batch: int | None = None
        self._seen = self.fingerprint()  # the store's state as this process last knew it

    def _guard(self, what: str):
        """Translate connection failures into a clear StoreUnavailable."""
        return _Guard(self.settings, what)

    def _open_collections(self) -> None:
        model = self.embeddings.model_id
        wanted: dict[str, Any] = {"embedding_model": model}
        if not self.settings.server_mode:
            wanted[_TEXTS_KEY] = _TEXTS_SQLITE
        with self._guard("打开向量库"):
            # An existing collection keeps the metadata it was made with.
            self.chunks = self.client.get_or_create_collection(self.name, metadata=wanted)
            self.docs = self.client.get_or_create_collection(
                self.name + _DOCS_SUFFIX, metadata={"kind": "document records"}
            )
            self.state = self.client.get_or_create_collection(
                self.name + _STATE_SUFFIX, metadata={"kind": "store generation"}
            )
        stored = (self.chunks.metadata or {}).get("embedding_model")
        if stored and stored != model:
            raise EmbeddingModelMismatch(
                f"向量库“{self.name}”由向量模型 {stored} 建立，当前设置为 {model}，两者不能混用。"
                "请改回原来的向量模型设置，或运行 `assistant ingest --rebuild` 用当前模型重建索引。"
            )
        if (self.chunks.metadata or {}).get(_TEXTS_KEY) == _TEXTS_SQLITE:
            if self.texts is None:
                path = self.settings.store_dir / f"{self.name}.chunks.sqlite3"
                self.texts = ChunkTexts(path)
                if self.texts.empty() and self.chunks.count() > 0:
                    raise StoreError(
                        f"向量库缺少段落文本文件 {path.name}（可能被删除）。"
                        "请运行 `assistant ingest --rebuild` 重建索引。"
                    )
        else:
            self.texts = None

    # ---- other processes -----------------------------------------------------------------

    def sync(self, fingerprint: str | None = None) -> bool:
        """Catch up with changes another process made to the store; True if reopened.

        Chroma's embedded client keeps its vector index in memory per process and does not
        notice another process's writes: its searches then miss the new chunks or fail
        ("Error finding id", "Nothing found on disk"). The document records are read from
        SQLite and are always current, so a changed fingerprint tells us to reopen. (With a
        server only the collection handles are re-fetched, in case they were recreated.)
        """
        fingerprint = self.fingerprint() if fingerprint is None else fingerprint
        if fingerprint == self._seen:
            return False
        with self._reopen_lock:
            if fingerprint == self._seen:
                return False
            reopened = self._reopen()
            self._seen = fingerprint
        return reopened

    def _reopen(self) -> bool:
        # A server answers every request from its current state, but the collections may
        # have been dropped and recreated (`ingest --rebuild`): their handles are re-fetched.
        if not self.settings.server_mode:
            self.client = make_client(self.settings)
        self._open_collections()
        log.info("reopened the store after another process changed it")
        return True

    def _read(self, what: str, read):
        """`read()` under the connection guard; once more after reopening if another
        process dropped the collections this process holds (`ingest --rebuild`)."""
        with self._guard(what):
            try:
                return read()
            except NotFoundError:
                with self._reopen_lock:
                    self._reopen()
                return read()

    # ---- writing -------------------------------------------------------------------------

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        """One writer per embedded store at a time; another waits up to
        `write_lock_timeout_s` for its turn, then is told the store is busy."""
        if self.settings.server_mode:
            yield
            return
        self._lock_path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self._lock_path))
        timeout = self.settings.write_lock_timeout_s
        busy = "另一个进程正在写入同一个向量库（索引或删除报告中），请等它完成后再试。"
        # A long ingest takes the lock once per report; a writer already waiting goes first,
        # or it would rarely see the moment between two reports.
        give_way = time.monotonic() + 2.0
        while self._waiters(timeout) and time.monotonic() < give_way:
            time.sleep(0.05)
        try:
            lock.acquire(timeout=0)
        except Timeout as exc:
            if timeout <= 0:
                raise StoreBusy(busy) from exc
            marker = self._lock_path.with_name(f"{self._lock_path.name}.waiting-{_me()}")
            marker.touch()
            try:
                lock.acquire(timeout=timeout)
            except Timeout as exc2:
                raise StoreBusy(busy) from exc2
            finally:
                marker.unlink(missing_ok=True)
        try:
            self.sync()  # never write from a stale view of the store
            self._bumped = None
            yield
        finally:
            # Our own writes need no reopen; holding the lock, ours is the last generation.
            if self._bumped is not None:
                self._seen = self._bumped
            lock.release()

    @property
    def last_generation(self) -> str | None:
        """The generation this store's last write under the write lock made (None: none)."""
        return self._bumped

    def _waiters(self, timeout: float) -> list[Path]:
        """Other writers waiting for the lock now (markers of crashed ones go stale)."""
        me, now, out = _me(), time.time(), []
        for p in self._lock_path.parent.glob(f"{self._lock_path.name}.waiting-*"):
            try:
                fresh = now - p.stat().st_mtime < max(5.0, timeout)
            except OSError:
                continue
            if fresh and not p.name.endswith(f"-{me}"):
                out.append(p)
        return out

    def put_document(self, record: DocRecord, chunks: list[Chunk], progress=None) -> None:
        """Write a report's chunks, then mark it indexed; on failure nothing half-written stays.

        The record says "indexing" while chunks are written, which hides the report from
        searches. Stale chunks of an older version are deleted only after the new ones are
        all in; if writing fails, the new chunks are removed and the older version (if any)
        is restored, so a report is either fully indexed or absent, never half of each.
        """
        previous = self.record(record.doc_id)
        ids = [chunk_key(record.doc_id, c.chunk_id) for c in chunks]
        record.status = STATUS_INDEXING
        record.updated_at = time.time()
        # Searches know only the reports indexed at their generation, so a new report is
        # hidden without a new generation; an older version must be hidden before its
        # chunks are overwritten.
        self._put_record(record, bump=previous is not None)
        try:
            step = self._add_batch()
            for i in range(0, len(chunks), step):
                batch = chunks[i : i + step]
                self.add_chunks(batch, ids[i : i + step])
                if progress:
                    progress(len(batch))
            # A report without a record has no chunks (a removal deletes the chunks before
            # the record, a failed write leaves its record), so only a new version looks.
            if previous is not None:
                self._delete_chunks(record.doc_id, keep=set(ids))
        except BaseException:
            self._undo_put(record.doc_id, ids, previous)
            raise
        record.status = STATUS_INDEXED
        record.n_chunks = len(chunks)
        record.updated_at = time.time()
        self._put_record(record)

    def put_new_documents(self, items: list[tuple[DocRecord, list[Chunk]]]) -> None:
        """Write several new reports (no record in the store) together: their records in one
        call, their chunks in as few upserts as the batch size allows, one new generation.

        Chroma's cost per call is large next to its cost per chunk (a record upsert takes as
        long as 50 chunks), so a bulk ingest of many small reports goes several to a call.
        Hidden while written (a new report needs no generation to be hidden); on failure
        every one of them is removed again and the error raised, so the caller can write
        them one at a time to find the one that fails.
        """
        if not items:
            return
        now = time.time()
        for record, _ in items:
            record.status, record.updated_at = STATUS_INDEXING, now
        self._put_records([r for r, _ in items])
        keyed = [(chunk_key(r.doc_id, c.chunk_id), c) for r, chunks in items for c in chunks]
        try:
            step = self._add_batch()
            for i in range(0, len(keyed), step):
                part = keyed[i : i + step]
                self.add_chunks([c for _, c in part], [k for k, _ in part])
        except BaseException:
            for record, chunks in items:
                self._undo_put(
                    record.doc_id, [chunk_key(record.doc_id, c.chunk_id) for c in chunks], None
                )
            raise
        now = time.time()
        for record, chunks in items:
            record.status, record.n_chunks, record.updated_at = STATUS_INDEXED, len(chunks), now
        self._put_records([r for r, _ in items])
        self._bump()

    def add_chunks(self, chunks: list[Chunk], ids: list[str]) -> None:
        """Upsert chunks with their vectors (from the embedding cache when already embedded).

        With texts beside the store they are written first, so every chunk Chroma holds
        has its text; a row whose chunk never reached Chroma is overwritten or deleted by
        the next write of that report.
        """
        vectors = self.embeddings.embed_documents([c.text for c in chunks])
        with self._guard("写入向量库"):
            if self.texts is not None:
                self.texts.put(ids, chunks)
                self.chunks.upsert(
                    ids=ids,
                    embeddings=vectors,
                    metadatas=[{f: getattr(c, f) for f in _FILTER_FIELDS} for c in chunks],
                )
            else:
                self.chunks.upsert(
                    ids=ids,
                    embeddings=vectors,
                    documents=[c.text for c in chunks],
                    metadatas=[c.metadata() for c in chunks],
                )

    def _undo_put(self, doc_id: str, ids: list[str], previous: DocRecord | None) -> None:
        """Best effort: drop what a failed put wrote and bring back the older version."""
        try:
            if previous is not None and previous.status == STATUS_INDEXED:
                old = set(self._chunk_ids(doc_id)) - set(ids)
                if len(old) >= previous.n_chunks:  # the old chunks are all still there
                    new = [i for i in ids if i not in old]
                    if new:
                        self._delete_ids(new, "撤销未完成的写入")
                    self._put_record(previous)
                    return
            self._delete_chunks(doc_id)
            with self._guard("撤销未完成的写入"):
                self.docs.delete(ids=[doc_id])
            self._bump()
        except Exception as exc:  # the record still says "indexing": hidden, redone next ingest
            log.warning("could not undo a failed write of %s: %s", doc_id, type(exc).__name__)

    def _add_batch(self) -> int:
        """Chunks per upsert: _ADD_BATCH, at most what the client takes in one call."""
        if self._max_batch is None:
            try:
                self._max_batch = int(self.client.get_max_batch_size())
            except Exception:  # an old server without the call: Chroma's long-time limit
                self._max_batch = 5461
        return max(1, min(_ADD_BATCH, self._max_batch))

    def _bump(self) -> None:
        """A new generation: readers in any process see that the store changed."""
        value = uuid.uuid4().hex
        with self._guard("写入报告记录"):
            self.state.upsert(
                ids=[_GENERATION_ID],
                embeddings=[[1.0]],
                documents=[_GENERATION_ID],
                metadatas=[{"value": value}],
            )
        self._bumped = value

    def _put_record(self, record: DocRecord, bump: bool = True) -> None:
        self._put_records([record])
        if bump:
            self._bump()

    def _put_records(self, records: list[DocRecord]) -> None:
        with self._guard("写入报告记录"):
            self.docs.upsert(
                ids=[r.doc_id for r in records],
                embeddings=[[1.0]] * len(records),
                documents=[r.meta.title or r.doc_id for r in records],
                metadatas=[r.to_metadata() for r in records],
            )

    def _chunk_ids(self, doc_id: str) -> list[str]:
        return self._read(
            "读取段落", lambda: self.chunks.get(where={"doc_id": doc_id}, include=[])["ids"]
        )

    def _delete_chunks(self, doc_id: str, keep: set[str] | None = None) -> None:
        if keep is None:
            with self._guard("删除旧的段落"):
                self.chunks.delete(where={"doc_id": doc_id})
                if self.texts is not None:
                    self.texts.delete_doc(doc_id)
            return
        stale = [i for i in self._chunk_ids(doc_id) if i not in keep]
        if stale:
            self._delete_ids(stale, "删除旧的段落")

    def _delete_ids(self, ids: list[str], what: str) -> None:
        with self._guard(what):
            self.chunks.delete(ids=ids)
            if self.texts is not None:
                self.texts.delete(ids)

    def remove_document(self, doc_id: str, hidden: Callable[[], None] | None = None) -> bool:
        """Hide the report first (its record says "removing", a new generation), call
        `hidden` (readers move to a snapshot without it), then delete its chunks and record,
        so no search sees half of it."""
        record = self.record(doc_id)
        if record is None:
            return False
        record.status = STATUS_REMOVING
        self._put_record(record)
        if hidden is not None:
            hidden()
        self._delete_chunks(doc_id)
        with self._guard("删除报告记录"):
            self.docs.delete(ids=[doc_id])
        self._bump()
        return True

    def update_meta(self, doc_id: str, **changes: str) -> DocRecord:
        """Correct a report's metadata (region, title, ...) on its record and its chunks."""
        record = self.record(doc_id)
        if record is None:
            raise StoreError(f"找不到报告 {doc_id}。")
        for key, value in changes.items():
            if key not in DocMeta.__dataclass_fields__ or key == "doc_id":
                raise StoreError(f"不能修改字段 {key}。")
            setattr(record.meta, key, str(value))
        record.meta.inferred = False
        record.updated_at = time.time()
        chunk_changes = {k: v for k, v in changes.items() if k in ("region", "title")}
        if chunk_changes:
            with self._guard("更新段落元数据"):
                got = self.chunks.get(where={"doc_id": doc_id}, include=["metadatas"])
                filtered = {k: v for k, v in chunk_changes.items() if k in _FILTER_FIELDS}
                if self.texts is not None:
                    self.texts.update_fields(doc_id, chunk_changes)
                    chunk_changes = filtered
                if got["ids"] and chunk_changes:
                    metas = [{**m, **chunk_changes} for m in got["metadatas"]]
                    self.chunks.update(ids=got["ids"], metadatas=metas)
        self._put_record(record)
        return record

    def reset(self) -> None:
        """Drop both collections (for `ingest --rebuild`) and open them afresh."""
        with self._guard("重建向量库"):
            for name in (self.name, self.name + _DOCS_SUFFIX, self.name + _STATE_SUFFIX):
                try:
                    self.client.delete_collection(name)
                except Exception:  # not there: nothing to drop
                    log.debug("collection %s absent", name)
            if self.texts is not None:
                self.texts.clear()
        self._open_collections()
        self._bump()

    # ---- reading -------------------------------------------------------------------------

    def records(self) -> list[DocRecord]:
        got = self._read("读取报告记录", lambda: self.docs.get(include=["metadatas"]))
        recs = [DocRecord.from_metadata(md) for md in got["metadatas"] or []]
        return sorted(recs, key=lambda r: r.doc_id)

    def records_of(self, doc_ids: list[str]) -> list[DocRecord]:
        """The records of these reports that exist, in one read."""
        got = self._read("读取报告记录", lambda: self.docs.get(ids=doc_ids, include=["metadatas"]))
        return [DocRecord.from_metadata(md) for md in got["metadatas"] or []]

    def record(self, doc_id: str) -> DocRecord | None:
        got = self._read("读取报告记录", lambda: self.docs.get(ids=[doc_id], include=["metadatas"]))
        if not got["ids"]:
            return None
        return DocRecord.from_metadata(got["metadatas"][0])

    def fingerprint(self) -> str:
        """The store's generation: changes whenever any report is added, replaced, removed
        or edited, by this process or another. One small read, cheap at any corpus size."""
        got = self._read(
            "读取索引状态", lambda: self.state.get(ids=[_GENERATION_ID], include=["metadatas"])
        )
        if not got["ids"]:
            return "0"
        return str(got["metadatas"][0].get("value", "0"))

    def count(self) -> int:
        return self._read("统计段落", lambda: self.chunks.count())

    def all_chunks(self) -> Iterator[Chunk]:
        """Every stored chunk, paged, for building the keyword index."""
        offset = 0
        while True:
            got = self._read(
                "读取段落",
                lambda offset=offset: self.chunks.get(
                    include=self._include(), limit=_PAGE, offset=offset
                ),
            )
            if not got["ids"]:
                return
            yield from self._chunks(got)
            offset += len(got["ids"])

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        got = self._read(
            "读取段落",
            lambda: self.chunks.get(where={"doc_id": doc_id}, include=self._include()),
        )
        chunks = self._chunks(got)
        return sorted(chunks, key=lambda c: (c.kind != "body", c.start, c.end))

    def _include(self) -> list[str]:
        return [] if self.texts is not None else ["documents", "metadatas"]

    def _chunks(self, got: dict) -> list[Chunk]:
        return [c for _, c in self._keyed(got["ids"], got.get("documents"), got.get("metadatas"))]

    def _keyed(self, ids: list[str], docs, metas) -> list[tuple[str, Chunk]]:
        """(id, chunk) in the order Chroma gave, texts from beside the store if kept there;
        a chunk without its text (a write cut short) is left out."""
        if self.texts is None:
            return [
                (i, Chunk.from_metadata(t, m or {}))
                for i, t, m in zip(ids, docs, metas, strict=True)
                if t is not None
            ]
        found = self.texts.get(ids)
        return [(i, found[i]) for i in ids if i in found]

    def dense_search(
        self, query_vector: list[float], k: int, where: dict | None = None
    ) -> list[tuple[Chunk, float]]:
        """(chunk, Chroma's distance: squared L2, lower is closer), nearest first."""
        include = ["distances"] + self._include()
        got = self._read(
            "向量检索",
            lambda: self.chunks.query(
                query_embeddings=[query_vector], n_results=k, where=where, include=include
            ),
        )
        ids = got["ids"][0]
        scores = dict(zip(ids, got["distances"][0], strict=True))
        docs, metas = (got.get("documents") or [None])[0], (got.get("metadatas") or [None])[0]
        return [(c, scores[i]) for i, c in self._keyed(ids, docs, metas)]

    def describe(self) -> dict[str, Any]:
        return {
            "mode": "server" if self.settings.server_mode else "embedded",
            "location": self.settings.store_label(),
            "collection": self.name,
        }


class _Guard:
    def __init__(self, settings: Settings, what: str) -> None:
        self.settings = settings
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is None or isinstance(exc, StoreError):
            return False
        name = type(exc).__name__
        if self.settings.server_mode and _looks_like_connection_error(exc):
            raise StoreUnavailable(
                f"{self.what}失败：Chroma 服务器 {self.settings.chroma_host}:"
                f"{self.settings.chroma_port} 无法连接（{name}）。请检查服务器后重试。"
            ) from exc
        return False


def _looks_like_connection_error(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}".lower()
    return any(w in text for w in ("connect", "timeout", "timed out", "refused", "unreachable"))
