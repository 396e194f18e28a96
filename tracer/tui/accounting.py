"""The load's accounting for the header, and the rows it rejected (no Textual here).

Every row read is loaded, rejected, a duplicate or (KurrentDB) a system event kept out of
replays; the header says how many of each, and a notice names the top reasons for rejections.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

#: rows the rejected-rows screen lists at most (it says how many more there are)
LIST_LIMIT = 2000
RAW_WIDTH = 120


@dataclass(frozen=True)
class Accounting:
    """What one or more loads did with the rows they read."""

    loaded: int = 0
    rejected: int = 0
    duplicates: int = 0
    system: int = 0
    load_ids: tuple[int, ...] = ()
    reasons: tuple[tuple[str, int], ...] = ()  # most frequent first

    @classmethod
    def of_report(cls, report: Any) -> Accounting:
        """From a load report (``system``: KurrentDB system events, kept out of replays)."""
        return cls(
            int(report.loaded),
            int(report.rejected),
            int(report.duplicates),
            int(report.system),
            (int(report.load_id),),
            tuple((str(r), int(n)) for r, n in report.reasons),
        )

    def plus(self, other: Accounting) -> Accounting:
        """Two loads together (a follow round after the first load)."""
        reasons: dict[str, int] = dict(self.reasons)
        for reason, n in other.reasons:
            reasons[reason] = reasons.get(reason, 0) + n
        return Accounting(
            self.loaded + other.loaded,
            self.rejected + other.rejected,
            self.duplicates + other.duplicates,
            self.system + other.system,
            self.load_ids + other.load_ids,
            tuple(sorted(reasons.items(), key=lambda item: (-item[1], item[0]))),
        )

    def summary(self) -> str:
        """``1,929 loaded · 2 duplicates · 12 system`` (the rejected count is a part of its own)."""
        parts = [f"{self.loaded:,} loaded"]
        if self.duplicates:
            parts.append(f"{self.duplicates:,} duplicate{'s' if self.duplicates != 1 else ''}")
        if self.system:
            parts.append(f"{self.system:,} system")
        return ", ".join(parts)

    def notice(self, top: int = 3) -> str:
        """The top reasons for the rejections, and the key that lists the rows."""
        rows = "row" if self.rejected == 1 else "rows"
        lines = [
            f"{self.rejected:,} {rows} rejected" + (", none loaded" if not self.loaded else "")
        ]
        lines += [f"  {n:,} × {reason}" for reason, n in self.reasons[:top]]
        if len(self.reasons) > top:
            lines.append(f"  … {len(self.reasons) - top} more reasons")
        lines.append("R lists them with their line numbers")
        return "\n".join(lines)


def last_load(cur: duckdb.DuckDBPyConnection) -> Accounting | None:
    """The accounting of the store's last load (the store opened without loading anything)."""
    found = cur.execute("SELECT * FROM loads ORDER BY load_id DESC LIMIT 1")
    row = found.fetchone()
    if row is None:
        return None
    record = dict(zip([d[0] for d in found.description], row, strict=True))
    load_id = int(record["load_id"])
    reasons = cur.execute(
        """SELECT regexp_replace(reason, ':.*', '') AS r, count(*) FROM rejected
           WHERE load_id = ? GROUP BY r ORDER BY count(*) DESC, r""",
        [load_id],
    ).fetchall()
    return Accounting(
        int(record.get("loaded") or 0),
        int(record.get("rejected") or 0),
        int(record.get("duplicates") or 0),
        int(record.get("system") or 0),
        (load_id,),
        tuple((str(r), int(n)) for r, n in reasons),
    )


def rejected_rows(
    cur: duckdb.DuckDBPyConnection, load_ids: tuple[int, ...], limit: int = LIST_LIMIT
) -> tuple[list[list[Any]], int]:
    """The rows these loads rejected (source, line, reason, raw text cut short), in order, and
    how many there are in all."""
    if not load_ids:
        return [], 0
    marks = ", ".join("?" for _ in load_ids)
    where = f"WHERE load_id IN ({marks})"
    (total,) = cur.execute(f"SELECT count(*) FROM rejected {where}", list(load_ids)).fetchone()
    rows = cur.execute(
        f"""SELECT source, source_row, reason, raw FROM rejected {where}
            ORDER BY load_id, source, source_row LIMIT ?""",
        [*load_ids, limit],
    ).fetchall()
    listed = [
        [source or "", "" if line is None else line, reason or "", _cut(raw or "")]
        for source, line, reason, raw in rows
    ]
    return listed, int(total)


def _cut(raw: str) -> str:
    one_line = " ".join(raw.split())
    return one_line if len(one_line) <= RAW_WIDTH else one_line[: RAW_WIDTH - 1] + "…"
