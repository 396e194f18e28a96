"""Paths into JSON-like states, one notation everywhere (diff, history, blame).

A path joins dict keys with dots and list indices in brackets: ``balance``,
``items.sku-1.quantity``, ``lines[2].price``. A key holding a dot, a bracket, a quote, whitespace
(or an empty key) is written as a JSON string in brackets: ``labels["a.b"]``. The root is ``""``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from tracer.errors import TracerError

_BARE = re.compile(r'^[^.\[\]"\s]+$')
_TOKEN = re.compile(r'\.?([^.\[\]"\s]+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]')

Segment = str | int
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "<missing>"})()


class PathError(TracerError):
    """A path that does not parse."""


def key_segment(key: Any) -> str:
    text = str(key)
    return text if _BARE.fullmatch(text) else f"[{json.dumps(text)}]"


def join(prefix: str, segment: Segment) -> str:
    if isinstance(segment, int):
        return f"{prefix}[{segment}]"
    part = key_segment(segment)
    if not prefix or part.startswith("["):
        return prefix + part
    return f"{prefix}.{part}"


def format_path(segments: list[Segment] | tuple[Segment, ...]) -> str:
    path = ""
    for segment in segments:
        path = join(path, segment)
    return path


def parse_path(path: str) -> list[Segment]:
    """``"lines[2].price"`` -> ``["lines", 2, "price"]``."""
    segments: list[Segment] = []
    at = 0
    text = path.strip()
    while at < len(text):
        match = _TOKEN.match(text, at)
        if match is None or (at == 0 and text.startswith(".")):
            raise PathError(f'bad path {path!r} at {text[at:]!r}: use a.b, a[0], a["key.x"]')
        name, index, quoted = match.groups()
        if name is not None:
            segments.append(name)
        elif index is not None:
            segments.append(int(index))
        else:
            segments.append(json.loads(quoted))
        at = match.end()
    return segments


def get(state: Any, segments: list[Segment]) -> Any:
    """The value at a path, or ``MISSING``."""
    value = state
    for segment in segments:
        if isinstance(value, dict):
            if segment in value:
                value = value[segment]
            elif isinstance(segment, int) and str(segment) in value:
                value = value[str(segment)]
            else:
                return MISSING
        elif isinstance(value, list) and isinstance(segment, int):
            if segment >= len(value):
                return MISSING
            value = value[segment]
        else:
            return MISSING
    return value


def leaves(state: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf (scalar, empty dict, empty list) of a state, with its path."""
    if isinstance(state, dict) and state:
        for key, value in state.items():
            yield from leaves(value, join(prefix, key))
    elif isinstance(state, list) and state:
        for index, value in enumerate(state):
            yield from leaves(value, join(prefix, index))
    else:
        yield prefix, state


def ancestors(path: str) -> list[str]:
    """``"a.b[1]"`` -> ``["", "a", "a.b", "a.b[1]"]``."""
    segments = parse_path(path)
    return [format_path(segments[:i]) for i in range(len(segments) + 1)]
