"""Checkpoints: states saved in the store every K events, so random access folds little.

A checkpoint at position C of a projection is keyed by the projection's fingerprint (its code and
parameters) and K. It stores, for every bucket (stream or key) with an event in the K events
before C, the state and last event at C; a bucket's state at C is therefore its most recent row
at or before C. Every tenth checkpoint is full (every bucket), so reading all states at C scans
only the rows since the last full one. Checkpoints are written in order, so they form an
unbroken chain K, 2K, ... .

Each checkpoint records a signature of the events it covers: the id and load of the event at C
and the loads up to that one. If events are reloaded or rewritten, the signature no longer
matches, and the projection's checkpoints are dropped and rebuilt, never served stale. Appending
events leaves earlier checkpoints valid.

States are stored as JSON: a projection whose states hold anything else (datetimes, sets,
objects) simply gets no checkpoints.
"""

from __future__ import annotations

import hashlib
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from tracer.jsonvalues import decode_json, encode_text
from tracer.replay.fold import INITIAL
from tracer.replay.source import EventSource, single_row, sql_literal

DEFAULT_EVERY = 100_000
#: Every this many checkpoints, one saves every bucket: reading all states then scans only the
#: rows since that full one.
FULL_EVERY = 10

DDL = """
CREATE TABLE IF NOT EXISTS replay_checkpoints (
    fingerprint VARCHAR NOT NULL,   -- projection code digest and K
    position    BIGINT NOT NULL,    -- states after the event at this position
    projection  VARCHAR,
    every       BIGINT,
    signature   VARCHAR,            -- of the events covered
    buckets     BIGINT,             -- rows written at this checkpoint
    is_full     BOOLEAN,            -- every bucket saved (not only those that changed)
    created     TIMESTAMPTZ DEFAULT current_timestamp
);
CREATE TABLE IF NOT EXISTS replay_checkpoint_states (
    fingerprint   VARCHAR NOT NULL,
    position      BIGINT NOT NULL,
    bucket        VARCHAR,          -- stream, read-model key, or NULL for a single state
    state         VARCHAR,          -- JSON
    last_position BIGINT,
    last_version  BIGINT,
    last_time     BIGINT            -- microseconds since the epoch
);
CREATE INDEX IF NOT EXISTS replay_checkpoint_states_bucket ON replay_checkpoint_states(bucket);
"""

_JSON_ONLY = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)

Book = dict[Any, tuple[int, int | None, int | None]]


def encode_state(state: Any) -> str:
    """A state as checkpoints store it (``TypeError`` when it is not JSON)."""
    return encode_text(state, option=_JSON_ONLY, exact=True)


