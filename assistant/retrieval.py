"""Hybrid retrieval: dense (Chroma) and BM25 (jieba) rankings fused by reciprocal rank."""

from __future__ import annotations

import threading
import time
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from assistant.catalog import Catalog, find_regions
from assistant.keyword import KeywordIndexHolder
from assistant.store import STATUS_INDEXED, ReportStore
from assistant.types import Passage
from assistant.wordseg import Segmenter

RRF_K = 60


class HybridRetriever:
    """Searches the store; shared by all sessions of a process (thread-safe)."""

    def __init__(
        self,
        store: ReportStore,
        catalog: Catalog,
        segmenter: Segmenter,
        fetch_k: int = 30,
        refresh_interval_s: float = 1.0,
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.segmenter = segmenter
        self.fetch_k = fetch_k
        self.refresh_interval_s = refresh_interval_s
        folder = None if store.settings.server_mode else store.settings.store_dir / "bm25"
        if store.settings.server_mode:
            # Per-process cache of the server's contents, keyed by collection.
            folder = store.settings.store_dir / "bm25-server" / store.name
        self.keyword = KeywordIndexHolder(folder, segmenter)
        self._state_lock = threading.Lock()
        self._checked_at = 0.0
        self._generation = ""
        self._indexed: set[str] = set()
        self._regions: list[str] = []
        self._names: dict[str, str] = {}
        self.last_timings: dict[str, float] = {}
        self.refresh(force=True)

    # ---- state ---------------------------------------------------------------------------

    def refresh(self, force: bool = False) -> None:
        """Pick up reports added or removed by this or another process.

        At most once a second, one small read of the store's generation; the records are
        read and the keyword index rebuilt only when it moved.
        """
        now = time.monotonic()
        if not force and now - self._checked_at < self.refresh_interval_s:
            return
        generation = self.store.fingerprint()
        if not force and generation == self._generation:
            self._checked_at = now
            return
        records = self.store.records()
        self.store.sync(generation)
        indexed = {r.doc_id for r in records if r.status == STATUS_INDEXED}
        regions = list(self.catalog.regions())
        for r in records:
            if r.meta.region and r.meta.region not in regions:
                regions.append(r.meta.region)
        names = self.catalog.region_names(regions)
        self.segmenter.add_words(names)
        self.keyword.ensure(generation, self.store.all_chunks)
        with self._state_lock:
            self._indexed = indexed
            self._regions = regions
            self._names = names
            self._generation = generation
            self._checked_at = now

    def regions(self) -> list[str]:
        self.refresh()
        return list(self._regions)

    def detect_regions(self, question: str) -> list[str]:
        self.refresh()
        return find_regions(question, self._names)

    # ---- search --------------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int = 6,
        regions: list[str] | None = None,
        doc_ids: list[str] | None = None,
        auto_region: bool = True,
    ) -> list[Passage]:
        """Top-k passages. Without an explicit region filter, regions named in the query
        become the filter (falling back to all regions when that finds nothing)."""
        self.refresh()
        if not regions and auto_region:
            named = find_regions(query, self._names)
            if named:
                hits = self._search(query, k, named, doc_ids)
                if hits:
                    return hits
        return self._search(query, k, regions or None, doc_ids)

    def _search(
        self, query: str, k: int, regions: list[str] | None, doc_ids: list[str] | None
    ) -> list[Passage]:
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        vector = self.store.embeddings.embed_query(query)
        t1 = time.perf_counter()
        fetch = max(self.fetch_k, k * 3)
        where = _where(regions, doc_ids)
        dense = [
            (c, s)
            for c, s in self.store.dense_search(vector, fetch, where)
            if c.doc_id in self._indexed and c.kind == "body"
        ]
        t2 = time.perf_counter()
        index = self.keyword.index
        sparse = [
            (c, s)
            for c, s in index.search(query, self.segmenter, fetch, regions, doc_ids)
            if c.doc_id in self._indexed
        ]
        t3 = time.perf_counter()
        fused = fuse(dense, sparse)[:k]
        t4 = time.perf_counter()
        timings.update(
            embed_ms=(t1 - t0) * 1000,
            dense_ms=(t2 - t1) * 1000,
            bm25_ms=(t3 - t2) * 1000,
            fuse_ms=(t4 - t3) * 1000,
        )
        self.last_timings = timings
        return fused


def fuse(dense: list[tuple[Any, float]], sparse: list[tuple[Any, float]]) -> list[Passage]:
    """Reciprocal rank fusion; ties broken by dense rank then chunk id (deterministic)."""
    by_id: dict[str, Passage] = {}
    for rank, (chunk, _score) in enumerate(dense, start=1):
        p = by_id.setdefault(chunk.chunk_id, Passage(chunk=chunk, score=0.0))
        p.dense_rank = rank
        p.score += 1.0 / (RRF_K + rank)
    for rank, (chunk, _score) in enumerate(sparse, start=1):
        p = by_id.setdefault(chunk.chunk_id, Passage(chunk=chunk, score=0.0))
        p.bm25_rank = rank
        p.score += 1.0 / (RRF_K + rank)
    return sorted(
        by_id.values(),
        key=lambda p: (-p.score, p.dense_rank or 10**9, p.chunk.chunk_id),
    )


def _where(regions: list[str] | None, doc_ids: list[str] | None) -> dict | None:
    clauses = []
    if regions:
        clauses.append({"region": {"$in": list(regions)}})
    if doc_ids:
        clauses.append({"doc_id": {"$in": list(doc_ids)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class ReportRetriever(BaseRetriever):
    """The LangChain face of HybridRetriever, for chains that want a BaseRetriever."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    hybrid: Any
    k: int = 6
    regions: list[str] | None = None
    doc_ids: list[str] | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        passages = self.hybrid.search(query, k=self.k, regions=self.regions, doc_ids=self.doc_ids)
        return [
            Document(page_content=p.chunk.text, metadata={**p.chunk.metadata(), "score": p.score})
            for p in passages
        ]
