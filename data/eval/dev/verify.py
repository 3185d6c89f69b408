#!/usr/bin/env python3
"""Check the development evaluation set in this folder.

Usage: python data/eval/dev/verify.py

Standard library only. Loads questions.jsonl and docs/*.txt next to this file and checks:
ids unique; kinds and splits valid; gold docs exist; for fact/para questions the evidence
occurs in the gold document and every answer-key group has an alternative inside the
evidence (both compared after NFKC normalisation with all whitespace removed); for
none/place questions no gold docs, answer keys or evidence; at least MIN_DOCS documents
and MIN_QUESTIONS questions. Prints one summary line per kind and exits 1 on any problem.

The checks themselves are data/eval/evalcheck.py, shared by every set; this file gives the
set's minimums.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from evalcheck import SetCheck  # noqa: E402

CHECK = SetCheck(
    HERE,
    min_docs=10,
    min_questions=60,
    required_split=None,
    none_absent=None,
    place_absent=None,
)
check, load_docs, load_questions = CHECK.check, CHECK.load_docs, CHECK.load_questions

if __name__ == "__main__":
    sys.exit(CHECK.main())
