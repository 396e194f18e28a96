"""Causation trails: what caused an event, and everything its first cause set off.

Events name their cause in ``causation_id`` (the id of the event, or of a command outside the
log, that caused them) and their conversation in ``correlation_id``. :func:`trace` walks from an
event up its causes to the first one in the log (the root), then down to everything the root
caused, level by level; events of the same correlation outside that tree are listed apart. Each
step is one indexed lookup (a large log gets its indexes the first time), so a trail of a few
hundred events costs milliseconds on a log of millions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tracer.errors import TracerError

if TYPE_CHECKING:
    from tracer.store import Store

#: Events a trail holds at most; past that it stops and says so (``Trail.truncated``).
MAX_EVENTS = 10_000
_CHUNK = 500  # ids per lookup of what a level caused
_COLUMNS = "position, event_id, stream, type, time, correlation_id, causation_id"


@dataclass
class Node:
    """One event of a trail and what it caused, in log order."""

    position: int
    event_id: str
    stream: str
    type: str
    time: Any
    correlation_id: str | None = None
    causation_id: str | None = None
    children: list[Node] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "event_id": self.event_id,
            "stream": self.stream,
            "type": self.type,
            "time": _iso(self.time),
            "children": [child.to_dict() for child in self.children],
        }

    def walk(self) -> Iterable[tuple[int, Node]]:
        """Every node of the tree under this one with its depth, depth first, in log order."""
        stack: list[tuple[int, Node]] = [(0, self)]
        while stack:
            depth, node = stack.pop()
            yield depth, node
            stack.extend((depth + 1, child) for child in reversed(node.children))


@dataclass
class Trail:
    """The causation tree of an event, and the other events of its correlation."""

    event: int  # the position traced
    root: Node
    correlated: list[Node]
    external_cause: str | None  # the root's causation id when no event in the log has it
    truncated: bool = False

    def __len__(self) -> int:
        return sum(1 for _ in self.root.walk())

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "event": self.event,
            "root": self.root.to_dict(),
            "correlated": [node.to_dict() for node in self.correlated],
            "external_cause": self.external_cause,
        }
        if self.truncated:
            document["truncated"] = True
        return document


def trace(store: Store, event: int | str, *, max_events: int = MAX_EVENTS) -> Trail:
    """The causation trail of ``event``: a position (``798``) or an event id."""
    start = _find(store, event)
    with store.lock:
        for column in ("event_id", "causation_id", "correlation_id"):
            store.ensure_index(column)
    root, external = _root_of(store, start)
    tree, truncated = _descend(store, root, max_events)
    correlated: list[Node] = []
    if start.correlation_id is not None:
        seen = {node.position for _, node in tree.walk()}
        rows = _rows(
            store,
            f"SELECT {_COLUMNS} FROM events WHERE correlation_id = ? ORDER BY position LIMIT ?",
            [start.correlation_id, max_events + 1],
        )
        correlated = [node for node in rows if node.position not in seen][:max_events]
        truncated = truncated or len(rows) > max_events
    return Trail(start.position, tree, correlated, external, truncated)


def _find(store: Store, event: int | str) -> Node:
    text = str(event).strip()
    if text.isdigit():
        found = _rows(store, f"SELECT {_COLUMNS} FROM events WHERE position = ?", [int(text)])
        if not found:
            raise TracerError(f"no event at position {text} (the log has {store.count():,})")
        return found[0]
    store.ensure_index("event_id")
    found = _rows(store, f"SELECT {_COLUMNS} FROM events WHERE event_id = ? LIMIT 1", [text])
    if not found:
        raise TracerError(f"no event with id {text!r}: give a position or an event id")
    return found[0]


def _root_of(store: Store, node: Node) -> tuple[Node, str | None]:
    """Follow causation ids up to the first cause in the log (guarding against cycles)."""
    seen = {node.event_id}
    while node.causation_id and node.causation_id != node.event_id:
        parent = _rows(
            store,
            f"SELECT {_COLUMNS} FROM events WHERE event_id = ? ORDER BY position LIMIT 1",
            [node.causation_id],
        )
        if not parent:
            return node, node.causation_id
        if parent[0].event_id in seen:  # a cycle: stop at the earliest event on it
            return node, None
        node = parent[0]
        seen.add(node.event_id)
    return node, None


def _descend(store: Store, root: Node, max_events: int) -> tuple[Node, bool]:
    """Everything ``root`` caused, one lookup per level (and per chunk of ids)."""
    by_id = {root.event_id: [root]}
    seen = {root.position}
    level = [root]
    count = 1
    while level:
        ids = sorted({node.event_id for node in level})
        found: list[Node] = []
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            found += _rows(
                store,
                f"SELECT {_COLUMNS} FROM events WHERE causation_id IN ({marks}) ORDER BY position",
                chunk,
            )
        level = []
        for node in sorted(found, key=lambda n: n.position):
            if node.position in seen or node.causation_id == node.event_id:
                continue
            if count >= max_events:
                return root, True
            seen.add(node.position)
            count += 1
            by_id[node.causation_id or ""][0].children.append(node)
            by_id.setdefault(node.event_id, [node])
            level.append(node)
    return root, False


def _rows(store: Store, query: str, params: list[Any]) -> list[Node]:
    with store.lock:
        rows = store.con.execute(query, params).fetchall()
    return [Node(*row) for row in rows]


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()
