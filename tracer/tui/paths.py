"""State paths as tuples, whatever form the replay engine reports them in."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

Path = tuple[str | int, ...]

_TOKEN = re.compile(r"\[(\d+)\]|\[\"((?:[^\"\\]|\\.)*)\"\]|\['([^']*)'\]|([^.\[\]]+)")


def as_path(path: Any) -> Path:
    """``"items[0].sku"``, ``["items", 0, "sku"]`` or ``("items", 0, "sku")`` → a tuple."""
    if isinstance(path, tuple):
        return path
    if isinstance(path, list):
        return tuple(path)
    text = str(path)
    if text in ("", "$", "."):
        return ()
    if text.startswith("$"):
        text = text[1:].lstrip(".")
    parts: list[str | int] = []
    for index, dquoted, squoted, name in _TOKEN.findall(text):
        if index:
            parts.append(int(index))
        elif dquoted or squoted:
            parts.append(dquoted or squoted)
        elif name:
            parts.append(name)
    return tuple(parts)


def show_path(path: Path) -> str:
    """A tuple path as ``items[0].sku``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(root)"


def with_ancestors(paths: Iterable[Path]) -> set[Path]:
    """Every path and every prefix of it (the tree nodes to expand)."""
    result: set[Path] = set()
    for path in paths:
        for end in range(len(path) + 1):
            result.add(path[:end])
    return result


def value_at(state: Any, path: Path) -> Any:
    for part in path:
        state = state[part]
    return state
