"""Plain data records passed between pipeline stages."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class DocMeta:
    """What we know about a report: from the catalog, or inferred from its text."""

    doc_id: str
    title: str = ""
    subtitle: str = ""
    region: str = ""
    city: str = ""
    province: str = ""
    authors: str = ""
    kind: str = ""
    source: str = ""  # original file name, as escaped metadata only
    inferred: bool = False  # True when region/title were guessed from the text
    year: str = ""  # "2023"
    date: str = ""  # ISO "2023-01-05" when the document states a full date
    issuer: str = ""  # issuing body named in the header or signature, "、"-joined
    format: str = ""  # file type the text was loaded from: "txt", "pdf", "docx"…
    pages: int = 0  # 0 when unknown

    def __post_init__(self) -> None:
        # Catalog YAML and metadata edits hand every value over as text.
        try:
            self.pages = int(self.pages or 0)
        except (TypeError, ValueError):
            self.pages = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CleanDocument:
    """A report after loading and cleaning: body text plus what was separated from it."""

    doc_id: str
    text: str  # cleaned body text; paragraphs separated by "\n\n"; offsets refer to this
    meta: DocMeta
    content_hash: str  # sha256 of the raw decoded text
    captions: list[str] = field(default_factory=list)
    byline: list[str] = field(default_factory=list)  # bylines, editor lines


@dataclass(frozen=True)
class Chunk:
    """A unit of retrieval: whole sentences of one paragraph-run of one report."""

    chunk_id: str
    doc_id: str
    text: str
    region: str
    title: str
    section: str
    paragraph: int
    start: int
    end: int
    kind: str = "body"  # "body" or "caption"
    page: int = 0  # page of the source the chunk starts on (1-based); 0 = not paged or unknown

    def metadata(self) -> dict[str, Any]:
        return {
            "chunk_id": self.chunk_id,
            "doc_id": self.doc_id,
            "region": self.region,
            "title": self.title,
            "section": self.section,
            "paragraph": self.paragraph,
            "start": self.start,
            "end": self.end,
            "kind": self.kind,
            "page": self.page,
        }

    @classmethod
    def from_metadata(cls, text: str, md: dict[str, Any]) -> Chunk:
        return cls(
            chunk_id=str(md["chunk_id"]),
            doc_id=str(md["doc_id"]),
            text=text,
            region=str(md.get("region", "")),
            title=str(md.get("title", "")),
            section=str(md.get("section", "")),
            paragraph=int(md.get("paragraph", 0)),
            start=int(md.get("start", 0)),
            end=int(md.get("end", 0)),
            kind=str(md.get("kind", "body")),
            page=_int(md.get("page", 0)),
        )


@dataclass
class Passage:
    """A retrieved chunk with its fused score and where each ranker put it."""

    chunk: Chunk
    score: float
    dense_rank: int | None = None
    bm25_rank: int | None = None
    dense_sim: float | None = None  # cosine similarity to the query, when dense found it
    bm25_score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        c = self.chunk
        return {
            "chunk_id": c.chunk_id,
            "doc_id": c.doc_id,
            "region": c.region,
            "title": c.title,
            "section": c.section,
            "start": c.start,
            "end": c.end,
            "page": c.page,
            "score": round(self.score, 6),
            "text": c.text,
        }


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