class Checkpoints:
    """The checkpoints of one projection (fingerprint) in one store."""

    def __init__(
        self, source: EventSource, fingerprint: str, name: str, every: int, enabled: bool
    ) -> None:
        self.source = source
        self.every = max(1, int(every))
        self.key = f"{fingerprint}:{self.every}"
        self.name = name
        self.enabled = enabled
        self.writable = enabled
        self.reason: str | None = None
        self._ready = False

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        return self.source.con

    def _tables(self) -> bool:
        if self._ready:
            return True
        try:
            self.con.execute(DDL)
        except duckdb.Error as exc:
            if "read-only" not in str(exc):
                raise
            # A read-only store: use what is there, write nothing.
            self.writable = False
            found = self.con.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'replay_checkpoints'"
            ).fetchall()[0][0]
            if not found:
                return False
        self._ready = True
        return True

    # -- reading ----------------------------------------------------------------------------
    def latest(self, position: int) -> int:
        """The last valid checkpoint at or before ``position`` (0: none)."""
        if not self.enabled or position < self.every or not self._tables():
            return 0
        row = single_row(
            self.con.execute(
                "SELECT max(position) FROM replay_checkpoints WHERE fingerprint = ? AND position <= ?",
                [self.key, position],
            ).fetchall()
        )
        found = row[0] or 0
        if found and not self._valid(found):
            self.drop()
            return 0
        return found

    def last(self) -> int:
        if not self.enabled or not self._tables():
            return 0
        row = single_row(
            self.con.execute(
                "SELECT max(position) FROM replay_checkpoints WHERE fingerprint = ?", [self.key]
            ).fetchall()
        )
        return row[0] or 0

    def load_all(self, position: int) -> tuple[dict[Any, Any], Book]:
        """Every bucket's state and last event at checkpoint ``position``."""
        full = single_row(
            self.con.execute(
                "SELECT max(position) FROM replay_checkpoints "
                "WHERE fingerprint = ? AND position <= ? AND is_full",
                [self.key, position],
            ).fetchall()
        )
        since = (full[0] if full else None) or 0
        table = self.con.sql(
            """SELECT bucket, arg_max(state, position), arg_max(last_position, position),
                      arg_max(last_version, position), arg_max(last_time, position)
               FROM replay_checkpoint_states
               WHERE fingerprint = ? AND position >= ? AND position <= ?
               GROUP BY bucket""",
            params=[self.key, since, position],
        ).to_arrow_table()
        buckets, states, positions, versions, times = (c.to_pylist() for c in table.columns)
        loads = decode_json
        result = {b: loads(s) for b, s in zip(buckets, states, strict=True) if s is not None}
        book = {
            b: (p, v, t) for b, p, v, t in zip(buckets, positions, versions, times, strict=True)
        }
        return result, book

    def load_one(self, bucket: Any, position: int) -> tuple[Any, tuple[int, Any, Any]] | None:
        """One bucket's state (``INITIAL``: no event folded yet) and last event at checkpoint
        ``position``; ``None`` when it had no event yet."""
        # A lone equality on a literal lets DuckDB answer from the bucket index; the state is
        # then read for the one row that matters.
        where = "bucket IS NULL" if bucket is None else f"bucket = {sql_literal(bucket)}"
        rows = self.con.execute(
            f"SELECT rowid, fingerprint, position FROM replay_checkpoint_states WHERE {where}"
        ).fetchall()
        best = None
        for rowid, fingerprint, at in rows:
            if fingerprint == self.key and at <= position and (best is None or at > best[1]):
                best = (rowid, at)
        if best is None:
            return None
        state, last_position, last_version, last_time = self.con.execute(
            "SELECT state, last_position, last_version, last_time "
            "FROM replay_checkpoint_states WHERE rowid = ?",
            [best[0]],
        ).fetchall()[0]
        loaded = INITIAL if state is None else decode_json(state)
        return loaded, (last_position, last_version, last_time)

    # -- writing ----------------------------------------------------------------------------
    def is_full(self, position: int) -> bool:
        """Whether the checkpoint at ``position`` saves every bucket."""
        return (position // self.every) % FULL_EVERY == 0

    def disable(self, reason: str) -> None:
        """Save no more checkpoints (states that are not JSON, a store that refuses writes)."""
        self.writable = False
        self.reason = reason

    def save(self, position: int, states: dict[Any, Any], buckets: set[Any], book: Book) -> None:
        """Record the states of ``buckets`` (those with events since the last checkpoint), or of
        every bucket at a full checkpoint."""
        if not self.writable:
            return
        if self.is_full(position):
            buckets = set(book) | set(states)
        try:
            blobs = {b: encode_state(states[b]) if b in states else None for b in buckets}
        except TypeError as exc:
            self.disable(f"states are not JSON ({exc}): no checkpoints")
            return
        self.save_encoded(position, blobs, book)

    def save_encoded(self, position: int, blobs: dict[Any, str | None], book: Book) -> None:
        """Record states already encoded (``None``: the bucket's initial state)."""
        if not self.writable or not self._tables():
            return
        names = list(blobs)
        books = [book.get(b, (None, None, None)) for b in names]
        rows = pa.table(
            {
                "fingerprint": pa.array([self.key] * len(names), pa.string()),
                "position": pa.array([position] * len(names), pa.int64()),
                "bucket": pa.array(names, pa.string()),
                "state": pa.array([blobs[b] for b in names], pa.string()),
                "last_position": pa.array([b[0] for b in books], pa.int64()),
                "last_version": pa.array([b[1] for b in books], pa.int64()),
                "last_time": pa.array([b[2] for b in books], pa.int64()),
            }
        )
        con = self.con
        try:
            con.execute("BEGIN TRANSACTION")
            con.register("_tracer_checkpoint_rows", rows)
            con.execute(
                "INSERT INTO replay_checkpoint_states SELECT * FROM _tracer_checkpoint_rows"
            )
            con.unregister("_tracer_checkpoint_rows")
            con.execute(
                "INSERT INTO replay_checkpoints (fingerprint, position, projection, every, "
                "signature, buckets, is_full) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    self.key,
                    position,
                    self.name,
                    self.every,
                    self._signature(position),
                    len(names),
                    self.is_full(position),
                ],
            )
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            self.writable = False
            self.reason = f"cannot save checkpoints: {str(exc).splitlines()[0]}"

    def drop(self) -> None:
        """Forget this projection's checkpoints."""
        if not self._tables() or not self.writable:
            self.enabled = False
            return
        self.con.execute("DELETE FROM replay_checkpoint_states WHERE fingerprint = ?", [self.key])
        self.con.execute("DELETE FROM replay_checkpoints WHERE fingerprint = ?", [self.key])

    # -- validity ---------------------------------------------------------------------------
    def _signature(self, position: int) -> str:
        row = single_row(
            self.con.execute(
                "SELECT event_id, load_id FROM events WHERE position = ?", [position]
            ).fetchall()
        )
        if row is None:
            return ""
        event_id, load_id = row
        loads = self.con.execute(
            "SELECT string_agg(load_id || '@' || coalesce(started::VARCHAR, ''), ',' "
            "ORDER BY load_id) FROM loads WHERE load_id <= ?",
            [load_id if load_id is not None else -1],
        ).fetchall()[0][0]
        text = f"{position}|{event_id}|{load_id}|{loads or ''}"
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def _valid(self, position: int) -> bool:
        row = single_row(
            self.con.execute(
                "SELECT signature FROM replay_checkpoints WHERE fingerprint = ? AND position = ?",
                [self.key, position],
            ).fetchall()
        )
        return row is not None and row[0] == self._signature(position)
