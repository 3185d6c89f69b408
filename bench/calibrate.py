"""Fit the answerability thresholds of `assistant/evidence.py` on the calibration split and
report them on the split they were not fitted on; writes `assistant/calibration.json`.

    .venv/bin/python -m bench.calibrate [--write]

Calibration questions: the shared sample set (all of it: it is what the product shipped
with) plus the `calib` split of every development set; checked on each set's `check` split.
Features come from the same code the answerer runs (`evidence.score_passages`), so the
fitted values mean the same thing there.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from dataclasses import asdict, replace
from pathlib import Path

from assistant import evidence as ev
from assistant.evaluation import ANSWERABLE, assistant_for, discover_sets, load_questions
from bench.common import bench_settings

EVAL_ROOT = Path(__file__).resolve().parent.parent / "data" / "eval"
MAX_ANSWERABLE_MISSED = 0.05


def _rows(assistant, questions) -> list[dict]:
    """Per question: label, whether lexical evidence applies, and per passage features."""
    from assistant.scope import regions_within

    retriever = assistant.retriever
    stats = retriever.gram_stats()
    names = dict(retriever._names)
    out = []
    for q in questions:
        if q.kind == "place":
            continue  # decided by the gazetteer, not by evidence
        named = retriever.detect_regions(q.question) or regions_within(
            q.question, retriever.regions()
        )
        passages = retriever.search(q.question, k=assistant.settings.top_k, regions=named or None)
        f = ev.focus(q.question, stats, names)
        feats = [
            (e.lexical, e.sentence, e.dense)
            for e in ev.score_passages(f, passages, ev.Thresholds())
        ]
        out.append(
            {
                "id": q.id,
                "answerable": q.kind in ANSWERABLE,
                "lexical": f.lexical,
                "split": q.split or "calib",
                "feats": feats,
            }
        )
    return out


def _score(row: dict, t: ev.Thresholds) -> float:
    if not row["feats"]:
        return -9.0
    if not row["lexical"]:
        return max(d for _, _, d in row["feats"])
    return max(
        t.sentence_weight * s
        + (1 - t.sentence_weight) * lex
        + t.dense_weight * (d - t.dense_center)
        for lex, s, d in row["feats"]
    )


def _rates(rows: list[dict], t: ev.Thresholds) -> dict:
    lex = [r for r in rows if r["lexical"]]
    ans = [r for r in lex if r["answerable"]]
    none = [r for r in lex if not r["answerable"]]
    missed = sum(1 for r in ans if _score(r, t) < t.weak)
    caught = sum(1 for r in none if _score(r, t) < t.weak)
    dense_only = [r for r in rows if not r["lexical"] and r["answerable"]]
    return {
        "answerable": len(ans),
        "answerable_not_found": missed / len(ans) if ans else None,
        "unanswerable": len(none),
        "unanswerable_detected": caught / len(none) if none else None,
        "dense_only_answerable": len(dense_only),
        "dense_only_not_found": (
            sum(1 for r in dense_only if _score(r, t) < t.dense_only_weak) / len(dense_only)
            if dense_only
            else None
        ),
    }


def fit(rows: list[dict]) -> ev.Thresholds:
    """Grid search: the most unanswerable questions caught with at most 5% of answerable ones
    missed; ties broken by the widest margin below the answerable scores."""
    base = ev.Thresholds()
    best: tuple | None = None
    for sw, dw in itertools.product((0.0, 0.25, 0.5, 0.75, 1.0), (0.0, 0.5, 1.0, 2.0, 4.0)):
        t = replace(base, sentence_weight=sw, dense_weight=dw)
        lex = [r for r in rows if r["lexical"]]
        ans = sorted(_score(r, t) for r in lex if r["answerable"])
        none = [_score(r, t) for r in lex if not r["answerable"]]
        if not ans:
            continue
        allowed = int(MAX_ANSWERABLE_MISSED * len(ans))
        weak = ans[allowed] - 1e-6  # everything from this answerable score up is found
        caught = sum(1 for s in none if s < weak)
        margin = weak - max((s for s in none if s < weak), default=weak - 0.05)
        key = (caught, round(margin, 4))
        if best is None or key > best[0]:
            strong = ans[max(allowed, len(ans) // 4)]
            best = (key, replace(t, weak=round(weak, 4), strong=round(max(strong, weak), 4)))
    assert best is not None, "no answerable questions to calibrate on"
    t = best[1]
    dense = sorted(
        max(d for _, _, d in r["feats"])
        for r in rows
        if not r["lexical"] and r["answerable"] and r["feats"]
    )
    if dense:
        # Dense similarity alone (questions with no Chinese content): the lowest answerable
        # score found, less a margin of one e5 "step" between related and unrelated text.
        t = replace(
            t,
            dense_only_weak=round(dense[0] - 0.01, 4),
            dense_only_strong=round(dense[len(dense) // 2], 4),
        )
    return t


def _cross_rows(assistant, questions, t: ev.Thresholds) -> list[dict]:
    """Per cross question and comparison group: its best evidence and whether it is gold.

    Scored with the fitted weights `t` (only its cut-offs are lifted), so a group's score
    is the one the answerer will compare with `region_weak`."""
    from assistant import compare as cmp

    retriever = assistant.retriever
    names = dict(retriever._names)
    out = []
    for q in questions:
        if q.kind != "cross":
            continue
        groups = cmp.groups_for(retriever, retriever.regions())
        plan = cmp.plan(
            q.question,
            retriever=retriever,
            regions=retriever.regions(),
            region_names=names,
            stats=retriever.gram_stats(),
            thresholds=replace(t, weak=-9, region_weak=-9),
            groups=groups,
        )
        for part in plan.parts:
            docs = {p.chunk.doc_id for p in part.passages}
            out.append(
                {
                    "id": q.id,
                    "split": q.split or "calib",
                    "score": part.coverage,
                    "gold": bool(docs & set(q.gold_docs)) and len(docs) > 0,
                    "scores": part.evidence and [e.score for e in part.evidence],
                }
            )
    return out


def fit_region(rows: list[dict], target: float = 0.95) -> float:
    """The highest threshold that keeps `target` of the gold groups.

    A report wrongly marked 未涉及 costs a brief writer more than a marginal quote they can
    check, so at most one gold group in twenty may fall below it."""
    gold = sorted(r["score"] for r in rows if r["gold"])
    if not gold:
        return ev.Thresholds().region_weak
    return round(gold[int((1 - target) * len(gold))] - 1e-6, 4)


def _region_rates(rows: list[dict], threshold: float) -> dict:
    gold = [r for r in rows if r["gold"]]
    other = [r for r in rows if not r["gold"]]
    return {
        "gold_groups": len(gold),
        "gold_kept": sum(1 for r in gold if r["score"] >= threshold) / len(gold) if gold else None,
        "other_groups": len(other),
        "other_marked_not_covered": (
            sum(1 for r in other if r["score"] < threshold) / len(other) if other else None
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="write assistant/calibration.json")
    parser.add_argument("--store", default="/tmp/calibrate-store")
    args = parser.parse_args()
    from assistant.service import Assistant

    t0 = time.perf_counter()
    base = Assistant.from_settings(bench_settings(Path(args.store)))
    base.ingest_paths([base.settings.reports_dir])
    rows: dict[str, list[dict]] = {}
    cross: dict[str, list[dict]] = {}
    sets = []
    for qset in discover_sets(EVAL_ROOT):
        assistant = assistant_for(base, qset)
        questions = load_questions(qset.questions)
        rows[qset.name] = _rows(assistant, questions)
        sets.append((qset.name, assistant, questions))
    calib = [r for rs in rows.values() for r in rs if r["split"] == "calib"]
    t = fit(calib)
    for name, assistant, questions in sets:
        cross[name] = _cross_rows(assistant, questions, t)
    cross_calib = [r for rs in cross.values() for r in rs if r["split"] == "calib"]
    t = replace(t, region_weak=min(t.weak, fit_region(cross_calib)))
    report = {
        "thresholds": {k: v for k, v in asdict(t).items()},
        "fitted_on": {
            name: sum(1 for r in rs if r["split"] == "calib") for name, rs in rows.items()
        },
        "rule": f"most unanswerable caught with answerable_not_found <= {MAX_ANSWERABLE_MISSED}",
        "calib": _rates(calib, t),
        "check": {
            name: _rates([r for r in rs if r["split"] == "check"], t)
            for name, rs in rows.items()
            if any(r["split"] == "check" for r in rs)
        },
        "cross_calib": _region_rates(cross_calib, t.region_weak),
        "cross_check": {
            name: _region_rates([r for r in rs if r["split"] == "check"], t.region_weak)
            for name, rs in cross.items()
            if any(r["split"] == "check" for r in rs)
        },
        "seconds": round(time.perf_counter() - t0, 1),
    }
    print(json.dumps(report, ensure_ascii=False, indent=2))
    if args.write:
        ev.CALIBRATION_FILE.write_text(
            json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )


if __name__ == "__main__":
    main()
