"""System events: KurrentDB's (EventStoreDB's) own bookkeeping, found in dumps of ``$all``.

Streams whose name starts with ``$`` (``$$$settings``, ``$stats-127.0.0.1:2113``, ``$scavenges``,
the metadata streams ``$$…``, the category and type indexes ``$ce-…`` and ``$et-…``) and events
whose type starts with ``$`` (``$metadata``, ``$statsCollected``, the link events ``$>`` whose data
is ``N@stream``) are not the application's events. A load leaves them out and counts them as
``system`` (``loaded + rejected + duplicates + system == rows_read``), unless asked to keep them
(``include_system``). A row is a system row as soon as it is a record (a line that is not JSON is
rejected as such, whatever it holds).
"""

from __future__ import annotations

import duckdb

#: SQL over the candidate's ``_stream``, ``_type`` and ``_invalid``: the row is a system event.
SYSTEM_SQL = (
    "(NOT _invalid AND coalesce(starts_with(_stream, '$') OR starts_with(_type, '$'), false))"
)
VIEW = "_cand_events"


def leave_out_system(con: duckdb.DuckDBPyConnection, cand: str) -> tuple[int, str]:
    """(the number of system rows, a relation of the other candidates)."""
    system = con.execute(f"SELECT count(*) FROM {cand} WHERE _system").fetchone()[0]
    if not system:
        return 0, cand
    con.execute(f"CREATE OR REPLACE TEMP VIEW {VIEW} AS SELECT * FROM {cand} WHERE NOT _system")
    return system, VIEW
