"""Cross-district questions: retrieval per region (or per document), a cited summary each,
and a comparison table.

Whether a region covers the theme is the same evidence verdict the chat answer uses
(`assistant.evidence.assess`): a region is “该报告未涉及” only when its best evidence is weak.
Regions with several reports, and reports with no region, are compared document by document.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant import evidence as ev
from assistant.answer_offline import (
    SentenceScorer,
    Terms,
    analyze,
    labelled_figures,
    pick_sentences,
    quote,
)
from assistant.answers import (
    NOT_COVERED,
    OFFLINE,
    OFFLINE_LABEL,
    Citation,
    Draft,
    DraftSentence,
    RegionSummary,
)
from assistant.catalog import short_name
from assistant.citations import markers_in
from assistant.prompts import format_passages
from assistant.types import Passage

# Words that ask about several places at once. Ordinary question grammar, shared by the
# mode choice and the follow-up rewrite (conversation.py).
CROSS_WORDS = re.compile(
    r"各地|各区|各县|各市|各省|各个地区|各个地方|各报告|各份报告|哪些地区|哪些地方|哪些区县|"
    r"哪几个地区|哪几个地方|比较|对比|异同|不同地区|几个地区|所有地区|全部地区|横向|"
    r"分别是怎样|分别有哪些|\bcompare\b|\bacross\b|\beach (?:region|district|county|city)\b",
    re.IGNORECASE,
)
PER_REGION_K = 4
SUMMARY_SENTENCES = 3
PRACTICE_CHARS = 120
TABLE_HEADING = "对比表"


def is_cross_question(question: str, named_regions: Sequence[str] = ()) -> bool:
    """Several or all districts: 各地, 哪些地区, 比较, 对比, or two or more regions named."""
    return len(set(named_regions)) >= 2 or bool(CROSS_WORDS.search(question))


@dataclass
class Group:
    """What one row of the comparison covers: a region, or one document."""

    label: str
    regions: list[str] | None = None
    doc_ids: list[str] | None = None


def groups_for(
    retriever: Any, regions: Sequence[str], doc_ids: Sequence[str] | None = None
) -> list[Group]:
    """One group per region; a region with several reports, and reports without a region,
    become one group per document (labelled with the region and the title). With `doc_ids`
    (a scoped question) only those reports count, and each group searches only them."""
    docs = list(retriever.documents()) if hasattr(retriever, "documents") else []
    if doc_ids is not None:
        wanted = set(doc_ids)
        docs = [d for d in docs if d.doc_id in wanted]
    by_region: dict[str, list[Any]] = {}
    for d in docs:
        by_region.setdefault(d.region, []).append(d)
    out: list[Group] = []
    for region in regions:
        members = by_region.get(region, [])
        if doc_ids is not None and not members:
            continue
        if len(members) <= 1:
            ids = [m.doc_id for m in members] if doc_ids is not None else None
            out.append(Group(label=region, regions=[region], doc_ids=ids))
            continue
        for d in members:
            out.append(Group(label=f"{region}·{_short_title(d.title)}", doc_ids=[d.doc_id]))
    for d in by_region.get("", []):
        out.append(Group(label=_short_title(d.title) or d.doc_id, doc_ids=[d.doc_id]))
    return out


def _short_title(title: str, limit: int = 16) -> str:
    title = re.sub(r"\s+", "", title or "")
    return title if len(title) <= limit else title[: limit - 1] + "…"


@dataclass
class RegionPart:
    """One group's retrieval and whether it covers the theme."""

    region: str
    passages: list[Passage]
    relevant: bool
    coverage: float
    numbering: list[int] = field(default_factory=list)
    evidence: list[ev.Evidence] = field(default_factory=list)


@dataclass
class ComparePlan:
    """Everything retrieved for a cross-district question, numbered globally from 1."""

    question: str
    terms: Terms
    parts: list[RegionPart]
    focus: ev.Focus

    @property
    def passages(self) -> list[Passage]:
        """The passages the answer may cite (relevant regions only), in numbering order."""
        return [p for part in self.parts if part.relevant for p in part.passages]

    @property
    def retrieved(self) -> list[Passage]:
        return [p for part in self.parts for p in part.passages]

    @property
    def found(self) -> bool:
        return any(part.relevant for part in self.parts)


def theme_query(question: str, region_names: dict[str, str]) -> str:
    """The question without region names and cross-question words, so each per-region
    search is about the theme."""
    text = question
    for name in sorted(region_names, key=len, reverse=True):
        text = text.replace(name, "")
    text = CROSS_WORDS.sub("", text)
    return text.strip(" ，,、的") or question


