"""Cross-district questions: retrieval per region, a cited summary each, a comparison table.

A region whose passages do not cover the theme (weighted share of the question's content
terms below the bar) gets “该报告未涉及” instead of loosely related sentences.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.answer_offline import (
    MIN_COVERAGE,
    Terms,
    _norm,
    analyze,
    coverage,
    figures,
    pick_sentences,
    quote,
    weights,
)
from assistant.answers import NOT_COVERED, OFFLINE, OFFLINE_LABEL, Citation, Draft, RegionSummary
from assistant.catalog import short_name
from assistant.citations import markers_in
from assistant.prompts import format_passages
from assistant.types import Passage

CROSS_WORDS = re.compile(
    r"各地|各区|各县|各市|各个地区|各个地方|各报告|哪些地区|哪些地方|哪些区县|哪几个地区|哪几个地方|"
    r"比较|对比|异同|不同地区|几个地区|所有地区|全部地区|横向|分别是怎样|分别有哪些"
)
PER_REGION_K = 4
SUMMARY_SENTENCES = 3
PRACTICE_CHARS = 60
TABLE_HEADING = "对比表"


def is_cross_question(question: str, named_regions: Sequence[str] = ()) -> bool:
    """Several or all districts: 各地, 哪些地区, 比较, 对比, or two or more regions named."""
    return len(set(named_regions)) >= 2 or bool(CROSS_WORDS.search(question))


@dataclass
class RegionPart:
    """One region's retrieval and whether it covers the theme."""

    region: str
    passages: list[Passage]
    relevant: bool
    coverage: float
    numbering: list[int] = field(default_factory=list)


@dataclass
class ComparePlan:
    """Everything retrieved for a cross-district question, numbered globally from 1."""

    question: str
    terms: Terms
    parts: list[RegionPart]
    weights: dict[str, float]

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
    """The question without region names, so each per-region search is about the theme."""
    text = question
    for name in sorted(region_names, key=len, reverse=True):
        text = text.replace(name, "")
    return text.strip() or question


def plan(
    question: str,
    *,
    retriever: Any,
    regions: Sequence[str],
    region_names: dict[str, str],
    k: int = PER_REGION_K,
    keywords: Callable[[str], list[str]] | None = None,
) -> ComparePlan:
    """Search each region separately and decide which ones cover the theme."""
    query = theme_query(question, region_names)
    terms = analyze(query, region_names, keywords)
    found = {r: list(retriever.search(query, k=k, regions=[r])) for r in regions}
    everything = [_norm(p.chunk.text) for ps in found.values() for p in ps]
    w = weights(terms, everything)
    parts: list[RegionPart] = []
    next_n = 1
    for region in regions:
        ps = [p for p in found[region] if p.chunk.region == region] or found[region]
        union = " ".join(_norm(p.chunk.text) for p in ps)
        cov = coverage(w, union) if terms.all_terms else (1.0 if ps else 0.0)
        part = RegionPart(
            region=region, passages=ps, relevant=bool(ps) and cov >= MIN_COVERAGE, coverage=cov
        )
        if part.relevant:
            part.numbering = list(range(next_n, next_n + len(ps)))
            next_n += len(ps)
        parts.append(part)
    return ComparePlan(question=question, terms=terms, parts=parts, weights=w)


def restrict(plan_: ComparePlan, keep: Callable[[RegionPart], list[Passage]]) -> ComparePlan:
    """The plan with each relevant region's passages cut down (e.g. to a token budget)."""
    parts: list[RegionPart] = []
    next_n = 1
    for part in plan_.parts:
        ps = keep(part) if part.relevant else part.passages
        new = RegionPart(part.region, ps, part.relevant and bool(ps), part.coverage)
        if new.relevant:
            new.numbering = list(range(next_n, next_n + len(ps)))
            next_n += len(ps)
        parts.append(new)
    return ComparePlan(plan_.question, plan_.terms, parts, plan_.weights)


# ---- offline -----------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "｜").replace("\n", " ").strip()


def _practice(text: str, w: dict[str, float]) -> str:
    """The most on-theme run of clauses of a sentence, short enough for a table cell."""
    clauses = re.findall(r"[^,，;；。]+[,，;；。]?", quote(text))
    best, best_score = quote(text)[:PRACTICE_CHARS], -1.0
    for i in range(len(clauses)):
        run = ""
        for j in range(i, len(clauses)):
            if run and len(run) + len(clauses[j]) > PRACTICE_CHARS:
                break
            run += clauses[j]
            score = coverage(w, _norm(run)) - 0.001 * len(run)
            if score > best_score:
                best, best_score = run, score
    return best.strip().rstrip(",，;；。") + ("……" if len(best) < len(text) else "")


def offline_compare(plan_: ComparePlan) -> Draft:
    """Per-region quoted summaries and a comparison table, every quote and cell cited."""
    sections: list[str] = [OFFLINE_LABEL, ""]
    rows: list[str] = []
    for part in plan_.parts:
        sections.append(f"### {part.region}")
        if not part.relevant:
            sections += [NOT_COVERED, ""]
            rows.append(f"| {part.region} | {NOT_COVERED} | — |")
            continue
        picks = pick_sentences(
            plan_.terms,
            part.passages,
            limit=SUMMARY_SENTENCES,
            numbering=part.numbering,
            w=plan_.weights,
            floor=0.2,
            relative=0.5,
        )
        picks.sort(key=lambda k: (k.n, k.order))
        sections += [f"- {quote(k.text)}[{k.n}]" for k in picks]
        sections.append("")
        best = max(picks, key=lambda k: k.score)
        practice = f"{_cell(_practice(best.text, plan_.weights))}[{best.n}]"
        figs: list[str] = []
        for k in sorted(picks, key=lambda k: -k.score):
            for f in figures(k.text):
                if len(figs) < 3 and not any(f == g.split("[")[0] for g in figs):
                    figs.append(f"{f}[{k.n}]")
        rows.append(f"| {part.region} | {practice} | {'；'.join(figs) or '—'} |")
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
    answer_md: str, plan_: ComparePlan, citations: Sequence[Citation]
) -> list[RegionSummary]:
    """Split a verified compare answer into its per-region sections."""
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
    out: list[RegionSummary] = []
    for part in plan_.parts:
        lines = sections.get(part.region, [])
        summary = "\n".join(lines).strip()
        cited = sorted({n for n in markers_in(summary) if n in by_n})
        found = part.relevant and bool(cited) and NOT_COVERED not in summary[:12]
        out.append(
            RegionSummary(
                region=part.region,
                found=found,
                summary=summary if summary else (NOT_COVERED if not part.relevant else ""),
                citations=[by_n[n] for n in cited],
            )
        )
    return out
