#!/usr/bin/env python3
"""Check the fifth development evaluation set in this folder (held out: every question is
split "check").

Usage: python data/eval/dev5/verify.py

Adapted from data/eval/dev4/verify.py: only the NONE_ABSENT / PLACE_ABSENT tables and the
minimums differ. All eight documents are plain text (docs/*.txt); there is no saved web page
and no .docx in this set.

Standard library only. Loads questions.jsonl and docs/*.txt, docs/*.html next to this file
and checks: ids unique; kinds and splits valid; gold docs exist; for fact/para questions the
evidence occurs in the gold document and every answer-key group has an alternative inside the
evidence (both compared after NFKC normalisation with all whitespace removed); for none/place
questions no gold docs, answer keys or evidence, and every term listed for the question in
NONE_ABSENT / PLACE_ABSENT absent from every document; every question split "check"; at least
MIN_DOCS documents and MIN_QUESTIONS questions. Prints one summary line per kind and exits 1
on any problem.

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
    "n01": ["奖金", "奖励金额", "奖励标准", "元奖励"],
    "n02": ["总投资", "投资总额", "欧元"],
    "n03": ["人均可支配收入", "人均收入", "人均纯收入"],
    "n04": ["名队员", "名便民服务队员", "队员共"],
    "n05": ["集体经济", "集体收入"],
    "n06": ["交易额", "销售额", "网络零售额"],
    "n07": ["工作日", "日内答复", "天内答复"],
}
# place questions: the place named, which no document covers
PLACE_ABSENT: dict[str, list[str]] = {
    "l01": ["贵州", "遵义"],
    "l02": ["湖北", "恩施"],
    "l03": ["广西", "百色"],
    "l04": ["山东", "临沂"],
    "l05": ["内蒙古", "赤峰"],
}

CHECK = SetCheck(
    HERE,
    min_docs=8,
    min_questions=50,
    required_split="check",
    none_absent=NONE_ABSENT,
    place_absent=PLACE_ABSENT,
)
check, load_docs, load_questions = CHECK.check, CHECK.load_docs, CHECK.load_questions

if __name__ == "__main__":
    sys.exit(CHECK.main())
