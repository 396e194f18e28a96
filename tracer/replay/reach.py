"""Which payload shapes a projection's handlers can take: each shape's first event, run through
the projection's upcasters and handler, with a payload that records the fields read but absent.

For every shape (see :func:`tracer.shapes.payload_shapes`): the type handlers see after the
upcasters, the handler that gets it, the shape after upcasting, the fields read that the shape
lacks (``required``: read with ``data[key]``, which raised; ``optional``: read with
``data.get(key)``), and a ``status``:

* ``handled``: the handler took the shape's first event;
* ``missing``: it read a field the shape lacks and raised;
* ``fails``: it raised otherwise (the message is in ``error``);
* ``ignored``: the projection has no handler for the type.

An aggregate's handler runs on the real state of the event's stream just before the event; a
read model's, on its initial state. Nothing is saved: each run works on a copy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from tracer.replay.diff import clone
from tracer.replay.engine import Replay
from tracer.replay.events import Event, Extras
from tracer.replay.fold import SKIPPED
from tracer.replay.paths import join
from tracer.store import Store

COLUMNS = ["type", "shape", "count", "handled_as", "handler", "status", "missing", "optional"]
COLUMNS += ["upcast_shape", "error", "first_position"]
#: Statuses ``--strict`` fails on: a handled type whose handler cannot take a shape.
UNHANDLED = ("missing", "fails")


class Reads:
    """The fields read but absent, by path."""

    def __init__(self) -> None:
        self.required: list[str] = []
        self.optional: list[str] = []


class Recording(dict):
    """A payload dict that notes the keys read but absent (nested dicts and lists wrapped)."""

    def __init__(self, value: dict[Any, Any], path: str, reads: Reads) -> None:
        super().__init__({k: wrap(v, join(path, k), reads) for k, v in value.items()})
        self.path = path
        self.reads = reads

    def __getitem__(self, key: Any) -> Any:
        if not dict.__contains__(self, key):
            self.reads.required.append(join(self.path, key))
        return super().__getitem__(key)

    def get(self, key: Any, default: Any = None) -> Any:
        if not dict.__contains__(self, key):
            self.reads.optional.append(join(self.path, key))
            return default
        return super().__getitem__(key)


def wrap(value: Any, path: str, reads: Reads) -> Any:
    if isinstance(value, dict) and not isinstance(value, Recording):
        return Recording(value, path, reads)
    if isinstance(value, list):
        return [wrap(v, f"{path}[]", reads) for v in value]
    return value


def plain(value: Any) -> Any:
    """A recorded payload back as plain dicts and lists."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in dict.items(value)}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


class _Probe(Event):
    """An event whose ``data`` is a given (recording) payload."""

    __slots__ = ("payload",)

    @property
    def data(self) -> Any:
        return self.payload


def handler_reach(store: Store, projection: Any, shapes: pd.DataFrame) -> pd.DataFrame:
    """For each row of ``shapes`` (:func:`tracer.shapes.payload_shapes`): how the projection's
    handlers take that shape; one row per shape with :data:`COLUMNS`."""
    from tracer.shapes import shape_of

    replay = Replay(store, projection, checkpoints=False)
    folder = replay.folder
    positions = [int(p) for p in shapes["first_position"]]
    firsts: dict[int, Event] = {}
    if positions:
        for batch in replay.source.batches(0, max(positions), positions=positions):
            columns = [batch.column(i).to_pylist() for i in range(6)]
            extras = Extras(replay.source.extras, columns[0])
            for row in zip(*columns, strict=True):
                firsts[row[0]] = Event(*row, extras)  # (as stored: no upcaster)
    rows = []
    for shape in shapes.to_dict(orient="records"):
        stored = firsts[int(shape["first_position"])]
        chain = folder.upcasts.get(stored.type)
        final = chain.final_type if chain is not None else stored.type
        row = {
            "type": shape["type"],
            "shape": shape["shape"],
            "count": shape["count"],
            "handled_as": final,
            "handler": None,
            "status": "ignored",
            "missing": [],
            "optional": [],
            "upcast_shape": None,
            "error": None,
            "first_position": shape["first_position"],
        }
        handler = folder.handlers.get(final, folder.star)
        if handler is not None:
            row["handler"] = replay.projection.handler_name(final)
            _run(replay, handler, stored, final, row, shape_of)
        rows.append(row)
    frame = pd.DataFrame(
        {c: pd.Series([r[c] for r in rows], dtype=object) for c in COLUMNS}, columns=COLUMNS
    )
    for column in ("count", "first_position"):
        frame[column] = frame[column].astype("int64")
    return frame


def _run(
    replay: Replay,
    handler: Callable[[Any, Event], Any],
    stored: Event,
    final: str,
    row: dict[str, Any],
    shape_of: Callable[[Any], dict[str, str]],
) -> None:
    """Run the upcasters and the handler on the event, noting what they read but is absent."""
    reads = Reads()
    folder = replay.folder
    probe = _Probe(stored.position, stored.stream, stored.version, final, stored.time_us, None)
    try:
        data = wrap(stored.data, "", reads)
        chain = folder.upcasts.get(stored.type)
        if chain is not None:
            data = wrap(chain.apply(data, lambda: stored.meta), "", reads)
        row["upcast_shape"] = shape_of(plain(data))
        probe.payload = data
        if folder.bucket(probe) is not SKIPPED:
            handler(_state_before(replay, stored), probe)
        row["status"] = "handled"
    except Exception as exc:
        row["status"] = "missing" if reads.required else "fails"
        row["error"] = str(folder.failure(exc, probe))
    row["missing"] = sorted(set(reads.required))
    version_key = replay.projection.schema_version_key  # (read by every upcaster chain)
    row["optional"] = sorted(set(reads.optional) - {version_key})


def _state_before(replay: Replay, event: Event) -> Any:
    if replay.is_read_model:
        return replay.folder.initial_state()
    return clone(replay.state(event.stream, event.position - 1).state)
