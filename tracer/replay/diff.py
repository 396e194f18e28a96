"""Structural diffs of JSON-like states.

Dicts are compared key by key; lists index by index (common prefix changed in place, extra items
added or removed at the end, removals listed from the last index down) so that applying the
changes in order with :func:`apply_changes` turns the old state into the new one.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from tracer.replay.paths import Segment, join, parse_path

if TYPE_CHECKING:
    import pandas as pd

Op = Literal["add", "remove", "change"]


@dataclass(frozen=True)
class Change:
    path: str
    op: Op
    old: Any = None
    new: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "op": self.op, "old": self.old, "new": self.new}


@dataclass
class Diff:
    """The changes between two states, with what they were taken from."""

    changes: list[Change] = field(default_factory=list)
    stream: str | None = None
    frm: int | None = None
    to: int | None = None

    def __len__(self) -> int:
        return len(self.changes)

    def __iter__(self) -> Iterator[Change]:
        return iter(self.changes)

    def __bool__(self) -> bool:
        return bool(self.changes)

    def count(self, op: Op) -> int:
        return sum(1 for c in self.changes if c.op == op)

    def to_list(self) -> list[dict[str, Any]]:
        return [c.to_dict() for c in self.changes]

    def to_frame(self) -> pd.DataFrame:
        from tracer.replay.results import records_frame

        return records_frame(self.to_list(), ["path", "op", "old", "new"])

    def apply(self, state: Any) -> Any:
        return apply_changes(state, self.changes)

    def _repr_html_(self) -> str:
        from tracer.replay.html import diff_html

        return diff_html(self)


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        numbers = (int, float)
        if isinstance(a, bool) or isinstance(b, bool):
            return False
        if isinstance(a, numbers) and isinstance(b, numbers):
            return a == b
        return False
    return a == b


def diff_states(old: Any, new: Any, prefix: str = "") -> list[Change]:
    """The changes that turn ``old`` into ``new``."""
    changes: list[Change] = []
    _diff(old, new, prefix, changes)
    return changes


def _diff(old: Any, new: Any, path: str, out: list[Change]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key, value in old.items():
            if key not in new:
                out.append(Change(join(path, key), "remove", value, None))
        for key, value in new.items():
            if key in old:
                _diff(old[key], value, join(path, key), out)
            else:
                out.append(Change(join(path, key), "add", None, value))
        return
    if isinstance(old, list) and isinstance(new, list):
        common = min(len(old), len(new))
        for index in range(common):
            _diff(old[index], new[index], join(path, index), out)
        for index in range(common, len(new)):
            out.append(Change(join(path, index), "add", None, new[index]))
        for index in range(len(old) - 1, common - 1, -1):
            out.append(Change(join(path, index), "remove", old[index], None))
        return
    if not _same(old, new):
        out.append(Change(path, "change", old, new))


def apply_changes(state: Any, changes: list[Change] | Diff) -> Any:
    """Apply changes (in order) to a copy of ``state`` and return it."""
    result = clone(state)
    for change in changes:
        segments = parse_path(change.path)
        if not segments:
            result = None if change.op == "remove" else clone(change.new)
            continue
        parent = _walk(result, segments[:-1], change.path)
        last = segments[-1]
        if change.op == "remove":
            if isinstance(parent, list) and isinstance(last, int):
                parent.pop(last)
            else:
                parent.pop(_key(parent, last))
        elif isinstance(parent, list) and isinstance(last, int):
            if last == len(parent):
                parent.append(clone(change.new))
            else:
                parent[last] = clone(change.new)
        else:
            parent[_key(parent, last)] = clone(change.new)
    return result


def _walk(state: Any, segments: list[Segment], path: str) -> Any:
    value = state
    for segment in segments:
        if isinstance(value, list) and isinstance(segment, int):
            value = value[segment]
        elif isinstance(value, dict):
            value = value[_key(value, segment)]
        else:
            raise KeyError(f"cannot apply change at {path!r}")
    return value


def _key(container: dict[str, Any], segment: Segment) -> Any:
    return str(segment) if isinstance(segment, int) and segment not in container else segment


def clone(value: Any) -> Any:
    """A deep copy of a JSON-like value (fast path for dicts, lists and scalars)."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return copy.deepcopy(value)
