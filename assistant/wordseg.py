"""Chinese word segmentation for keyword search: jieba plus a domain user dictionary."""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Iterable
from pathlib import Path

import jieba

jieba.setLogLevel(logging.WARNING)

# Terms of the trade that jieba's general dictionary splits apart (a data file, shipped
# in the package).
DOMAIN_TERMS_FILE = Path(__file__).with_name("domain_terms.txt")


def domain_terms(path: Path = DOMAIN_TERMS_FILE) -> list[str]:
    """The terms of `path`: one per line, '#' starts a comment."""
    out = []
    for line in path.read_text("utf-8").splitlines():
        word = line.split("#", 1)[0].strip()
        if word:
            out.append(word)
    return out


STOPWORDS = frozenset(
    """的 了 和 与 及 或 在 是 有 为 以 对 把 被 将 从 于 等 各 个 这 那 其 之 也 都 又 并 而 但 就 则
    我 我们 你 你们 他 她 它 他们 它们 吗 呢 吧 啊 么 着 过 让 向 到 由 中 上 下 里 内 外 所 该 此
    一 一个 一些 这些 那些 哪 哪个 哪些 哪里 什么 怎样 怎么 怎么样 如何 多少 几 几个 多大 多 是否
    有没有 请问 请 介绍 一下 说说 讲讲 主要 具体 分别 方面 情况 做法 有哪些 是什么 怎样的 为什么
    呢 哪家 哪位 多久 多长 几次 共 一共 共计 总共 了解 告诉 关于 通过 进行 开展 工作 采取 哪种
    各地 各区 地方 地区 比较 对比 那么""".split()
)

_PUNCT = re.compile(r"^[\W_]+$", re.UNICODE)
_QUOTED = re.compile(r"[“「『\"]([^”」』\"\s]{2,8})[”」』\"]")


class Segmenter:
    """A jieba tokenizer with our dictionary; safe to share between threads."""

    def __init__(self, extra_words: Iterable[str] = ()) -> None:
        self._tok = jieba.Tokenizer()
        self._lock = threading.RLock()
        self._added: set[str] = set()
        self.add_words(domain_terms())
        self.add_words(extra_words)

    def add_words(self, words: Iterable[str]) -> None:
        with self._lock:
            for word in words:
                word = word.strip()
                if len(word) >= 2 and word not in self._added:
                    self._tok.add_word(word, freq=20000)
                    self._added.add(word)

    def add_quoted_terms(self, texts: Iterable[str]) -> None:
        """Quoted coinages such as “双报到” or “红色驿站” become words."""
        self.add_words(m.group(1) for t in texts for m in _QUOTED.finditer(t))

    def tokenize(self, text: str) -> list[str]:
        """Search-mode tokens (words and their sub-words), lowercased, punctuation dropped."""
        with self._lock:
            raw = self._tok.lcut_for_search(text)
        return [t.lower() for t in raw if t.strip() and not _PUNCT.match(t)]

    def general_rarity(self, word: str) -> float:
        """How rare `word` is in general Chinese: -log of its share in jieba's dictionary
        counts (a large general corpus, not ours). Words we added (domain terms, quoted
        coinages, place names) and words the dictionary lacks count as unseen."""
        with self._lock:
            self._tok.check_initialized()
            freq = 0 if word in self._added else self._tok.FREQ.get(word, 0)
            return math.log(self._tok.total / (freq + 1))

    def known(self, word: str) -> bool:
        """Whether `word` is a word of jieba's dictionary or one we added, rather than one
        its HMM made up from characters it does not know ("收支表|贴到" gives 表贴)."""
        with self._lock:
            self._tok.check_initialized()
            return word in self._added or self._tok.FREQ.get(word, 0) > 0

    def words(self, text: str) -> list[str]:
        """Plain jieba words, in order, nothing dropped."""
        with self._lock:
            return self._tok.lcut(text)

    def keywords(self, text: str) -> list[str]:
        """Content words of a question: no stopwords, no question words, no punctuation."""
        with self._lock:
            raw = self._tok.lcut(text)
        out: dict[str, None] = {}
        for t in raw:
            t = t.strip().lower()
            if not t or _PUNCT.match(t) or t in STOPWORDS:
                continue
            if len(t) == 1 and not t.isdigit():
                continue
            out.setdefault(t, None)
        return list(out)


_default: Segmenter | None = None
_default_lock = threading.Lock()


def default_segmenter() -> Segmenter:
    global _default
    with _default_lock:
        if _default is None:
            _default = Segmenter()
        return _default


def tokenize(text: str) -> list[str]:
    return default_segmenter().tokenize(text)


def keywords(text: str) -> list[str]:
    return default_segmenter().keywords(text)
