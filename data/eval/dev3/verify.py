#!/usr/bin/env python3
"""Check the third development evaluation set in this folder (held out: every question is
split "check").

Usage: python data/eval/dev3/verify.py

Copied from data/eval/dev2/verify.py (itself adapted from data/eval/dev/verify.py); only this
docstring and the NONE_ABSENT / PLACE_ABSENT tables differ. As in dev2: every question must be split "check";
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
    "n01": ["35岁", "青年党员占比"],
    "n02": ["变电站总投资", "变电站投资", "变电站项目总投资"],
    "n03": ["名政法干警", "政法干警共", "政法干警一共"],
    "n04": ["城服党支部书记", "支部书记为", "支部书记是"],
    "n05": ["散客"],
    "n06": ["年获中组部", "年被评为中组部", "年荣获中组部"],
    "n07": ["名挂职干部", "挂职干部共", "挂职干部一共"],
    "n08": ["村集体经济", "集体经济收入", "集体收入"],
}
# place questions: the place named, which no document covers
PLACE_ABSENT: dict[str, list[str]] = {
    "l01": ["重庆"],
    "l02": ["湖北", "武汉"],
    "l03": ["云南", "昆明"],
    "l04": ["内蒙古", "嘎查"],
    "l05": ["河南", "兰考"],
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
