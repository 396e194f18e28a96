"""What replay queries return: small dataclasses with ``to_dict()`` and an HTML view."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


#: Columns that hold JSON values: kept as Python objects (an int stays an int beside floats).
VALUE_COLUMNS = ("value", "real", "whatif", "state", "old", "new", "changes", "by")


def records_frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    """A DataFrame of dict rows whose JSON-valued columns keep their Python values."""
    frame = pd.DataFrame(
        {
            c: pd.Series([r.get(c) for r in rows], dtype=object if c in VALUE_COLUMNS else None)
            for c in columns
        },
        columns=columns,
    )
    return frame


STATE_COLUMNS = ["stream", "position", "version", "time", "state"]


def buckets_frame(
    states: dict[Any, Any], book: dict[Any, Any], initial: Any, read_model: bool
) -> pd.DataFrame:
    """One row per bucket (stream or key): its last event and state (``initial()`` when none
    was folded)."""
    buckets = sorted(set(book) | set(states), key=str)
    none = (None, None, None)
    books = [book.get(b, none) for b in buckets]
    return pd.DataFrame(
        {
            "stream": pd.Series(buckets, dtype=object),
            "position": pd.array([b[0] for b in books], dtype="Int64"),
            "version": pd.array([None if read_model else b[1] for b in books], dtype="Int64"),
            "time": pd.to_datetime(
                pd.array([b[2] for b in books], dtype="Int64"), unit="us", utc=True
            ),
            "state": pd.Series(
                [states[b] if b in states else initial() for b in buckets], dtype=object
            ),
        },
        columns=STATE_COLUMNS,
    )


def states_frame(results: list[StateResult]) -> pd.DataFrame:
    frame = records_frame(
        [
            {
                "stream": r.stream,
                "position": r.position,
                "version": r.version,
                "time": r.time,
                "state": r.state,
            }
            for r in results
        ],
        STATE_COLUMNS,
    )
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    for column in ("position", "version"):
        frame[column] = frame[column].astype("Int64")
    return frame


@dataclass
class StateResult:
    """A state and the last event of its stream (or read model) at or before the point."""

    stream: str | None
    position: int | None
    version: int | None
    time: datetime | None
    state: Any
    projection: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "stream": self.stream,
            "position": self.position,
            "version": self.version,
            "time": iso(self.time),
            "state": self.state,
        }

    def _repr_html_(self) -> str:
        from tracer.replay.html import state_html

        return state_html(self)


@dataclass
class Match:
    """The event after which a ``find`` condition holds, and the state after it."""

    position: int
    stream: str
    version: int | None
    type: str
    time: datetime | None
    event_id: str | None
    state: Any
    key: str | None = None

    def to_dict(self) -> dict[str, Any]:
        result = {
            "position": self.position,
            "stream": self.stream,
            "version": self.version,
            "type": self.type,
            "time": iso(self.time),
            "event_id": self.event_id,
            "state": self.state,
        }
        if self.key is not None:
            result["key"] = self.key
        return result

    def _repr_html_(self) -> str:
        from tracer.replay.html import match_html

        return match_html(self)


@dataclass
class WhatIfResult:
    """How states differ between the real replay and the modified one."""

    differences: pd.DataFrame
    real: dict[Any, Any] = field(default_factory=dict)
    whatif: dict[Any, Any] = field(default_factory=dict)
    skipped: list[int] = field(default_factory=list)
    edited: list[int] = field(default_factory=list)
    inserted: int = 0
    read_model: bool = False

    @property
    def changed(self) -> list[Any]:
        """The streams (or keys) whose state differs."""
        return list(dict.fromkeys(self.differences["stream"].tolist()))

    def to_dict(self) -> dict[str, Any]:
        rows = self.differences.astype(object).where(self.differences.notna(), None)
        return {
            "skipped": self.skipped,
            "edited": self.edited,
            "inserted": self.inserted,
            "streams": [
                {"stream": s, "real": self.real.get(s), "whatif": self.whatif.get(s)}
                for s in self.changed
            ],
            "differences": rows.to_dict(orient="records"),
        }

    def _repr_html_(self) -> str:
        from tracer.replay.html import whatif_html

        return whatif_html(self)
