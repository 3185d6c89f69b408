from __future__ import annotations

import pytest

from assistant.wordseg import Segmenter

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def seg() -> Segmenter:
    return Segmenter(["清河门区", "清河门"])


@pytest.mark.parametrize("term", ["双报到", "软弱涣散", "红色驿站", "一肩挑", "头雁", "清河门区"])
def test_domain_terms_are_words(seg, term):
    assert term in seg.tokenize(f"推进{term}工作取得成效")


def test_quoted_terms_from_corpus_become_words(seg):
    seg.add_quoted_terms(["开展“雏雁归巢”行动"])
    assert "雏雁归巢" in seg.tokenize("雏雁归巢行动的做法")


def test_keywords_drop_question_words(seg):
    kws = seg.keywords("薛城区一共划分了多少个城市社区网格？")
    assert "多少" not in kws and "一共" not in kws and "？" not in kws
    assert "网格" in kws or "社区网格" in kws


def test_tokenize_drops_punctuation_and_lowercases(seg):
    toks = seg.tokenize("ABC，党建！")
    assert "abc" in toks and "，" not in toks and "！" not in toks


def test_general_rarity_reads_the_general_dictionary_not_our_additions():
    """Common words of general Chinese (有人, 因此) are less rare than terms (立案); words we
    add (domain terms, place names) and unknown words count as unseen."""
    from assistant.wordseg import Segmenter

    seg = Segmenter(extra_words=["某某新区"])
    assert seg.general_rarity("因此") < seg.general_rarity("立案") < seg.general_rarity("某某新区")
    assert seg.general_rarity("某某新区") == seg.general_rarity("没见过的词语组合")


def test_known_tells_dictionary_and_added_words_from_made_up_ones():
    from assistant.wordseg import Segmenter

    seg = Segmenter(extra_words=["某某新区"])
    assert seg.known("立案") and seg.known("某某新区")
    made_up = [w for w in seg.words("收支表贴到办公室") if len(w) >= 2 and not seg.known(w)]
    assert made_up == ["表贴"]  # jieba's HMM joins the characters of two words
