"""Editing prompts/*.md from the app: the same validation as loading, then an atomic write."""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from assistant.prompts import PROFILES, REQUIRED, STYLE_VARIABLES, PromptError, parse_prompt

_PROFILE_NAME = re.compile(r"^[\w\-\u4e00-\u9fff]{1,64}$")

NEW_PROFILE_TEMPLATE = """---
name: {name}
description: 一句话说明这种输出风格
variables: []
---
输出风格（{name}）：在这里写对回答格式的要求，例如分几部分、每条多长；每句末尾标注出处编号 [n]。
"""


@dataclass(frozen=True)
class PromptFile:
    label: str  # "answer.md" or "profiles/简洁要点.md"
    path: Path
    allowed: frozenset[str] | None  # variables the code supplies; None: not used by the code


def prompt_files(directory: Path) -> list[PromptFile]:
    """The editable files: the prompts the code needs first, then profiles."""
    files: list[PromptFile] = []
    for name, allowed in REQUIRED.items():
        files.append(PromptFile(f"{name}.md", directory / f"{name}.md", allowed))
    for path in sorted(directory.glob("*.md")):
        if path.stem not in REQUIRED:
            files.append(PromptFile(path.name, path, None))
    folder = directory / PROFILES
    if folder.is_dir():
        for path in sorted(folder.glob("*.md")):
            files.append(PromptFile(f"{PROFILES}/{path.name}", path, STYLE_VARIABLES))
    return files


def read(file: PromptFile) -> str:
    try:
        return file.path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as exc:
        raise PromptError(f"{file.label}: 无法读取（{exc}）。") from None


def validate(file: PromptFile, text: str) -> str | None:
    """The problem with `text` as this file's new content, or None when it is valid."""
    try:
        prompt = parse_prompt(file.path, text, file.allowed)
        prompt.render(**{v: "样例" for v in prompt.variables})
    except PromptError as exc:
        return str(exc)
    return None


def save(file: PromptFile, text: str) -> str | None:
    """Validate, then replace the file atomically; returns the problem (nothing written) or None."""
    problem = validate(file, text)
    if problem:
        return problem
    file.path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".edit-", suffix=".md", dir=file.path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text if text.endswith("\n") else text + "\n")
        os.replace(tmp, file.path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        return f"{file.label}: 无法写入（{exc.strerror or exc}），文件没有改动。"
    return None


def new_profile(directory: Path, name: str) -> tuple[PromptFile | None, str | None]:
    """A new profile file from the template; (file, None) or (None, problem)."""
    name = (name or "").strip()
    if not _PROFILE_NAME.match(name):
        return None, "配置名只能用中文、字母、数字、下划线和连字符（最多 64 个字）。"
    if name == "brief":
        return None, "brief 是内置的简报体例，请换一个名字。"
    path = directory / PROFILES / f"{name}.md"
    if path.exists():
        return None, f"已有名为 {name} 的配置。"
    file = PromptFile(f"{PROFILES}/{name}.md", path, STYLE_VARIABLES)
    problem = save(file, NEW_PROFILE_TEMPLATE.format(name=name))
    return (None, problem) if problem else (file, None)
