"""What an evidence report holds, as one JSON-ready document (no figures, no HTML).

An auditor must be able to defend a finding: say where the data came from and when, how many
records there were and what was rejected, what the log's integrity checks found, whether its seal
verifies, what the state was at the point in question, which invariants broke and why, and how to
reproduce all of it. :func:`collect` gathers exactly that from a store; :mod:`.html` renders it.
"""

from __future__ import annotations

import hashlib
import platform
import re
import shlex
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import orjson

import tracer
from tracer.jsonvalues import encode_json

if TYPE_CHECKING:
    from tracer.replay import Replay
    from tracer.store import Store

#: Rejection reasons shown per load.
TOP_REASONS = 5
_STATE_PATH = re.compile(r"""state\[['"]([^'"]+)['"]\]""")


def collect(
    store: Store,
    replay: Replay,
    *,
    at: str,
    invariants: list[str],
    seal: dict[str, Any] | None = None,
    findings: list[dict[str, Any]] | None = None,
    shapes: list[dict[str, Any]] | None = None,
    command: list[str] | None = None,
) -> dict[str, Any]:
    """The evidence document: provenance, accounting, findings, seal, point, states, violations.

    ``seal`` and ``findings`` come from the audit package (``tracer.audit``) and ``shapes`` from
    :func:`tracer.shapes.payload_shapes` when the caller has them; ``command`` is the argv that
    produced the report, quoted into the reproduction steps.
    """
    position = replay.position(at)
    states = replay.states(at)
    violations = replay.check(invariants) if invariants else None
    loads = _loads(store)
    return {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "tracer_version": tracer.__version__,
        "python": platform.python_version(),
        "store": store.path or ":memory:",
        "provenance": {
            "sources": [_source(load) for load in loads],
            "projection": {
                "name": replay.name,
                "fingerprint": replay.projection.fingerprint(),
            },
            "reproduce": _reproduce(store, loads, command),
        },
        "accounting": [
            {
                key: load[key]
                for key in ("load_id", "source", "rows_read", "loaded", "rejected", "duplicates")
            }
            | {"top_reasons": _reasons(store, load["load_id"])}
            for load in loads
        ],
        "findings": findings,
        "shapes": shapes,
        "seal": seal,
        "point": {"at": at, **_point(store, position)},
        "states": [
            {
                "stream": None if row.stream is None else str(row.stream),
                "position": _int(row.position),
                "version": _int(row.version),
                "time": None if _missing(row.time) else row.time.isoformat(),
                "state": row.state,
            }
            for row in states.itertuples(index=False)
        ],
        "invariants": invariants,
        "violations": [] if violations is None else _violations(violations),
    }


def violated_paths(invariant: str) -> list[str]:
    """The state fields an invariant reads (``state['balance'] >= 0`` -> ``['balance']``)."""
    return list(dict.fromkeys(_STATE_PATH.findall(invariant)))


def to_json(document: dict[str, Any]) -> bytes:
    return encode_json(document, option=orjson.OPT_INDENT_2, default=str)


# -- provenance --------------------------------------------------------------------------------
def _loads(store: Store) -> list[dict[str, Any]]:
    frame = store.sql(
        "SELECT load_id, started, finished, source, format, rows_read, loaded, rejected, "
        "duplicates, options FROM loads ORDER BY load_id"
    )
    rows = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    for row in rows:
        row["options"] = orjson.loads(row["options"]) if row["options"] else {}
        for key in ("started", "finished"):
            row[key] = None if row[key] is None else row[key].isoformat()
        for key in ("rows_read", "loaded", "rejected", "duplicates"):
            row[key] = _int(row[key])
    return rows


def _source(load: dict[str, Any]) -> dict[str, Any]:
    """One load's sources: files with their SHA-256 now, databases with credentials masked."""
    entries = []
    for spec in str(load["source"]).split(", "):
        entry: dict[str, Any] = {"source": mask(spec), "loaded": load["finished"]}
        path = Path(spec)
        if "://" in spec:
            entry["kind"] = "connection"
            table = load["options"].get("table")
            if table:
                entry["table"] = table
        elif path.is_file():
            entry |= {"kind": "file", "bytes": path.stat().st_size, "sha256": sha256(path)}
            if load["options"].get("table"):
                entry["table"] = load["options"]["table"]
        else:
            entry |= {"kind": "file", "sha256": None, "note": "not found when the report was made"}
        entries.append(entry)
    return {"load_id": load["load_id"], "format": load["format"], "files": entries}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def mask(spec: str) -> str:
    """A connection URL without its password (``postgresql://ann:***@host/db``)."""
    if "://" not in spec:
        return spec
    parts = urlsplit(spec)
    if parts.password is None:
        return spec
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _reproduce(store: Store, loads: list[dict[str, Any]], command: list[str] | None) -> list[str]:
    db = store.path or "evidence.duckdb"
    steps = []
    for load in loads:
        argv = ["tracer", "load", *str(load["source"]).split(", "), "--db", db]
        options = load["options"]
        if load["format"]:
            argv += ["--format", load["format"]]
        if options.get("table"):
            argv += ["--table", options["table"]]
        mapping = options.get("map") or {}
        for field, spec in mapping.items() if isinstance(mapping, dict) else ():
            argv += ["--map", f"{field}={spec}"]
        if options.get("tz"):
            argv += ["--tz", options["tz"]]
        steps.append(shlex.join(mask(arg) for arg in argv))
    if command:
        steps.append(shlex.join(["tracer", *command]))
    return steps


def _reasons(store: Store, load_id: int) -> list[dict[str, Any]]:
    frame = store.sql(
        "SELECT reason, count(*) AS rows, min(source_row) AS first_row FROM rejected "
        "WHERE load_id = ? GROUP BY reason ORDER BY rows DESC, reason LIMIT ?",
        [load_id, TOP_REASONS],
    )
    return [
        {"reason": r.reason, "rows": int(r.rows), "first_row": _int(r.first_row)}
        for r in frame.itertuples(index=False)
    ]


# -- the point and what broke -------------------------------------------------------------------
def _point(store: Store, position: int) -> dict[str, Any]:
    row = store.sql("SELECT time FROM events WHERE position = ?", [position])
    when = None if row.empty or _missing(row.iloc[0, 0]) else row.iloc[0, 0].isoformat()
    return {"position": position, "time": when, "events": store.count()}


def _violations(frame: Any) -> list[dict[str, Any]]:
    keep = ["invariant", "stream", "position", "version", "type", "time", "event_id"]
    rows = []
    for record in frame.astype(object).where(frame.notna(), None).to_dict(orient="records"):
        row = {key: record.get(key) for key in keep if key in record}
        row["time"] = None if row.get("time") is None else row["time"].isoformat()
        row["events"] = _int(record.get("events"))
        row["until"] = _int(record.get("until"))
        row["state"] = record.get("state")
        rows.append(row)
    return rows


def _missing(value: Any) -> bool:
    """None, NaN, NaT or pandas' NA (a dict or list is never missing)."""
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _int(value: Any) -> int | None:
    return None if _missing(value) else int(value)
