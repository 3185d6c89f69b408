#!/usr/bin/env python3
"""Check the fourth development evaluation set in this folder (held out: every question is
split "check").

Usage: python data/eval/dev4/verify.py

Adapted from data/eval/dev3/verify.py. Two changes besides the NONE_ABSENT / PLACE_ABSENT
tables: documents may be saved web pages (docs/*.html) as well as plain text (docs/*.txt), and
an .html document is compared by its visible text: HTML comments and <script>/<style>/
<noscript>/<template> blocks dropped, every tag replaced by a space, entities decoded
(html.unescape). Menus, breadcrumbs and footers stay in that visible text, so the absent
terms of the none/place questions are checked against them too; the evidence of a fact/para
question on such a page is chosen from its article text.

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
    "n01": ["共选派", "名红色代办统计员", "红色代办统计员共"],
    "n02": ["井深", "米深", "多深", "打井深"],
    "n03": ["推荐书目", "推荐了《", "书名"],
    "n04": ["墓穴费为", "元/穴", "每穴"],
    "n05": ["名优秀党员", "名优秀共产党员", "名党员受到表彰"],
    "n06": ["分值", "权重", "计分"],
}
# place questions: the place named, which no document covers
PLACE_ABSENT: dict[str, list[str]] = {
    "l01": ["河北", "正定"],
    "l02": ["福建", "宁德"],
    "l03": ["吉林", "延边"],
    "l04": ["宁夏", "银川"],
    "l05": ["广东", "清远"],
}

CHECK = SetCheck(
    HERE,
    min_docs=7,
    min_questions=40,
    required_split="check",
    none_absent=NONE_ABSENT,
    place_absent=PLACE_ABSENT,
)
check, load_docs, load_questions = CHECK.check, CHECK.load_docs, CHECK.load_questions

if __name__ == "__main__":
    sys.exit(CHECK.main())
