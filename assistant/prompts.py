"""Prompt files with a contract: `prompts/*.md` with YAML front matter, validated on load.

A prompt file looks like::

    ---
    name: answer
    description: 问答的用户消息
    variables: [passages, question]
    ---
    ...{{ passages }}...{{ question }}...

Placeholders are `{{ name }}` (JSON braces in a prompt stay literal). Every declared variable
must be used, every used variable declared, and each prompt may only declare variables its
caller supplies. A broken, emptied or deleted file is reported by name and the last good
version stays in use; edits are picked up on the next call (files are re-read when their
modification time or size changes).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from assistant.settings import PROJECT_ROOT
from assistant.types import Passage

log = logging.getLogger(__name__)

SHIPPED_DIR = PROJECT_ROOT / "prompts"
PROFILES = "profiles"

# The prompts the code needs, and the variables the code supplies to each.
REQUIRED: dict[str, frozenset[str]] = {
    "system": frozenset(),
    "answer": frozenset({"passages", "question", "style"}),
    "compare": frozenset({"passages", "question", "regions", "uncovered", "style"}),
    "condense": frozenset({"history", "question"}),
    "brief": frozenset({"question"}),
}
# Style profiles (prompts/profiles/*.md, and brief.md) are rendered with these.
STYLE_VARIABLES = frozenset({"question"})

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PROFILE_NAME = re.compile(r"^[\w\-\u4e00-\u9fff]{1,64}$")


class PromptError(ValueError):
    """A prompt file is missing or broken; the message names the file and the problem."""


@dataclass(frozen=True)
class Prompt:
    """One validated prompt file."""

    name: str
    description: str
    variables: tuple[str, ...]
    body: str
    path: Path

    def render(self, **values: Any) -> str:
        """The body with `{{ var }}` filled in one pass (inserted text is never re-expanded)."""
        missing = [v for v in self.variables if v not in values]
        if missing:
            raise PromptError(f"{self.path.name}: 缺少变量 {', '.join(missing)} 的取值。")

        def fill(m: re.Match[str]) -> str:
            return str(values[m.group(1).strip()])

        return _PLACEHOLDER.sub(fill, self.body).strip() + "\n"


def parse_prompt(path: Path, text: str, allowed: frozenset[str] | None = None) -> Prompt:
    """Validate one prompt file's text; raise PromptError naming the file and the problem."""
    label = _label(path)
    if not text.strip():
        raise PromptError(f"{label}: 文件为空。")
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        raise PromptError(f"{label}: 缺少 YAML 头（第一行应为 ---）。")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise PromptError(f"{label}: YAML 头没有结束行 ---。") from None
    try:
        meta = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f"（第 {where.line + 2} 行）" if where is not None else ""
        raise PromptError(
            f"{label}: YAML 头格式错误{at}：{getattr(exc, 'problem', exc)}。"
        ) from None
    if not isinstance(meta, dict):
        raise PromptError(f"{label}: YAML 头应是“键: 值”的映射。")
    name = meta.get("name")
    if not isinstance(name, str) or not name.strip():
        raise PromptError(f"{label}: YAML 头缺少 name。")
    if name.strip() != path.stem:
        raise PromptError(f"{label}: name 为 {name!r}，应与文件名 {path.stem!r} 一致。")
    description = meta.get("description")
    if not isinstance(description, str) or not description.strip():
        raise PromptError(f"{label}: YAML 头缺少 description。")
    if "variables" not in meta:
        raise PromptError(f"{label}: YAML 头缺少 variables（没有变量时写 variables: []）。")
    declared_raw = meta.get("variables") or []
    if not isinstance(declared_raw, list) or not all(isinstance(v, str) for v in declared_raw):
        raise PromptError(f"{label}: variables 应是变量名列表，例如 [question, passages]。")
    declared = [v.strip() for v in declared_raw]
    for v in declared:
        if not _IDENT.match(v):
            raise PromptError(f"{label}: 变量名 {v!r} 不合法（只能用字母、数字和下划线）。")
    unknown_keys = set(meta) - {"name", "description", "variables"}
    if unknown_keys:
        raise PromptError(
            f"{label}: YAML 头有未知的键 {', '.join(sorted(map(str, unknown_keys)))}。"
        )
    body = "\n".join(lines[end + 1 :]).strip()
    if not body:
        raise PromptError(f"{label}: 正文为空。")
    used: list[str] = []
    for m in _PLACEHOLDER.finditer(body):
        inner = m.group(1).strip()
        if not _IDENT.match(inner):
            raise PromptError(f"{label}: 占位符 {m.group(0)!r} 不合法，应写成 {{{{ 变量名 }}}}。")
        if inner not in used:
            used.append(inner)
    undeclared = [v for v in used if v not in declared]
    if undeclared:
        raise PromptError(
            f"{label}: 正文使用了未在 variables 中声明的变量 {', '.join(undeclared)}。"
        )
    unused = [v for v in declared if v not in used]
    if unused:
        raise PromptError(f"{label}: 声明了变量 {', '.join(unused)}，但正文没有使用。")
    if allowed is not None:
        unsupplied = [v for v in declared if v not in allowed]
        if unsupplied:
            can = ", ".join(sorted(allowed)) or "（无）"
            raise PromptError(
                f"{label}: 变量 {', '.join(unsupplied)} 不会被提供；此提示词可用的变量：{can}。"
            )
    return Prompt(
        name=name.strip(),
        description=description.strip(),
        variables=tuple(declared),
        body=body,
        path=path,
    )


def _label(path: Path) -> str:
    parent = path.parent.name
    return f"{parent}/{path.name}" if parent == PROFILES else path.name


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


