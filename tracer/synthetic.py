"""Large synthetic bank logs for benchmarks and tests, generated in DuckDB SQL.

The same events, for a given ``(events, streams, seed)``, can be written to a file
(:func:`write_jsonl`, :func:`write_csv`, :func:`write_parquet`) or inserted straight into an empty
store (:func:`fill_store`):

* streams ``account-1`` .. ``account-S``; events ``1..S`` open them in order (``AccountOpened``),
  later events are ``Deposited`` (45 %), ``Withdrawn`` (40 %) or ``TransferSent`` (15 %) on a
  pseudo-random stream, each with an integer ``amount``;
* versions are gapless per stream, times increase strictly with the position (one event every
  ``max(1 ms, 1 year / N)``, from 2026-01-01 UTC);
* everything pseudo-random comes from DuckDB's ``hash(position, seed, salt)``, never ``random()``,
  so the output is byte-identical for the same arguments (and the same DuckDB version);
* event ids look like UUIDs (version 4 layout) and end with the position in hex, so they are unique.

Balances are not kept non-negative: this is load, not a story (see ``sample_logs/`` for stories).

    python -m tracer.synthetic --events 1000000 --streams 10000 --seed 0 --out bank.jsonl
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from tracer.errors import TracerError

if TYPE_CHECKING:
    from tracer.store import Store

START_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z in microseconds since the epoch
YEAR_US = 365 * 86_400 * 1_000_000
FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
}


def _check(events: int, streams: int, seed: int) -> None:
    for name, value in (("events", events), ("streams", streams), ("seed", seed)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TracerError(f"synthetic: {name} must be an integer, got {value!r}")
    if streams < 1:
        raise TracerError(f"synthetic: streams must be at least 1, got {streams}")
    if events < streams:
        raise TracerError(f"synthetic: events ({events}) must be at least streams ({streams})")
    if seed < 0:
        raise TracerError(f"synthetic: seed must be >= 0, got {seed}")


def events_sql(events: int, streams: int, seed: int = 0) -> str:
    """A SELECT producing the canonical columns (time as TIMESTAMP, UTC) of the synthetic log."""
    _check(events, streams, seed)
    step = max(1000, YEAR_US // events)
    return f"""
    WITH base AS (
        SELECT range + 1 AS position,
               CASE WHEN range < {streams} THEN range
                    ELSE hash(range, {seed}, 1) % {streams} END + 1 AS n,
               CASE WHEN range < {streams} THEN 'AccountOpened'
                    WHEN hash(range, {seed}, 2) % 100 < 45 THEN 'Deposited'
                    WHEN hash(range, {seed}, 2) % 100 < 85 THEN 'Withdrawn'
                    ELSE 'TransferSent' END AS type,
               hash(range, {seed}, 3) AS h,
               hash(range, {seed}, 4) AS g
        FROM range({events})
    ), ev AS (
        SELECT position, n, type, h, g,
               printf('%08x-%04x-4%03x-%04x-%012x', h >> 32, (h >> 16) & 65535, h & 4095,
                      32768 | (g & 16383), position) AS event_id,
               1 + (g >> 20) % CASE type WHEN 'Deposited' THEN 2000 ELSE 400 END AS amount,
               ['atm', 'web', 'branch'][(1 + (h >> 8) % 3)::BIGINT] AS channel
        FROM base
    )
    SELECT position,
           event_id,
           'account-' || n AS stream,
           'account' AS category,
           row_number() OVER (PARTITION BY n ORDER BY position) AS version,
           type,
           make_timestamp(({START_US} + (position - 1) * {step})::BIGINT) AS time,
           CASE type
             WHEN 'AccountOpened' THEN json_object('owner', 'owner-' || n, 'currency', 'EUR',
                                                   'overdraft_limit', 0)
             WHEN 'Deposited' THEN json_object('amount', amount)
             WHEN 'Withdrawn' THEN json_object('amount', amount,
                  'channel', channel, 'request_id', event_id)
             ELSE json_object('to', 'account-' || (1 + (g >> 40) % {streams}),
                              'amount', amount, 'transfer_id', event_id)
           END AS data,
           json_object('correlation_id', event_id, 'causation_id', event_id,
                       'source', channel, 'user', 'user-' || n) AS meta,
           event_id AS correlation_id,
           event_id AS causation_id
    FROM ev
    """


def _envelope_sql(events: int, streams: int, seed: int) -> str:
    return f"""
    SELECT event_id AS id, stream, version, type,
           strftime(time, '%Y-%m-%dT%H:%M:%S.%gZ') AS time, data, meta
    FROM ({events_sql(events, streams, seed)}) ORDER BY position
    """


def _copy(path: str | Path, options: str, events: int, streams: int, seed: int) -> Path:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    target = str(out).replace("'", "''")
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute("SET preserve_insertion_order = true")
        con.execute(f"COPY ({_envelope_sql(events, streams, seed)}) TO '{target}' ({options})")
    finally:
        con.close()
    return out


def write_jsonl(
    path: str | Path, events: int = 1_000_000, streams: int = 10_000, seed: int = 0
) -> Path:
    """JSON Lines in the envelope of ``sample_logs/bank.jsonl``: id, stream, version, type, time,
    data, meta; one event per line, in position order."""
    return _copy(path, "FORMAT json", events, streams, seed)


def write_csv(
    path: str | Path, events: int = 1_000_000, streams: int = 10_000, seed: int = 0
) -> Path:
    """The same envelope as CSV with a header; ``data`` and ``meta`` are JSON text."""
    return _copy(path, "FORMAT csv, HEADER true", events, streams, seed)


def write_parquet(
    path: str | Path, events: int = 1_000_000, streams: int = 10_000, seed: int = 0
) -> Path:
    """The same envelope as Parquet; ``data`` and ``meta`` are JSON strings."""
    return _copy(path, "FORMAT parquet, COMPRESSION zstd", events, streams, seed)


def write(path: str | Path, events: int = 1_000_000, streams: int = 10_000, seed: int = 0) -> Path:
    """Write in the format named by the file's suffix (.jsonl/.ndjson/.json, .csv, .parquet)."""
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(FORMATS))
        raise TracerError(f"synthetic: cannot tell the format of {path} (use one of {known})")
    writer = {"jsonl": write_jsonl, "csv": write_csv, "parquet": write_parquet}[fmt]
    return writer(path, events=events, streams=streams, seed=seed)


