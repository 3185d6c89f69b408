"""Which places a question names that no report in the library is about.

A brief writer asking about 上海市 in a library of other places should hear that the library
has no report on 上海市, not read another region's figures. Places are real administrative
divisions (`assistant.gazetteer`); a place counts as covered when a report's region is that
place, lies inside it (a question about a province, reports on its counties) or contains it
(a question about a county, the report on its city), or when the retrieved passages name it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from assistant.types import Passage

log = logging.getLogger(__name__)


def _divisions(text: str) -> list:
    try:
        from assistant.gazetteer import all_divisions, divisions_in, latin_divisions

        if not text:
            all_divisions()
            return []
        found = divisions_in(text)
        return found + [d for d in latin_divisions(text) if d not in found]
    except Exception:  # noqa: BLE001 - without the gazetteer no place is judged uncovered
        log.warning("gazetteer unavailable; places in questions are not checked", exc_info=True)
        return []


def warm() -> None:
    """Load the gazetteer now (about 1.5 s, once per process), outside any answer deadline."""
    _divisions("")


def _family(region: str) -> set[str]:
    """A library region with its parents (city, province)."""
    from assistant.gazetteer import canonical

    out = {region}
    d = canonical(region)
    if d is not None:
        out.add(d.name)
        out.update(d.parents)
    return out


def uncovered_places(
    question: str,
    library_regions: Iterable[str],
    passages: Sequence[Passage] = (),
    mentioned: Callable[[str], bool] | None = None,
) -> list[str]:
    """Full names of the places the question names that nothing in the library covers.

    `mentioned(name)` says whether any indexed text names the place (a speech quoting
    several counties is about none of them, but answers questions on each).
    """
    named = _divisions(question)
    if not named:
        return []
    regions = [r for r in library_regions if r]
    families = {r: _family(r) for r in regions}
    out: list[str] = []
    for d in named:
        names = {d.name, d.short} - {""}
        if any(d.name in fam for fam in families.values()):
            continue  # the place is a library region or contains one
        if any(r in d.parents or r in names for r in regions):
            continue  # the place lies inside a library region
        if any(
            n in p.chunk.text or n in p.chunk.section or n in p.chunk.title
            for p in passages
            for n in names
            if len(n) >= 2
        ):
            continue  # the reports talk about it (or head a case with it), none is about it
        if mentioned is not None and any(mentioned(n) for n in names if len(n) >= 2):
            continue
        out.append(d)
    # 四川省绵竹市: when the city is covered, its province is only its address.
    covered = [d for d in named if d not in out]
    out = [d for d in out if not any(d.name in c.parents for c in covered)]
    labels: list[str] = []
    for d in out:
        label = d.name if not d.parents or d.name == d.province else f"{d.parents[-1]}{d.name}"
        if label not in labels:
            labels.append(label)
    return labels


def place_message(places: Sequence[str], library_regions: Sequence[str]) -> str:
    shown = [r for r in library_regions if r][:12]
    have = f"资料库现有报告涉及：{'、'.join(shown)}。" if shown else ""
    return (
        f"资料库中没有关于{'、'.join(places)}的报告，无法回答该问题。{have}"
        "可以在资料库中上传相关报告后再问。"
    )


def regions_within(question: str, library_regions: Iterable[str]) -> list[str]:
    """Library regions that lie inside a larger place the question names (辽宁省 -> the
    reports on its cities and counties), in library order."""
    named = {d.name for d in _divisions(question)}
    if not named:
        return []
    out = []
    for region in library_regions:
        if not region or region in named:
            continue
        if _family(region) & named:
            out.append(region)
    return out


# ---- a question limited to chosen reports -------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Which reports a question may use: chosen documents, regions, kinds and years.

    Each given criterion must hold (an empty one holds for every report); a scope with no
    criteria is the whole library.
    """

    doc_ids: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    years: tuple[str, ...] = ()

    @classmethod
    def of(
        cls,
        doc_ids: Iterable[str] | None = None,
        regions: Iterable[str] | None = None,
        kinds: Iterable[str] | None = None,
        years: Iterable[str | int] | None = None,
    ) -> Scope:
        def clean(values) -> tuple[str, ...]:
            out: list[str] = []
            for v in values or ():
                text = str(v).strip()
                if text and text not in out:
                    out.append(text)
            return tuple(out)

        return cls(clean(doc_ids), clean(regions), clean(kinds), clean(years))

    @property
    def limited(self) -> bool:
        """Whether this scope narrows the library at all (regions alone are the old filter)."""
        return bool(self.doc_ids or self.kinds or self.years)

    @property
    def any(self) -> bool:
        return bool(self.doc_ids or self.regions or self.kinds or self.years)

    def admits(self, doc: Any) -> bool:
        """Whether a report (anything with doc_id, region, kind, year, date) is in scope."""
        if self.doc_ids and doc.doc_id not in self.doc_ids:
            return False
        if self.regions and getattr(doc, "region", "") not in self.regions:
            return False
        if self.kinds and getattr(doc, "kind", "") not in self.kinds:
            return False
        if self.years:
            year = str(getattr(doc, "year", "") or "")[:4] or str(getattr(doc, "date", ""))[:4]
            if year not in self.years:
                return False
        return True

    def describe(self) -> str:
        """The scope in words for the user: “地区：大连市；类型：条例；年份：2023”."""
        parts = []
        for label, values in (
            ("报告", self.doc_ids),
            ("地区", self.regions),
            ("类型", self.kinds),
            ("年份", self.years),
        ):
            if values:
                parts.append(f"{label}：{'、'.join(values)}")
        return "；".join(parts)


def empty_scope_message(scope: Scope) -> str:
    return (
        f"资料库中没有符合所选范围（{scope.describe()}）的报告，因此没有检索。"
        "请放宽筛选条件，或在资料库中导入相应的报告。"
    )
