#!/usr/bin/env python3
"""Check the second development evaluation set in this folder (held out: every question is
split "check").

Usage: python data/eval/dev2/verify.py

Adapted from data/eval/dev/verify.py. Additions: every question must be split "check";
every none question lists in NONE_ABSENT the key terms of the detail it asks for, and every
place question lists in PLACE_ABSENT the place it names; each such term must be absent from
every document (after the same normalisation).

Standard library only. Loads questions.jsonl and docs/*.txt next to this file and checks:
ids unique; kinds and splits valid; gold docs exist; for fact/para questions the evidence
occurs in the gold document and every answer-key group has an alternative inside the
evidence (both compared after NFKC normalisation with all whitespace removed); for
none/place questions no gold docs, answer keys or evidence; at least MIN_DOCS documents
and MIN_QUESTIONS questions. Prints one summary line per kind and exits 1 on any problem.

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
    "n01": ["平均年龄"],
    "n02": ["亿元"],
    "n03": ["个社区邻里中心", "邻里中心总数"],
    "n04": ["总投资", "累计投资", "投资了"],
    "n05": ["2012年", "12月4日"],
    "n06": ["党总支书记"],
}
# place questions: the place named, which no document covers
PLACE_ABSENT: dict[str, list[str]] = {
    "l01": ["上海"],
    "l02": ["黑龙江", "哈尔滨"],
    "l03": ["福建", "厦门"],
    "l04": ["湖北", "武汉"],
}

CHECK = SetCheck(
    HERE,
    min_docs=8,
    min_questions=40,
    required_split="check",
    none_absent=NONE_ABSENT,
    place_absent=PLACE_ABSENT,
)
check, load_docs, load_questions = CHECK.check, CHECK.load_docs, CHECK.load_questions

if __name__ == "__main__":
    sys.exit(CHECK.main())
