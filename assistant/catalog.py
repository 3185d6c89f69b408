"""The report catalog: metadata for known reports and the region names users type."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from assistant.types import DocMeta

_SUFFIXES = ("自治区", "自治县", "自治州", "特别行政区", "省", "市", "区", "县", "旗", "州", "盟")


def short_name(place: str) -> str:
    """'清河门区' -> '清河门', '大连市' -> '大连'; names of two characters stay whole."""
    for suffix in _SUFFIXES:
        if place.endswith(suffix) and len(place) - len(suffix) >= 2:
            return place[: -len(suffix)]
    return place


class CatalogError(ValueError):
    """The catalog file is unreadable; the message says which file and why."""


@dataclass
class Catalog:
    """Metadata keyed by document id, plus extra aliases per region."""

    entries: dict[str, DocMeta] = field(default_factory=dict)
    aliases: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Catalog:
        if not path.exists():
            return cls()
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise CatalogError(f"{path.name}: 目录文件格式错误（{exc}），请修正 YAML。") from exc
        if not isinstance(raw, dict):
            raise CatalogError(f"{path.name}: 目录文件应为“文档编号: 元数据”的映射。")
        entries: dict[str, DocMeta] = {}
        aliases: dict[str, list[str]] = {}
        known = set(DocMeta.__dataclass_fields__)
        for doc_id, data in raw.items():
            data = dict(data or {})
            extra = [str(a) for a in data.pop("aliases", []) or []]
            fields = {k: str(v) if v is not None else "" for k, v in data.items() if k in known}
            fields.pop("doc_id", None)
            meta = DocMeta(doc_id=str(doc_id), **fields)
            entries[meta.doc_id] = meta
            if meta.region:
                aliases.setdefault(meta.region, []).extend(extra)
        return cls(entries=entries, aliases=aliases)

    def meta(self, doc_id: str) -> DocMeta | None:
        return self.entries.get(doc_id)

    def regions(self) -> list[str]:
        seen: dict[str, None] = {}
        for meta in self.entries.values():
            if meta.region:
                seen.setdefault(meta.region, None)
        return list(seen)

    def region_names(self, extra_regions: list[str] = ()) -> dict[str, str]:
        """Every name a user may type for a region -> the canonical region name.

        Longer names win at match time, so '青山区' is matched before '青山'.
        """
        names: dict[str, str] = {}
        metas = {m.region: m for m in self.entries.values() if m.region}
        for region in [*self.regions(), *extra_regions]:
            if not region:
                continue
            names[region] = region
            names.setdefault(short_name(region), region)
            for alias in self.aliases.get(region, []):
                names.setdefault(alias, region)
            meta = metas.get(region)
            if meta and meta.city and meta.city != region:
                names.setdefault(meta.city + region, region)
                names.setdefault(short_name(meta.city) + short_name(region), region)
            for latin in romanized(region):
                names.setdefault(latin, region)
        return names


def romanized(place: str) -> list[str]:
    """How English text writes a Chinese place: the pinyin of its short name, as one word
    ("咸阳市" -> "Xianyang", also "xianyang"), so an English question filters by region
    as a Chinese one does. [] for a name that is not Chinese."""
    from pypinyin import lazy_pinyin

    short = short_name(place)
    if len(short) < 2 or not all("\u4e00" <= ch <= "\u9fff" for ch in short):
        return []
    word = "".join(lazy_pinyin(short))
    return [word.capitalize(), word]


# A title shorter than this names a kind of document (《条例》, 《决定》), not one report.
TITLE_NAME_MIN = 6
_QUOTED_TITLE_RE = re.compile(r"《([^《》]{2,120})》")


def _squashed(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def titled_documents(query: str, docs: Iterable[Any]) -> list[str]:
    """Reports the query names by title: a title in 《》 that is (or is most of) a report's
    title, or a report's whole title written out in the query."""
    text = _squashed(query)
    quoted = [_squashed(q) for q in _QUOTED_TITLE_RE.findall(text)]
    found: list[str] = []
    for d in docs:
        title = _squashed(d.title)
        if len(title) < TITLE_NAME_MIN:
            continue
        if title in text or any(
            len(q) >= TITLE_NAME_MIN and (q in title and 2 * len(q) > len(title)) for q in quoted
        ):
            found.append(d.doc_id)
    return found


def without_titles(query: str, docs: Iterable[Any], doc_ids: list[str]) -> str:
    """The query with the named reports' titles (and their 《》) taken out; the query itself
    when little else is left."""
    text = unicodedata.normalize("NFKC", query)
    for d in docs:
        if d.doc_id not in doc_ids:
            continue
        title = unicodedata.normalize("NFKC", d.title).strip()
        for m in list(_QUOTED_TITLE_RE.finditer(text)):
            inner = _squashed(m.group(1))
            if len(inner) >= TITLE_NAME_MIN and inner in _squashed(title):
                text = text.replace(m.group(0), " ")
        if title:
            text = text.replace(title, " ")
    rest = text.strip(" ，,。？?！!")
    return rest if len(rest) >= 2 else query


def written_names(names: Mapping[str, str], regions: Iterable[str]) -> list[str]:
    """The Chinese names (two characters or more) `names` gives for `regions`: how a
    report's heading or text writes them (pinyin is for questions only)."""
    wanted = set(regions)
    return [n for n, r in names.items() if r in wanted and len(n) >= 2 and not n.isascii()]


def find_regions(text: str, names: dict[str, str]) -> list[str]:
    """Canonical regions named in `text`, in order of first mention, longest names first."""
    if not text or not names:
        return []
    pattern = re.compile(
        "|".join(
            # A Latin name is a whole word ("Xianyang", not the start of "Xianyangqiao").
            rf"(?<![A-Za-z]){re.escape(n)}(?![A-Za-z])" if n.isascii() else re.escape(n)
            for n in sorted(names, key=len, reverse=True)
        )
    )
    found: dict[str, None] = {}
    for match in pattern.finditer(text):
        found.setdefault(names[match.group(0)], None)
    return list(found)