class PromptLibrary:
    """The prompts folder, re-read on change, keeping the last good version of each file."""

    def __init__(self, directory: Path | str, fallback_dir: Path | None = SHIPPED_DIR) -> None:
        self.directory = Path(directory)
        self.fallback_dir = fallback_dir
        self._lock = threading.RLock()
        self._good: dict[Path, tuple[tuple[int, int] | None, Prompt]] = {}
        self._problems: dict[str, str] = {}

    # ---- lookup --------------------------------------------------------------------------

    def get(self, name: str) -> Prompt:
        """A top-level prompt (system, answer, compare, condense, brief)."""
        return self._load(self.directory / f"{name}.md", REQUIRED.get(name), fallback=True)

    def render(self, name: str, **values: Any) -> str:
        return self.get(name).render(**values)

    def profile_names(self) -> list[str]:
        """Names usable with `--prompt`: the files in profiles/ plus `brief`."""
        names = ["brief"]
        folder = self.directory / PROFILES
        if folder.is_dir():
            names += sorted(p.stem for p in folder.glob("*.md"))
        return names

    def profile(self, name: str) -> Prompt:
        """A style profile chosen per question: profiles/NAME.md, or brief.md for `brief`."""
        name = (name or "").strip().removesuffix(".md")
        if not _PROFILE_NAME.match(name):
            raise PromptError(f"提示词配置名 {name!r} 不合法。")
        if name == "brief":
            return self.get("brief")
        path = self.directory / PROFILES / f"{name}.md"
        with self._lock:
            known = path in self._good
        if not known and not path.exists():
            choices = "、".join(self.profile_names())
            raise PromptError(f"没有名为 {name} 的提示词配置；可选：{choices}。")
        return self._load(path, STYLE_VARIABLES, fallback=False)

    @property
    def problems(self) -> dict[str, str]:
        """File label -> the problem last seen with it (files in use despite a problem)."""
        with self._lock:
            return dict(self._problems)

    # ---- validation ----------------------------------------------------------------------

    def check(self) -> list[str]:
        """Validate every prompt file in the folder; returns the problems (empty when fine)."""
        problems: list[str] = []
        for name, allowed in REQUIRED.items():
            path = self.directory / f"{name}.md"
            if not path.exists():
                problems.append(f"{path.name}: 文件缺失。")
                continue
            problems += self._check_file(path, allowed)
        for path in sorted(self.directory.glob("*.md")):
            if path.stem not in REQUIRED:
                problems += self._check_file(path, None)
        folder = self.directory / PROFILES
        if folder.is_dir():
            for path in sorted(folder.glob("*.md")):
                problems += self._check_file(path, STYLE_VARIABLES)
        return problems

    def _check_file(self, path: Path, allowed: frozenset[str] | None) -> list[str]:
        try:
            prompt = parse_prompt(path, _read(path), allowed)
            prompt.render(**{v: "样例" for v in prompt.variables})
        except PromptError as exc:
            return [str(exc)]
        return []

    # ---- loading -------------------------------------------------------------------------

    def _load(self, path: Path, allowed: frozenset[str] | None, fallback: bool) -> Prompt:
        label = _label(path)
        stamp = _stamp(path)
        with self._lock:
            cached = self._good.get(path)
            if cached is not None and stamp is not None and cached[0] == stamp:
                return cached[1]
            try:
                if stamp is None:
                    raise PromptError(f"{label}: 文件缺失。")
                prompt = parse_prompt(path, _read(path), allowed)
            except PromptError as exc:
                return self._keep_last_good(path, label, str(exc), allowed, fallback)
            self._good[path] = (stamp, prompt)
            if self._problems.pop(label, None):
                log.info("prompt %s is valid again", label)
            return prompt

    def _keep_last_good(
        self,
        path: Path,
        label: str,
        problem: str,
        allowed: frozenset[str] | None,
        fallback: bool,
    ) -> Prompt:
        if self._problems.get(label) != problem:
            log.warning("prompt problem: %s (keeping the last good version)", problem)
        self._problems[label] = problem
        cached = self._good.get(path)
        if cached is not None:
            return cached[1]
        shipped = self.fallback_dir / path.name if (fallback and self.fallback_dir) else None
        if shipped is not None and shipped.resolve() != path.resolve() and shipped.exists():
            prompt = parse_prompt(shipped, _read(shipped), allowed)
            self._good[path] = (None, prompt)
            return prompt
        raise PromptError(problem)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise PromptError(f"{_label(path)}: 不是 UTF-8 文本。") from None
    except OSError as exc:
        raise PromptError(f"{_label(path)}: 无法读取（{exc.strerror or exc}）。") from None


# ---- passages as delimited data ----------------------------------------------------------

_ATTR_UNSAFE = str.maketrans({"<": "＜", ">": "＞", '"': "＂", "\n": " ", "\r": " "})
_TEXT_UNSAFE = str.maketrans({"<": "＜", ">": "＞"})


def format_passage(n: int, passage: Passage) -> str:
    """One passage as a delimited data block; report text cannot close or fake the tags."""
    c = passage.chunk
    attrs = {"n": str(n), "region": c.region, "title": c.title, "section": c.section}
    head = " ".join(f'{k}="{str(v).translate(_ATTR_UNSAFE)}"' for k, v in attrs.items())
    return f"<passage {head}>\n{c.text.translate(_TEXT_UNSAFE).strip()}\n</passage>"


def format_passages(passages: Sequence[Passage], start: int = 1) -> str:
    return "\n\n".join(format_passage(i, p) for i, p in enumerate(passages, start=start))