def fill_store(store: Store, events: int, streams: int, seed: int = 0) -> int:
    """Insert the synthetic events into an empty store's ``events`` table in one statement.

    Positions are 1..N, source is ``synthetic``, source_row the position, load_id 1 (recorded in
    ``loads``). Returns the number of events inserted.
    """
    query = events_sql(events, streams, seed)
    label = f"synthetic:events={events},streams={streams},seed={seed}"
    with store.lock:
        con = store.con
        if con.execute("SELECT count(*) FROM events").fetchone()[0]:
            raise TracerError("synthetic: fill_store needs an empty store")
        progress_bar = con.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0]
        con.execute("SET enable_progress_bar = false")
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(
                f"""
                INSERT INTO events (position, event_id, stream, category, version, type, time,
                                    data, meta, correlation_id, causation_id, source, source_row,
                                    load_id)
                SELECT position, event_id, stream, category, version, type,
                       timezone('UTC', time), data, meta, correlation_id, causation_id,
                       'synthetic', position, 1
                FROM ({query}) ORDER BY position
                """
            )
            con.execute(
                """INSERT INTO loads (load_id, started, finished, source, format, rows_read,
                                      loaded, rejected, duplicates, options)
                   VALUES (1, now(), now(), ?, 'synthetic', ?, ?, 0, 0, ?)""",
                [label, events, events, f'{{"streams": {streams}, "seed": {seed}}}'],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        finally:
            con.execute(f"SET enable_progress_bar = {bool(progress_bar)}")
    return events


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tracer.synthetic", description="Write a large synthetic bank log."
    )
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--streams", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="file to write: .jsonl, .csv or .parquet")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        path = write(args.out, events=args.events, streams=args.streams, seed=args.seed)
    except TracerError as exc:
        parser.exit(2, f"error: {exc}\n")
    elapsed = time.perf_counter() - started
    size = path.stat().st_size / 1e6
    print(f"{path}: {args.events} events, {args.streams} streams, {size:.1f} MB in {elapsed:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