def plan(
    question: str,
    *,
    retriever: Any,
    regions: Sequence[str],
    region_names: dict[str, str],
    k: int = PER_REGION_K,
    stats: ev.GramStats | None = None,
    thresholds: ev.Thresholds | None = None,
    groups: Sequence[Group] | None = None,
    doc_ids: Sequence[str] | None = None,
) -> ComparePlan:
    """Search each region (or document) separately and decide which ones cover the theme."""
    query = theme_query(question, region_names)
    terms = analyze(query, region_names)
    groups = list(groups) if groups is not None else groups_for(retriever, regions, doc_ids)
    found = {
        g.label: list(retriever.search(query, k=k, regions=g.regions, doc_ids=g.doc_ids))
        for g in groups
    }
    if stats is None or stats.n == 0:
        stats = ev.GramStats(p.chunk.text for ps in found.values() for p in ps)
    f = ev.focus(query, stats, region_names)
    parts: list[RegionPart] = []
    next_n = 1
    for g in groups:
        ps = found[g.label]
        if g.regions:
            ps = [p for p in ps if p.chunk.region in g.regions] or ps
        t = ev.theme_thresholds(thresholds or ev.thresholds())
        verdict = ev.assess(f, ps, t)
        part = RegionPart(
            region=g.label,
            passages=ps,
            relevant=bool(ps) and verdict.best >= min(t.region_weak, t.weak),
            coverage=verdict.best,
            evidence=verdict.evidence,
        )
        if part.relevant:
            part.numbering = list(range(next_n, next_n + len(ps)))
            next_n += len(ps)
        parts.append(part)
    return ComparePlan(question=question, terms=terms, parts=parts, focus=f)


def restrict(plan_: ComparePlan, keep: Callable[[RegionPart], list[Passage]]) -> ComparePlan:
    """The plan with each relevant region's passages cut down (e.g. to a token budget)."""
    parts: list[RegionPart] = []
    next_n = 1
    for part in plan_.parts:
        ps = keep(part) if part.relevant else part.passages
        kept = {id(p) for p in ps}
        new = RegionPart(
            part.region,
            ps,
            part.relevant and bool(ps),
            part.coverage,
            evidence=[e for e in part.evidence if id(e.passage) in kept],
        )
        if new.relevant:
            new.numbering = list(range(next_n, next_n + len(ps)))
            next_n += len(ps)
        parts.append(new)
    return ComparePlan(plan_.question, plan_.terms, parts, plan_.focus)


# ---- offline -----------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "｜").replace("\n", " ").strip()


def offline_compare(plan_: ComparePlan) -> Draft:
    """Per-region quoted summaries and a comparison table, every quote and cell cited."""
    sections: list[str] = [OFFLINE_LABEL, ""]
    rows: list[str] = []
    summaries: list[RegionSummary] = []
    sentences: list[DraftSentence] = []
    scorer = SentenceScorer(plan_.terms, plan_.focus)
    for part in plan_.parts:
        sections.append(f"### {part.region}")
        if not part.relevant:
            sections += [NOT_COVERED, ""]
            rows.append(f"| {part.region} | {NOT_COVERED} | — |")
            summaries.append(RegionSummary(part.region, False, NOT_COVERED, strength=part.coverage))
            continue
        evidence = part.evidence or ev.score_passages(plan_.focus, part.passages)
        picks = pick_sentences(
            scorer,
            evidence,
            limit=SUMMARY_SENTENCES,
            numbering=part.numbering,
            relative=0.6,
        )
        best = picks[0]
        practice = f"{quote(best.text)}[{best.n}]"
        figs: list[str] = []
        for k in picks:
            for f in labelled_figures(k.text):
                if len(figs) < 3 and not any(f == g.rsplit("[", 1)[0] for g in figs):
                    figs.append(f"{f}[{k.n}]")
        picks.sort(key=lambda k: (k.n, k.order))
        lines = [f"- {quote(k.text)}[{k.n}]" for k in picks]
        sections += [*lines, ""]
        sentences += [DraftSentence(quote(k.text), [k.n], k.passage.chunk.region) for k in picks]
        rows.append(f"| {part.region} | {_cell(practice)} | {_cell('；'.join(figs)) or '—'} |")
        summaries.append(
            RegionSummary(
                part.region,
                True,
                "\n".join(lines),
                practice=practice,
                figures=figs,
                strength=part.coverage,
            )
        )
    sections += [
        f"### {TABLE_HEADING}",
        "",
        "| 地区 | 主要做法 | 关键数据 |",
        "| --- | --- | --- |",
        *rows,
    ]
    return Draft(
        text="\n".join(sections).strip(),
        answerer=OFFLINE,
        found=plan_.found,
        require_citation=False,
        regions=summaries,
        sentences=sentences,
        evidence=ev.STRONG if plan_.found else ev.WEAK,
        failure="" if plan_.found else "not_found",
    )


