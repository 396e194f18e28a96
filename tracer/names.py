"""Did you mean: the names a store holds that are closest to one it does not hold.

An empty answer because a stream, a type or a payload field does not exist says so, with the
closest names (``no stream 'account-77', did you mean account-7?``). The names come from one
DuckDB query that ranks them by similarity; :func:`difflib.get_close_matches` picks among those.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

#: What can be looked up: the SQL of the distinct names of each kind.
_NAMES = {
    "stream": "SELECT DISTINCT stream AS name FROM events",
    "type": "SELECT DISTINCT type AS name FROM events",
    "category": "SELECT DISTINCT category AS name FROM events",
    "data": "SELECT DISTINCT unnest(json_keys(data)) AS name FROM events "
    "WHERE json_type(data) = 'OBJECT'",
    "meta": "SELECT DISTINCT unnest(json_keys(meta)) AS name FROM events "
    "WHERE json_type(meta) = 'OBJECT'",
}
#: Names ranked in DuckDB before difflib looks at them (a log may hold millions of streams).
_SHORTLIST = 50


def close_names(con: duckdb.DuckDBPyConnection, kind: str, name: str, n: int = 3) -> list[str]:
    """Up to ``n`` names of ``kind`` (stream, type, data, meta keys) close to ``name``."""
    rows = con.execute(
        f"SELECT name FROM ({_NAMES[kind]}) WHERE name IS NOT NULL "
        "ORDER BY jaro_winkler_similarity(lower(name), lower(?)) DESC, name LIMIT ?",
        [name, _SHORTLIST],
    ).fetchall()
    names = [str(row[0]) for row in rows]
    return difflib.get_close_matches(name, names, n=n, cutoff=0.6)


def did_you_mean(names: list[str], prefix: str = "") -> str:
    """``", did you mean account-7?"`` (or ``""`` when nothing is close)."""
    if not names:
        return ""
    shown = [f"{prefix}{name}" for name in names]
    listed = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"
    return f", did you mean {listed}?"


def exists(con: duckdb.DuckDBPyConnection, kind: str, name: str) -> bool:
    """Whether any event has this stream or type (``kind``), or this top-level payload key."""
    if kind in ("stream", "type"):
        query = f"SELECT 1 FROM events WHERE {kind} = ? LIMIT 1"
    else:
        query = (
            f"SELECT 1 FROM events WHERE json_exists({kind}, '$.' || to_json(?::VARCHAR)) LIMIT 1"
        )
    return bool(con.execute(query, [name]).fetchall())


def map_hint(fields: list[str], columns: list[str]) -> str:
    """``--map stream=strem --map type=COLUMN``: for each field, the free column closest to its
    name (a misspelt or unusual column name), else a placeholder."""
    maps = []
    for field in fields:
        close = difflib.get_close_matches(field, columns, n=1, cutoff=0.6)
        maps.append(f"--map {field}={close[0] if close else 'COLUMN'}")
    return " ".join(maps)
