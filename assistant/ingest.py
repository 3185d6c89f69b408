"""Ingest: files → load → clean → chunk → embed (cached) → store, idempotently."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from assistant.catalog import Catalog
from assistant.chunking import chunk_document
from assistant.cleaning import clean_document, infer_meta
from assistant.loading import SUPPORTED_SUFFIXES, LoadError, load_document
from assistant.ocr import OcrCache
from assistant.pages import assign_pages
from assistant.store import STATUS_INDEXED, DocRecord, ReportStore, StoreError
from assistant.types import Chunk, DocMeta

log = logging.getLogger(__name__)

INDEXED = "indexed"
UNCHANGED = "unchanged"
REPLACED = "replaced"
DUPLICATE = "duplicate"
REJECTED = "rejected"
SKIPPED = "skipped"  # in a folder but not a report (unsupported format, the catalog)

STATUS_LABELS = {
    INDEXED: "已索引",
    UNCHANGED: "未变化，已跳过",
    REPLACED: "已更新（替换旧版本）",
    DUPLICATE: "内容重复，已跳过",
    REJECTED: "已拒绝",
    SKIPPED: "已跳过",
}

# (message, done, total): done/total count the chunks embedded so far in this batch or, while a
# scanned PDF is read, its pages read by OCR. The message is a `Step`: the file's name, with
# `.stage` saying which of the two is counted.
Progress = Callable[[str, int, int], None]

EMBED = "embed"
OCR = "ocr"


class Step(str):
    """A progress message: the file's display name (as before), plus the stage it reports.

    A `str`, so callbacks written for plain names keep working; new ones read `.stage`
    (EMBED: chunks embedded, OCR: scanned pages read) and `.name`.
    """

    stage: str
    name: str

    def __new__(cls, name: str, stage: str = EMBED) -> Step:
        step = super().__new__(cls, name)
        step.name = name
        step.stage = stage
        return step


_EMBED_BATCH = 8


@dataclass
class IngestResult:
    name: str
    status: str
    doc_id: str = ""
    reason: str = ""
    chunks: int = 0

    @property
    def ok(self) -> bool:
        return self.status != REJECTED

    def line(self) -> str:
        label = STATUS_LABELS[self.status]
        detail = f"：{self.reason}" if self.reason else ""
        count = f"（{self.chunks} 个段落）" if self.status in (INDEXED, REPLACED) else ""
        return f"{self.name}\t{self.status}\t{label}{count}{detail}"

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Source:
    """A file to index: where it is, its document id, and its name as the user knows it."""

    path: Path
    doc_id: str
    display_name: str


_SAFE_ID = re.compile(r"[^0-9A-Za-z_\-\u4e00-\u9fff]")


def doc_id_for(path: Path) -> str:
    """The file name without extension is the document id (made safe for metadata)."""
    stem = _SAFE_ID.sub("_", path.stem)[:80].strip("_")
    return stem or "doc_" + hashlib.sha256(path.name.encode()).hexdigest()[:12]


def _folder_files(folder: Path) -> list[Path]:
    """Every file under `folder`, sorted; hidden folders (a store's temporary ".bm25-…"
    while it saves) are not entered, and an entry that vanishes mid-walk is passed over."""
    out: list[Path] = []
    for root, dirs, files in os.walk(folder, onerror=lambda _exc: None):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        out.extend(Path(root) / f for f in files)
    return sorted(out)


def collect_sources(
    paths: Iterable[Path], catalog: Path | None = None
) -> tuple[list[Source], list[IngestResult]]:
    """Files named directly, and the files inside folders (sorted). Every file of a folder is
    accounted for: one it cannot index is listed as skipped with the reason, never dropped
    silently (hidden files and the catalog of report metadata are not reports)."""
    sources: list[Source] = []
    problems: list[IngestResult] = []
    for path in paths:
        if path.is_dir():
            for f in _folder_files(path):
                if not f.is_file() or any(
                    part.startswith(".") for part in f.relative_to(path).parts
                ):
                    continue
                if f.suffix.lower() in SUPPORTED_SUFFIXES:
                    sources.append(Source(f, doc_id_for(f), f.name))
                elif catalog is not None and _same_file(f, catalog):
                    problems.append(
                        IngestResult(f.name, SKIPPED, reason="报告目录（元数据文件），不是报告")
                    )
                else:
                    problems.append(
                        IngestResult(
                            str(f.relative_to(path)),
                            SKIPPED,
                            reason=f"不支持的格式“{f.suffix or '无扩展名'}”；"
                            f"支持 {' '.join(SUPPORTED_SUFFIXES)}",
                        )
                    )
        elif path.is_file():
            sources.append(Source(path, doc_id_for(path), path.name))
        else:
            problems.append(IngestResult(str(path), REJECTED, reason="文件不存在，请检查路径。"))
    return sources, problems


@dataclass
class Prepared:
    source: Source
    meta: DocMeta
    content_hash: str
    chunks: list[Chunk]
    notes: tuple[str, ...] = ()  # for the user, e.g. which pages were read by OCR


class Ingestor:
    """Indexes files into a store; the same instance serves the CLI, the UI and tests."""

    def __init__(self, store: ReportStore, catalog: Catalog, settings) -> None:
        self.store = store
        self.catalog = catalog
        self.settings = settings
        # Scanned pages already read, so re-indexing an unchanged scan does not OCR it again.
        self.ocr_cache = OcrCache(settings.store_dir / "ocr.sqlite3")

    def prepare(
        self,
        source: Source,
        meta_override: DocMeta | None = None,
        progress: Progress | None = None,
    ) -> Prepared:
        s = self.settings
        on_page = None
        if progress is not None:
            step = Step(source.display_name, OCR)

            def on_page(done: int, total: int) -> None:
                progress(step, done, total)

        loaded = load_document(
            source.path,
            max_bytes=s.max_file_bytes,
            max_chars=s.max_chars,
            on_page=on_page,
            ocr_cache=self.ocr_cache,
        )
        raw = loaded.text
        meta = meta_override or self.catalog.meta(source.doc_id)
        if meta is None:
            meta = infer_meta(source.doc_id, raw, self.catalog.regions())
        meta = DocMeta(**{**meta.to_dict(), "doc_id": source.doc_id})
        if not meta.source:
            meta.source = source.display_name
        meta.format = meta.format or loaded.format
        if loaded.pages:
            meta.pages = len(loaded.pages)
        doc = clean_document(source.doc_id, raw, meta, self.catalog.regions())
        if not doc.meta.title.strip():
            # A text with no title line (a news story saved as plain text) is listed and
            # cited by its file name, as a file manager shows it, never as an empty 《》.
            doc.meta.title = Path(source.display_name).stem.strip() or source.doc_id
        chunks = chunk_document(
            doc,
            min_chars=s.chunk_min_chars,
            max_chars=s.chunk_max_chars,
            max_chunks=s.max_chunks_per_file,
        )
        if not any(c.kind == "body" for c in chunks):
            raise LoadError(source.display_name, "没有可索引的正文内容。")
        if loaded.pages:
            chunks = assign_pages(chunks, loaded.pages)
        return Prepared(source, doc.meta, doc.content_hash, chunks, loaded.notes)

    def ingest(
        self,
        sources: list[Source],
        progress: Progress | None = None,
        metas: dict[str, DocMeta] | None = None,
    ) -> list[IngestResult]:
        results: list[IngestResult] = []
        prepared: list[Prepared] = []
        first_with_id: dict[str, Source] = {}
        for source in sources:
            first = first_with_id.setdefault(source.doc_id, source)
            if first is not source:
                if _same_file(first.path, source.path):
                    continue  # named twice in one command
                results.append(
                    IngestResult(
                        source.display_name,
                        REJECTED,
                        source.doc_id,
                        f"文件名与同批的“{first.display_name}”对应同一个文档编号 {source.doc_id}，"
                        "两者会互相覆盖。请改名后再导入。",
                    )
                )
                continue
            try:
                prepared.append(self.prepare(source, (metas or {}).get(source.doc_id), progress))
            except LoadError as exc:
                results.append(
                    IngestResult(source.display_name, REJECTED, source.doc_id, exc.reason)
                )
            except (ValueError, OSError) as exc:
                results.append(
                    IngestResult(source.display_name, REJECTED, source.doc_id, _reason(exc))
                )
        # Embedding is the slow part and needs no lock: vectors go to the cache, and the
        # writes below take them from there. Reports already indexed unchanged are skipped.
        seen = {r.doc_id: r for r in self.store.records()}
        to_embed = [
            p
            for p in prepared
            if not (
                (old := seen.get(p.source.doc_id)) is not None
                and old.content_hash == p.content_hash
                and old.status == STATUS_INDEXED
            )
        ]
        total = sum(len(p.chunks) for p in to_embed)
        done = 0
        failed: set[str] = set()
        for p in to_embed:
            step = Step(p.source.display_name)
            try:
                for i in range(0, len(p.chunks), _EMBED_BATCH):
                    batch = p.chunks[i : i + _EMBED_BATCH]
                    self.store.embeddings.embed_documents([c.text for c in batch])
                    done += len(batch)
                    if progress:
                        progress(step, done, total)
            except StoreError:
                raise
            except Exception as exc:  # one bad file must not stop the batch
                log.warning("embedding %s failed: %s", p.source.doc_id, type(exc).__name__)
                results.append(
                    IngestResult(p.source.display_name, REJECTED, p.source.doc_id, _reason(exc))
                )
                failed.add(p.source.doc_id)
        results += self.write([p for p in prepared if p.source.doc_id not in failed])
        order = {s.display_name: i for i, s in enumerate(sources)}
        return sorted(results, key=lambda r: order.get(r.name, len(order)))

    def write(
        self, prepared: list[Prepared], on_written: Callable[[], None] | None = None
    ) -> list[IngestResult]:
        """Write prepared reports whose vectors are in the cache, a few at a time per lock.

        The write lock is held only while writing, for one new version of a report or for
        new reports of up to one upsert batch of chunks together (under a second): another
        writer (an upload in the app during a long ingest) waits that long, not for the
        whole batch. The reports' records are read once and kept up to date with this
        batch's writes; they are read again when the store's generation shows another
        writer was there. `on_written` is called after each lock is released.
        """
        results: list[IngestResult] = []
        records: dict[str, DocRecord] = {}
        known = None  # the generation `records` reflects
        limit = self.store._add_batch()
        i = 0
        while i < len(prepared):
            done: list[IngestResult] = []
            with self.store.write_lock():
                generation = self.store.fingerprint()
                if generation != known:
                    records = {r.doc_id: r for r in self.store.records()}
                group: list[Prepared] = []
                size = 0
                while i < len(prepared):
                    p = prepared[i]
                    decided = self._decide(p, prepared, records)
                    if decided is not None and any(
                        decided.doc_id == g.source.doc_id for g in group
                    ):
                        break  # a copy of one not yet written: decided once that is in
                    if decided is not None:
                        done.append(decided)
                        i += 1
                        continue
                    new = p.source.doc_id not in records
                    if group and (not new or size + len(p.chunks) > limit):
                        break
                    i += 1
                    if not new:  # a new version is written alone, as put_document does it
                        done.append(self._write(p, prepared, records))
                        break
                    group.append(p)
                    size += len(p.chunks)
                    # Its record now, so a copy later in this batch is seen as one.
                    records[p.source.doc_id] = DocRecord(
                        p.meta, p.content_hash, STATUS_INDEXED, len(p.chunks), time.time()
                    )
                    if size >= limit:
                        break
                done += self._write_new(group, prepared, records)
                statuses = {r.status for r in done}
                if REJECTED in statuses:  # undone as far as it could be: read again
                    known = None
                elif statuses & {INDEXED, REPLACED}:
                    known = self.store.last_generation
                else:
                    known = generation
            results += done
            if on_written is not None:
                on_written()
        return results

    def _write_new(
        self,
        group: list[Prepared],
        batch: list[Prepared],
        records: dict[str, DocRecord],
    ) -> list[IngestResult]:
        """Write new reports together; if that fails, one at a time, so only the report
        that fails is rejected."""
        if not group:
            return []
        items = [(DocRecord(p.meta, p.content_hash, "", 0, time.time()), p.chunks) for p in group]
        # A writer that died may have left an "indexing" record (no new generation, so
        # `records` may not show it): such a report goes the way of a new version.
        left = {r.doc_id for r in self.store.records_of([p.source.doc_id for p in group])}
        try:
            if left:
                raise _Fallback
            self.store.put_new_documents(items)
        except StoreError:
            raise
        except Exception as exc:
            if not isinstance(exc, _Fallback):
                log.warning(
                    "writing %d reports together failed: %s", len(group), type(exc).__name__
                )
            for p in group:
                records.pop(p.source.doc_id, None)
            return [self._write(p, batch, records) for p in group]
        results = []
        for p, (record, _) in zip(group, items, strict=True):
            records[p.source.doc_id] = record
            name, notes = p.source.display_name, "；".join(p.notes)
            results.append(
                IngestResult(name, INDEXED, p.source.doc_id, notes, chunks=len(p.chunks))
            )
        return results

    def _decide(
        self, p: Prepared, batch: list[Prepared], records: dict[str, DocRecord]
    ) -> IngestResult | None:
        """UNCHANGED or DUPLICATE if `p` needs no write (decided under the write lock, from
        `records`: the store as it is now); None if it is new or a new version."""
        name = p.source.display_name
        # Versions this batch is about to replace no longer count as the original of a copy.
        replacing = {
            q.source.doc_id
            for q in batch
            if q.source.doc_id in records
            and records[q.source.doc_id].content_hash != q.content_hash
        }
        by_hash = {
            r.content_hash: (r.doc_id, r.meta.source or r.meta.title or r.doc_id)
            for r in sorted(records.values(), key=lambda r: r.doc_id)
            if r.status == STATUS_INDEXED and r.doc_id not in replacing
        }
        old = records.get(p.source.doc_id)
        twin, twin_name = by_hash.get(p.content_hash, ("", ""))
        if old and old.content_hash == p.content_hash and old.status == STATUS_INDEXED:
            return IngestResult(name, UNCHANGED, old.doc_id)
        if twin and twin != p.source.doc_id:
            return IngestResult(
                name, DUPLICATE, twin, f"与已索引的“{twin_name}”（{twin}）内容相同。"
            )
        return None

    def _write(
        self, p: Prepared, batch: list[Prepared], records: dict[str, DocRecord]
    ) -> IngestResult:
        """Write `p` alone (a new report, or a new version of one), unless `records` show it
        needs no write; a written record goes into `records`."""
        decided = self._decide(p, batch, records)
        if decided is not None:
            return decided
        name = p.source.display_name
        old = records.get(p.source.doc_id)
        status = REPLACED if old and old.status == STATUS_INDEXED else INDEXED
        try:
            record = DocRecord(p.meta, p.content_hash, "", 0, time.time())
            # put_document reads the record itself, to clear the chunks of a writer that
            # died after writing an "indexing" record.
            self.store.put_document(record, p.chunks)
        except StoreError:
            raise
        except Exception as exc:  # one bad file must not stop the batch
            log.warning("indexing %s failed: %s", p.source.doc_id, type(exc).__name__)
            return IngestResult(name, REJECTED, p.source.doc_id, _reason(exc))
        records[p.source.doc_id] = record
        return IngestResult(name, status, p.source.doc_id, "；".join(p.notes), chunks=len(p.chunks))


class _Fallback(Exception):
    """Write the group one report at a time."""


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    if text and any("\u4e00" <= ch <= "\u9fff" for ch in text):
        return text
    return f"处理失败（{type(exc).__name__}），请检查文件内容。"
