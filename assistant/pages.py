"""Which page of the source each chunk starts on, found by locating its text in the raw pages.

Cleaning rewrites whitespace, joins paragraphs broken by a page break and drops running
headers, so chunk text is not a substring of the raw page text. Both are compared with only
letters and digits kept (NFKC, lower case): what the cleaner never changes.
"""

from __future__ import annotations

import bisect
import dataclasses
import unicodedata
from collections.abc import Sequence

from assistant.types import Chunk

# Anchor lengths tried in turn (normalised characters from the chunk's start). 24 characters
# of Chinese prose practically never repeat within a report; shorter ones rescue chunks whose
# opening was altered (a dropped header inside it, an OCR error near its start).
_ANCHORS = (24, 12, 6)
# Where the opening is not found, windows this far apart further into the chunk are tried:
# the chunk then starts on that window's page or, across a page break, the one before.
_STRIDE = 24


def normalise(text: str) -> str:
    """Only letters and digits, NFKC-folded and lower-cased."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).lower() if ch.isalnum())


class PageIndex:
    """The normalised text of all pages, end to end, and where each page ends in it."""

    def __init__(self, pages: Sequence[str]) -> None:
        parts = [normalise(p) for p in pages]
        self.text = "".join(parts)
        self.ends: list[int] = []
        pos = 0
        for part in parts:
            pos += len(part)
            self.ends.append(pos)

    def page_at(self, pos: int) -> int:
        """1-based page holding normalised offset `pos`."""
        return min(bisect.bisect_right(self.ends, pos), len(self.ends) - 1) + 1

    def find(self, chunk_text: str, cursor: int) -> int:
        """Normalised offset where `chunk_text` starts, searching from `cursor` first; -1."""
        key = normalise(chunk_text)
        if not key or not self.text:
            return -1
        for size in _ANCHORS:
            anchor = key[:size]
            if len(anchor) < min(size, len(key)):
                continue
            for start in (cursor, 0):
                hit = self.text.find(anchor, start)
                if hit != -1:
                    return hit
        for offset in range(_STRIDE, len(key) - _ANCHORS[-1] + 1, _STRIDE):
            anchor = key[offset : offset + _ANCHORS[0]]
            for start in (cursor, 0):
                hit = self.text.find(anchor, start)
                if hit != -1:
                    return max(0, hit - offset)
        return -1


def assign_pages(chunks: Sequence[Chunk], pages: Sequence[str]) -> list[Chunk]:
    """`chunks` with `page` set to the page each starts on (0 where its text is not found).

    Body chunks are located in reading order, each search starting where the previous chunk
    started (chunks may overlap), so a sentence repeated later in the report does not pull
    an early chunk forward. Captions are looked up anywhere.
    """
    if not pages:
        return list(chunks)
    index = PageIndex(pages)
    out: list[Chunk] = []
    cursor = 0
    for chunk in chunks:
        hit = index.find(chunk.text, cursor if chunk.kind == "body" else 0)
        if hit == -1:
            out.append(dataclasses.replace(chunk, page=0))
            continue
        if chunk.kind == "body" and hit >= cursor:
            cursor = hit
        out.append(dataclasses.replace(chunk, page=index.page_at(hit)))
    return out
