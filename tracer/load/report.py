"""What a load did: the accounting of every row read, per source and in total.

``loaded + rejected + duplicates + system == rows_read`` always holds. :func:`summarise` adds the
most frequent reasons for rejection and the first rejected rows; :func:`version_warnings` names
streams whose versions go back or skip numbers in log order.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb

FIRST_REASONS = 5


@dataclass
class SourceReport:
    source: str
    format: str
    rows_read: int = 0
    loaded: int = 0
    rejected: int = 0
    duplicates: int = 0
    system: int = 0  # system events (``$`` streams and types) left out
    mapping: dict[str, str] = field(default_factory=dict)


@dataclass
class LoadReport:
    """What a load did. ``loaded + rejected + duplicates + system == rows_read`` always holds.

    ``system``: KurrentDB (EventStoreDB) system events, whose stream or type starts with ``$``
    (``$$$settings``, ``$stats-…``, link events ``$>``), left out unless ``include_system``.
    """

    load_id: int
    rows_read: int = 0
    loaded: int = 0
    rejected: int = 0
    duplicates: int = 0
    system: int = 0
    first_position: int | None = None
    last_position: int | None = None
    seconds: float = 0.0
    sources: list[SourceReport] = field(default_factory=list)
    reasons: list[tuple[str, int]] = field(default_factory=list)  # most frequent first
    first_rejections: list[dict[str, Any]] = field(default_factory=list)
    #: What was loaded but looks wrong (versions out of order or with gaps), in plain words.
    warnings: list[str] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return self.loaded + self.rejected + self.duplicates + self.system == self.rows_read

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["reasons"] = [{"reason": r, "rows": n} for r, n in self.reasons]
        return doc

    def __str__(self) -> str:
        system = f", {self.system} system" if self.system else ""
        return (
            f"{self.loaded} loaded, {self.rejected} rejected, {self.duplicates} duplicates"
            f"{system} of {self.rows_read} rows read"
        )


def version_warnings(con: duckdb.DuckDBPyConnection, load_id: int) -> list[str]:
    """Streams of this load whose versions go back or skip numbers in log order (a lost or
    misordered event: ``version:N`` and replays trust the order), with the first example."""
    (first,) = con.execute(
        "SELECT min(position) FROM events WHERE load_id = ?", [load_id]
    ).fetchone()
    # (A load into an empty store holds every event: no need to pick its streams.)
    scope = "" if first == 1 else "WHERE stream IN (SELECT stream FROM events WHERE load_id = ?)"
    rows = con.execute(
        f"""WITH steps AS (
               SELECT stream, position, version, load_id,
                      lag(version) OVER (PARTITION BY stream ORDER BY position) AS prev
               FROM events {scope})
           SELECT version < prev AS back, count(DISTINCT stream), count(*),
                  arg_min([stream, CAST(prev AS VARCHAR), CAST(version AS VARCHAR)], position),
                  min(position)
           FROM steps WHERE load_id = ? AND version <> prev + 1
           GROUP BY back ORDER BY back DESC""",
        [load_id, load_id] if scope else [load_id],
    ).fetchall()
    warnings = []
    for back, streams, steps, (stream, prev, version), position in rows:
        where = ":".join(
            str(v)
            for v in con.execute(
                "SELECT source, source_row FROM events WHERE position = ?", [position]
            ).fetchone()
        )
        what = "go back" if back else "skip numbers"
        move = "comes after" if back else "follows"
        warnings.append(
            f"versions {what} in {streams:,} stream(s), {steps:,} time(s); first: {stream} "
            f"version {version} {move} version {prev} at {where}"
        )
    return warnings


def add_part(report: LoadReport, part: SourceReport) -> None:
    report.sources.append(part)
    report.rows_read += part.rows_read
    report.loaded += part.loaded
    report.rejected += part.rejected
    report.duplicates += part.duplicates
    report.system += part.system


def summarise(con: duckdb.DuckDBPyConnection, report: LoadReport) -> None:
    lid = report.load_id
    report.reasons = [
        (r, n)
        for r, n in con.execute(
            """SELECT regexp_replace(reason, ':.*', '') AS r, count(*) FROM rejected
               WHERE load_id = ? GROUP BY r ORDER BY count(*) DESC, r""",
            [lid],
        ).fetchall()
    ]
    report.first_rejections = [
        {"source": s, "row": r, "reason": why}
        for s, r, why in con.execute(
            "SELECT source, source_row, reason FROM rejected WHERE load_id = ? ORDER BY source, source_row LIMIT ?",
            [lid, FIRST_REASONS],
        ).fetchall()
    ]
    first, last = con.execute(
        "SELECT min(position), max(position) FROM events WHERE load_id = ?", [lid]
    ).fetchone()
    report.first_position, report.last_position = first, last