# ---- LLM ---------------------------------------------------------------------------------


def compare_messages(plan_: ComparePlan, prompts: Any, style: str = "") -> list[Any]:
    from langchain_core.messages import HumanMessage, SystemMessage

    uncovered = [p.region for p in plan_.parts if not p.relevant]
    human = prompts.render(
        "compare",
        passages=format_passages(plan_.passages) or "（无）",
        question=plan_.question,
        regions="、".join(p.region for p in plan_.parts),
        uncovered="、".join(uncovered) or "无",
        style=style,
    )
    return [SystemMessage(content=prompts.render("system")), HumanMessage(content=human)]


# ---- after verification ------------------------------------------------------------------

_HEADING = re.compile(r"^#{2,4}\s*(.+?)\s*$")


def region_summaries(
    answer_md: str,
    plan_: ComparePlan,
    citations: Sequence[Citation],
    draft_regions: Sequence[RegionSummary] = (),
    passages: Sequence[Passage] = (),
) -> list[RegionSummary]:
    """The per-region records of a verified compare answer.

    The summary of each region is its section of the checked Markdown (so it carries the
    renumbered markers); practice and figures come from the answerer's records when it made
    them (offline), renumbered the same way, or from the section itself (a model's text).
    """
    sections: dict[str, list[str]] = {}
    current: str | None = None
    names = [p.region for p in plan_.parts]
    for line in answer_md.splitlines():
        m = _HEADING.match(line.strip())
        if m:
            title = m.group(1).strip("*# ")
            current = next(
                (r for r in names if r == title or r in title or short_name(r) in title), None
            )
            if current is not None:
                sections.setdefault(current, [])
            continue
        if current is not None and line.strip():
            sections[current].append(line.strip())
    by_n = {c.n: c for c in citations}
    new_n = {c.chunk_id: c.n for c in citations}
    drafted = {r.region: r for r in draft_regions}

    def renumber(text: str) -> str:
        def sub(m: re.Match[str]) -> str:
            old = int(m.group(1))
            if 1 <= old <= len(passages):
                n = new_n.get(passages[old - 1].chunk.chunk_id)
                if n is not None:
                    return f"[{n}]"
            return ""

        return _MARK.sub(sub, text)

    out: list[RegionSummary] = []
    for part in plan_.parts:
        lines = sections.get(part.region, [])
        summary = "\n".join(lines).strip()
        cited = sorted({n for n in markers_in(summary) if n in by_n})
        found = part.relevant and bool(cited) and NOT_COVERED not in summary[:12]
        d = drafted.get(part.region)
        if d is not None and passages:
            practice = renumber(d.practice)
            figs = [f for f in (renumber(x) for x in d.figures) if _MARK.search(f)]
        else:
            practice, figs = _from_section(lines)
        out.append(
            RegionSummary(
                region=part.region,
                found=found,
                summary=summary if summary else (NOT_COVERED if not part.relevant else ""),
                citations=[by_n[n] for n in cited],
                practice=practice if found else "",
                figures=figs if found else [],
                strength=part.coverage,
            )
        )
    return out


_MARK = re.compile(r"\[(\d+)\]")
_LINE_SENT = re.compile(r"[^。！？!?；;]+[。！？!?；;]?(?:\s*\[\d+\])+")


def _from_section(lines: Sequence[str]) -> tuple[str, list[str]]:
    """Practice (the first cited sentence) and labelled figures of a model-written section."""
    text = " ".join(re.sub(r"^\s*(?:[-*+]\s+|\d{1,2}[.)、]\s*)", "", ln) for ln in lines)
    cited = [m.group(0).strip() for m in _LINE_SENT.finditer(text)]
    practice = cited[0] if cited else ""
    figs: list[str] = []
    for sent in cited:
        marks = "".join(f"[{n}]" for n in _MARK.findall(sent))
        for f in labelled_figures(_MARK.sub("", sent)):
            if len(figs) < 3:
                figs.append(f + marks)
    return practice, figs
