"""The facade the CLI and the UI use: one `Assistant` per process, shared by all sessions."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.catalog import Catalog
from assistant.embeddings import make_embeddings
from assistant.ingest import Ingestor, IngestResult, Progress, Source, collect_sources
from assistant.retrieval import HybridRetriever
from assistant.settings import Settings, get_settings
from assistant.store import ReportStore, StoreError
from assistant.types import DocMeta, Passage
from assistant.wordseg import default_segmenter

log = logging.getLogger(__name__)
_LAZY_LOCK = threading.RLock()  # first use of the prompt library and the answerers

UPLOAD_PREFIX = "upload_"  # document ids of reports uploaded through the app
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f<>\"'`&]")


def safe_display_name(name: str, limit: int = 120) -> str:
    """An uploaded file's name as inert text: no path, no control characters, bounded."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").split("/")[-1]
    name = _UNSAFE_NAME.sub("_", name).strip(" .") or "未命名文件"
    if len(name) > limit:
        stem, dot, ext = name.rpartition(".")
        ext = ext[:10] if dot else ""
        name = (stem if dot else name)[: limit - len(ext) - 2] + "…" + (("." + ext) if ext else "")
    return name


@dataclass
class Assistant:
    """Store, retriever and ingest for one configuration; create once per process."""

    settings: Settings
    catalog: Catalog
    store: ReportStore
    retriever: HybridRetriever
    ingestor: Ingestor
    extras: dict[str, Any] = field(default_factory=dict)
    # Answerers built for this configuration; a copy with other settings builds its own.
    _answerers: dict[tuple, Any] = field(default_factory=dict, init=False, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Assistant:
        settings = settings or get_settings()
        catalog = Catalog.load(settings.catalog_path)
        embeddings = make_embeddings(settings)
        store = ReportStore(settings, embeddings)
        segmenter = default_segmenter()
        segmenter.add_words(catalog.region_names())
        retriever = HybridRetriever(store, catalog, segmenter)
        return cls(settings, catalog, store, retriever, Ingestor(store, catalog, settings))

    # ---- corpus --------------------------------------------------------------------------

    def ingest_paths(
        self, paths: list[Path], progress: Progress | None = None
    ) -> list[IngestResult]:
        sources, problems = collect_sources(paths, self.settings.catalog_path)
        results = problems + self.ingestor.ingest(sources, progress)
        self.retriever.refresh(force=True)
        return results

    def ingest_upload(
        self, name: str, data: bytes, progress: Progress | None = None
    ) -> IngestResult:
        """Store an upload under a generated name inside the upload folder, then index it.

        The document id comes from the original name, so a new version of the same file
        replaces the old one; the original name is kept only as escaped metadata.
        """
        display = safe_display_name(name)
        suffix = Path(display).suffix.lower()[:10]
        key = hashlib.sha256(display.encode("utf-8")).hexdigest()[:16]
        doc_id = f"{UPLOAD_PREFIX}{key}"
        folder = self.settings.upload_dir.resolve()
        folder.mkdir(parents=True, exist_ok=True)
        ext = re.sub(r"[^.a-z0-9]", "", suffix)
        target = folder / f"{doc_id}{ext}"
        if len(data) > self.settings.max_file_bytes:
            limit_mb = self.settings.max_file_bytes / 1024 / 1024
            return IngestResult(
                display, "rejected", doc_id, f"文件超过大小上限（{limit_mb:.0f} MB）。"
            )
        # Index from an incoming copy; it replaces the kept file only once it was accepted,
        # so a bad new version never destroys the good old one.
        incoming = folder / f".incoming-{doc_id}{ext}"
        incoming.write_bytes(data)
        try:
            meta = self.catalog.meta(doc_id)
            result = self.ingestor.ingest(
                [Source(incoming, doc_id, display)], progress, {doc_id: meta} if meta else None
            )[0]
            if result.status in ("indexed", "replaced", "unchanged"):
                incoming.replace(target)
        finally:
            incoming.unlink(missing_ok=True)
        self.retriever.refresh(force=True)
        return result

    def remove(self, doc_id: str) -> bool:
        def hidden() -> None:
            # Questions in flight finish on the snapshot that still has the report; new
            # ones start without it; only then are its chunks deleted.
            self.retriever.refresh(force=True)
            if not self.retriever.drain():
                log.warning("questions still running when %s was removed", doc_id)

        with self.store.write_lock():
            removed = self.store.remove_document(doc_id, hidden=hidden)
        if removed:
            for f in self.settings.upload_dir.glob(f"{doc_id}.*"):
                f.unlink(missing_ok=True)
        self.retriever.refresh(force=True)
        return removed

    def update_metadata(self, doc_id: str, **changes: str) -> None:
        with self.store.write_lock():
            self.store.update_meta(doc_id, **changes)
        self.retriever.refresh(force=True)

    def documents(self) -> list[dict[str, Any]]:
        return [
            {
                **r.meta.to_dict(),
                "status": r.status,
                "chunks": r.n_chunks,
                "content_hash": r.content_hash,
                "uploaded": r.doc_id.startswith(UPLOAD_PREFIX),
                "source_file": r.meta.source,
                "format": r.meta.format or Path(r.meta.source).suffix.lstrip(".").lower(),
            }
            for r in self.store.records()
        ]

    def document_text(self, doc_id: str) -> tuple[DocMeta, list]:
        record = self.store.record(doc_id)
        if record is None:
            raise StoreError(f"找不到报告 {doc_id}。")
        return record.meta, self.store.chunks_of(doc_id)

    # ---- questions -----------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int | None = None,
        regions: list[str] | None = None,
        scope=None,
    ) -> list[Passage]:
        """Top passages; `scope` limits them to chosen reports, regions, kinds and years (an
        empty list when nothing in the library matches it)."""
        k = k or self.settings.top_k
        if scope is None or not scope.any:
            return self.retriever.search(query, k=k, regions=regions)
        with self.retriever.pinned():
            docs = self.scoped_docs(scope)
            if not docs:
                return []
            return self.retriever.search(
                query, k=k, regions=[*(regions or []), *scope.regions] or None, doc_ids=docs
            )

    def scoped_docs(self, scope) -> list[str]:
        """Ids of the indexed reports `scope` admits (all of them for an empty scope)."""
        return [d.doc_id for d in self.retriever.documents() if scope.admits(d)]

    def status(self) -> dict[str, Any]:
        records = self.store.records()
        regions: dict[str, int] = {}
        for r in records:
            if r.meta.region:
                regions[r.meta.region] = regions.get(r.meta.region, 0) + 1
        return {
            "documents": len(records),
            "chunks": self.store.count(),
            "regions": regions,
            "embedding_model": self.store.embeddings.model_id,
            "store": self.store.describe(),
            "incomplete": [r.doc_id for r in records if r.status != "indexed"],
        }

    # ---- answers -------------------------------------------------------------------------

    @property
    def prompts(self):
        """The process's prompt library (validated, last good version kept on bad edits)."""
        with _LAZY_LOCK:
            if "prompts" not in self.extras:
                from assistant.prompts import PromptLibrary

                self.extras["prompts"] = PromptLibrary(self.settings.prompts_dir)
            return self.extras["prompts"]

    def answerer(self, offline: bool = False):
        """The process's answerer (one per offline flag), built once by the one factory.

        A chat model injected as `extras["chat_model"]` (tests, fakes) goes through the same
        factory; sessions share the answerer, which keeps no per-question state.
        """
        offline = bool(offline or self.settings.offline)
        key = (offline, id(self.extras.get("chat_model")))
        prompts = self.prompts
        with _LAZY_LOCK:
            built = self._answerers.get(key)
            if built is None:
                from assistant.answer_llm import make_answerer

                built = make_answerer(
                    self.settings,
                    self.extras.get("chat_model"),
                    offline,
                    prompts=prompts,
                    retriever=self.retriever,
                )
                self._answerers[key] = built
            return built

    @property
    def answerer_name(self) -> str:
        """Who answers by default, as `Answer.answerer` names it (`offline` or `llm:<model>`)."""
        return self.answerer().name

    def ask(
        self,
        question: str,
        *,
        history: list[dict] | None = None,
        mode: str = "auto",
        regions: list[str] | None = None,
        k: int | None = None,
        prompt: str | None = None,
        offline: bool = False,
        chat_model=None,
        on_token=None,
        scope=None,
    ):
        """Answer a question (or a cross-district theme with mode="compare") with citations;
        `scope` (`assistant.scope.Scope`) limits it to chosen reports, kinds and years."""
        from assistant.chain import answer_question

        shared = self.answerer(offline) if chat_model is None else None
        return answer_question(
            question,
            retriever=self.retriever,
            settings=self.settings,
            history=history,
            mode=mode,
            regions=regions,
            k=k,
            prompt=prompt,
            offline=offline,
            chat_model=chat_model if chat_model is not None else self.extras.get("chat_model"),
            prompts=self.prompts,
            on_token=on_token,
            answerer=shared,
            scope=scope,
        )
