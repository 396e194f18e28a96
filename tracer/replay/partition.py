"""How a projection's fold splits into partitions that fold independently.

- An **aggregate** keeps one state per stream: events partition by a hash of the stream
  (DuckDB's ``hash(stream) % N``, computed where the events are exported), each partition is
  folded on its own and the states are concatenated.
- A **keyed read model** partitions by key: the key is projection code, so it is computed where
  the events are folded; each worker reads every event and folds only the keys that hash to it
  (:func:`key_part`).
- A **read model with** ``merge(a, b)`` (associative: ``merge(fold(A), fold(B)) == fold(A + B)``
  for consecutive runs of events A, B) folds consecutive position ranges from ``initial()`` and
  combines the partial states in order.
- Any other read model runs serially, and says so (:attr:`Plan.note`).

A projection reaches the workers as its spec (``FILE.py:Name`` or ``module:Name``), never as a
pickled class; one that has no spec (defined in ``__main__`` or a notebook cell, or an instance
with parameters) runs serially, and says so.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracer.replay.projection import DefaultProjection, Projection

STREAM = "stream"
KEY = "key"
MERGE = "merge"
SERIAL = "serial"


@dataclass(frozen=True)
class Plan:
    """How to split one projection's fold: ``mode`` (stream, key, merge or serial), the spec
    that rebuilds the projection in a worker, and why it runs serially (``note``)."""

    mode: str
    spec: str | None
    note: str | None = None

    @property
    def parallel(self) -> bool:
        return self.mode != SERIAL


def has_merge(projection: Projection) -> bool:
    """Whether a read model declares ``merge(a, b)`` (a handler named ``merge`` does not count)."""
    if not projection.read_model or "merge" in projection._handler_names.values():
        return False
    return callable(getattr(projection, "merge", None))


def plan_for(projection: Projection, given: Any) -> Plan:
    """The plan for a projection built from ``given`` (what was passed to ``Replay``)."""
    spec = projection_spec(projection, given)
    name = projection.name
    if not projection.read_model:
        mode = STREAM
    elif projection.keyed:
        mode = KEY
    elif has_merge(projection):
        mode = MERGE
    else:
        return Plan(SERIAL, spec, f"read model {name} has no key() and no merge(): one core")
    if spec is None:
        return Plan(
            SERIAL, None, f"projection {name} cannot be imported by name (FILE.py:Name): one core"
        )
    return Plan(mode, spec)


def projection_spec(projection: Projection, given: Any) -> str | None:
    """What rebuilds ``projection`` in another process: the spec string it was loaded from, or
    ``module:Class`` for an importable class without parameters; ``None`` when nothing does."""
    if given is None or type(projection) is DefaultProjection:
        return "default"
    if isinstance(given, str):
        return _absolute(given.strip()) or "default"
    cls = type(projection)
    if vars(projection):  # parameters set on the instance would not travel
        return None
    module = cls.__module__
    if module == "__main__" or module.startswith("tracer_projection_") or "<" in cls.__qualname__:
        return None
    return f"{module}:{cls.__qualname__}"


def _absolute(spec: str) -> str:
    """A ``FILE.py:Name`` spec with an absolute path (workers may start elsewhere)."""
    target, sep, name = spec.rpartition(":")
    if not sep or "/" in name or "\\" in name:
        target, name = spec, ""
    if target.endswith(".py") or Path(target).is_file():
        target = str(Path(target).resolve())
        return f"{target}:{name}" if name else target
    return spec


def key_part(key: Any, parts: int) -> int:
    """The partition of a read-model key (stable across processes, unlike ``hash``)."""
    return zlib.crc32(str(key).encode()) % parts


#: Slots per partition: streams and keys hash to slots, slots belong to partitions, so that the
#: main process, which also reads the events and saves checkpoints, can take a smaller share.
SLOTS_PER_PART = 8


def slot_owners(parts: int, main_share: float) -> list[int]:
    """The partition owning each slot; the first partition (the main process) gets about
    ``main_share`` of one other partition's events."""
    slots = parts * SLOTS_PER_PART
    if parts < 2:
        return [0] * slots
    main = max(1, round(main_share * slots / (parts - 1 + main_share)))
    return [0] * main + [1 + i % (parts - 1) for i in range(slots - main)]


def cut_points(lo: int, hi: int, parts: int, boundaries: list[int]) -> list[int]:
    """Ends of consecutive ranges covering ``(lo, hi]``: every boundary, and enough evenly spaced
    cuts for ``parts`` ranges."""
    cuts = {lo + (hi - lo) * i // parts for i in range(1, parts)}
    cuts.update(boundaries)
    cuts.add(hi)
    return sorted(c for c in cuts if lo < c <= hi)
