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

from assistant.types import Passage

log = logging.getLogger(__name__)


def _divisions(text: str) -> list:
    try:
        from assistant.gazetteer import all_divisions, divisions_in

        if not text:
            all_divisions()
            return []
        return divisions_in(text)
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
        if any(n in p.chunk.text for p in passages for n in names if len(n) >= 2):
            continue  # the reports talk about it even if none is about it
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
