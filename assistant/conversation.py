"""Follow-up questions rewritten into standalone questions before retrieval.

After “薛城区怎样整顿软弱涣散党组织？”, “那大连呢？” becomes “大连市怎样整顿软弱涣散党组织？”.
With an LLM the rewrite uses prompts/condense.md; offline (and whenever the model fails) the
previous topic is carried over and the region swapped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from assistant.catalog import short_name
from assistant.compare import CROSS_WORDS

_FILLER = re.compile(
    r"^(那么|那|还有|另外|再说说|再看看|再问一下|请问|那请问|和|跟|以及|对于|关于)+|"
    r"(呢|吗|怎么样|如何|咋样|情况|的情况|又是怎样的|又如何|是怎样的|也是这样吗|也一样吗)+$"
)
_PUNCT = re.compile(r"[\s，,。.？?！!、；;：:“”\"'（）()]+")
_PRONOUN = re.compile(
    r"^(那|那么|还有|另外)|呢[？?]?$|它|他们|该区|该市|该县|这个地方|那里|那边|上述|同样|也是"
)
_SCOPE_AFTER_REGION = re.compile("\0(全市|全区|全县|全旗|全省|本市|本区|本县)")
HISTORY_TURNS = 6


def region_names_of(retriever: Any) -> dict[str, str]:
    """Every name a user may type for each region -> canonical name, from the retriever."""
    regions = list(retriever.regions()) if hasattr(retriever, "regions") else []
    catalog = getattr(retriever, "catalog", None)
    if catalog is not None and hasattr(catalog, "region_names"):
        try:
            return dict(catalog.region_names(regions))
        except Exception:  # noqa: BLE001 - fall back to derived names
            pass
    names: dict[str, str] = {}
    for region in regions:
        names[region] = region
        names.setdefault(short_name(region), region)
    return names


def _regions_in(text: str, names: dict[str, str]) -> list[tuple[str, str]]:
    """(surface form, canonical) for each region named in `text`, longest forms first."""
    out: list[tuple[str, str]] = []
    rest = text
    for name in sorted(names, key=len, reverse=True):
        if name and name in rest:
            out.append((name, names[name]))
            rest = rest.replace(name, "\0")
    order = {canon: text.find(surface) for surface, canon in out}
    return sorted(out, key=lambda sc: order[sc[1]])


def _core(question: str, names: dict[str, str]) -> str:
    """The question without region names, filler words and punctuation."""
    text = question
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(name, "")
    text = _PUNCT.sub("", text)
    previous = None
    while previous != text:
        previous = text
        text = _FILLER.sub("", text)
    return text


def previous_question(history: Sequence[dict[str, Any]] | None) -> str | None:
    """The last user question, in its standalone form when the history kept it."""
    for turn in reversed(history or []):
        if turn.get("role") != "user":
            continue
        if "standalone_question" in turn and not str(turn["standalone_question"] or "").strip():
            continue  # a refused question (empty, only punctuation) sets no topic
        text = str(turn.get("standalone_question") or turn.get("content") or "").strip()
        if text:
            return text
    return None


def is_follow_up(question: str, names: dict[str, str]) -> bool:
    core = _core(question, names)
    return len(core) <= 3 or bool(_PRONOUN.search(question.strip()))


def condense_offline(
    question: str, history: Sequence[dict[str, Any]] | None, names: dict[str, str]
) -> str:
    """Carry the previous topic over and swap the region: “那大连呢？” -> “大连市…”."""
    previous = previous_question(history)
    if not previous or not is_follow_up(question, names):
        return question
    new_regions = _regions_in(question, names)
    old_regions = _regions_in(previous, names)
    core = _core(question, names)
    if new_regions and len(core) <= 3:
        if old_regions:
            rewritten = previous
            first_old = old_regions[0][0]
            replacement = "、".join(canon for _, canon in new_regions)
            rewritten = rewritten.replace(first_old, "\0", 1)
            for surface, _ in old_regions[1:]:
                rewritten = rewritten.replace(surface, "")
            # “大连全市…” -> “薛城区…”: the old region's scope word does not fit the new one.
            rewritten = _SCOPE_AFTER_REGION.sub("\0", rewritten)
            return rewritten.replace("\0", replacement)
        # “那浮山县呢？” after “各地……？” asks about 浮山县 alone.
        topic = CROSS_WORDS.sub("", previous).lstrip("，,、的在")
        return "、".join(canon for _, canon in new_regions) + (topic or previous)
    if not new_regions and old_regions and core:
        # “那党员教育呢？” after a question about 薛城区: same region, new topic.
        prefix = "、".join(canon for _, canon in old_regions)
        tail = "" if core.endswith(("？", "?")) else "？"
        return f"{prefix}{core}{tail}" if len(core) > 3 else f"{prefix}{core}的情况？"
    if not core and not new_regions:
        return previous
    return question


def format_history(history: Sequence[dict[str, Any]] | None, limit: int = HISTORY_TURNS) -> str:
    lines = []
    for turn in list(history or [])[-limit:]:
        role = "用户" if turn.get("role") == "user" else "助手"
        content = str(turn.get("content") or "").replace("<", "＜").replace(">", "＞")
        if role == "助手" and len(content) > 300:
            content = content[:300] + "……"
        lines.append(f"{role}：{content}")
    return "\n".join(lines)


def condense_question(
    question: str,
    history: Sequence[dict[str, Any]] | None,
    *,
    region_names: dict[str, str],
    llm: Callable[[str], str | None] | None = None,
) -> str:
    """A standalone question for retrieval. `llm` gets the condense prompt's history and
    returns the rewrite or None on failure; the offline rewrite is used then."""
    if not history or previous_question(history) is None:
        return question
    offline = condense_offline(question, history, region_names)
    if llm is None:
        return offline
    rewritten = llm(format_history(history))
    if not rewritten:
        return offline
    line = rewritten.strip().splitlines()[0].strip().strip("“”\"' ")
    line = re.sub(r"^(改写后的问题|独立问题|问题)[:：]\s*", "", line)
    if not line or len(line) > max(200, 3 * len(question)):
        return offline
    return line
