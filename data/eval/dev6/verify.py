#!/usr/bin/env python3
"""Check the sixth development evaluation set in this folder (held out: every question is
split "check").

Usage: python data/eval/dev6/verify.py

Adapted from data/eval/dev5/verify.py: only the NONE_ABSENT / PLACE_ABSENT tables and the
minimums differ. All nine documents are plain text (docs/*.txt); there is no saved web page
and no .docx in this set.

Standard library only. Loads questions.jsonl and docs/*.txt, docs/*.html next to this file
and checks: ids unique; kinds and splits valid; gold docs exist; for fact/para questions the
evidence occurs in the gold document and every answer-key group has an alternative inside the
evidence (both compared after NFKC normalisation with all whitespace removed); for none/place
questions no gold docs, answer keys or evidence, and every term listed for the question in
NONE_ABSENT / PLACE_ABSENT absent from every document; every question split "check"; at least
MIN_DOCS documents and MIN_QUESTIONS questions; at least the minimum number of questions of
each kind (MIN_PER_KIND). Prints one summary line per kind and exits 1 on any problem.

The checks themselves are data/eval/evalcheck.py, shared by every set; this file gives the
set's minimums and absent-term tables.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from evalcheck import SetCheck  # noqa: E402

# none questions: the detail asked for, which no document gives
NONE_ABSENT: dict[str, list[str]] = {
    "n01": ["下降", "信访量", "件信访"],
    "n02": ["镇党委书记", "芦庙镇党委书记", "镇委书记"],
    "n03": ["年出台", "年制定", "年印发"],
    "n04": ["凤凰景苑居民区现有", "凤凰景苑党支部共有", "凤凰景苑党支部现有", "凤凰景苑社区共有"],
    "n05": ["本制度自", "施行日期", "自印发之日"],
    "n06": ["聂关村党支部书记", "聂关村书记", "聂关村党总支书记", "聂关村村书记"],
    "n07": ["总投资", "计划投资", "投资总额"],
    "n08": ["块公示牌", "公示牌共", "个公示牌"],
    "n09": ["光伏企业", "光伏公司", "光伏电站由"],
    "n10": ["影院", "影城", "影剧院"],
}
# place questions: the place named, which no document covers
PLACE_ABSENT: dict[str, list[str]] = {
    "l01": ["甘肃", "定西"],
    "l02": ["广西", "桂林"],
    "l03": ["四川", "凉山"],
    "l04": ["天津", "滨海"],
    "l05": ["黑龙江", "哈尔滨"],
    "l06": ["江西", "赣州"],
}
# the brief's minimum of questions per kind
MIN_PER_KIND = {"fact": 22, "para": 16, "cross": 8, "none": 8, "place": 5}

CHECK = SetCheck(
    HERE,
    min_docs=8,
    min_questions=60,
    required_split="check",
    none_absent=NONE_ABSENT,
    place_absent=PLACE_ABSENT,
)
check, load_docs, load_questions = CHECK.check, CHECK.load_docs, CHECK.load_questions


def main() -> int:
    rc = CHECK.main()
    rows, _ = load_questions()
    short = []
    for kind, n in MIN_PER_KIND.items():
        have = sum(1 for r in rows if r.get("kind") == kind)
        if have < n:
            short.append(f"  - only {have} {kind} questions (need {n})")
    if short:
        print("kind minimums not met:", file=sys.stderr)
        for line in short:
            print(line, file=sys.stderr)
        return 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
