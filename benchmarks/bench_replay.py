"""Replay engine benchmarks (issue 3), all measured in one run; prints a table.

    /tmp/venv/bin/python benchmarks/bench_replay.py                 # 1M and 10M events
    /tmp/venv/bin/python benchmarks/bench_replay.py --big 0         # skip the 10M parts

1. Full replay of a 1M-event synthetic bank log with a Python aggregate projection (events/s),
   and the Python ``eventsourcing`` library rebuilding every aggregate of the same events from its
   SQLite store (events/s), with the ratio. Targets: >= 0.5M events/s, >= 25x.
2. State of one stream at a random point of a 10M-event store (median over random streams and
   points), three ways: plain (no index, no checkpoint), with an ART index on ``events(stream)``,
   and from checkpoints. Target: median <= 20 ms.
3. All streams' states at a random position of the 10M store from checkpoints, beside the same
   query folding from the start. Target: <= 2 s.
4. Every core (issue 10): ``tracer states --at end --json`` as a whole process (cold start,
   output to /dev/null) on the 1M store with ``--workers 1`` and ``--workers 2``, against the
   eventsourcing rebuild of item 1 (target >= 20x) and each other (target >= 1.5x); building
   checkpoints every 100,000 events with 1 and 2 workers (``--cp-events``, default 10M; target:
   under half of 67.6 s).

Stores are cached in ``benchmarks/data/`` (git-ignored) between runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eventsourcing.domain import Aggregate, event

import tracer
from tracer import Projection, on
from tracer.replay import Replay
from tracer.synthetic import fill_store

DATA = Path(__file__).resolve().parent / "data"
#: The eventsourcing rebuild's seconds, by number of events (measured once per run).
_ES_SECONDS: dict[int, float] = {}


class Account(Projection):
    """The benchmark's aggregate: reads every event's data, like a real projection."""

    def initial(self):
        return {"owner": None, "balance": 0, "operations": 0}

    @on("AccountOpened")
    def opened(self, state, event):
        state["owner"] = event.data["owner"]

    @on("Deposited")
    def deposited(self, state, event):
        state["balance"] += event.data["amount"]
        state["operations"] += 1

    @on("Withdrawn", "TransferSent")
    def debited(self, state, event):
        state["balance"] -= event.data["amount"]
        state["operations"] += 1


class EsAccount(Aggregate):
    """The same aggregate written with the eventsourcing library."""

    @event("AccountOpened")
    def __init__(self, owner: str, currency: str, overdraft_limit: int) -> None:
        self.owner = owner
        self.balance = 0
        self.operations = 0

    @event("Deposited")
    def deposited(self, amount: int) -> None:
        self.balance += amount
        self.operations += 1

    @event("Withdrawn")
    def withdrawn(self, amount: int, channel: str, request_id: str) -> None:
        self.balance -= amount
        self.operations += 1

    @event("TransferSent")
    def transfer_sent(self, to: str, amount: int, transfer_id: str) -> None:
        self.balance -= amount
        self.operations += 1


TOPIC = f"{__name__}:EsAccount"


# -- stores -------------------------------------------------------------------------------------
def synthetic_store(events: int, streams: int) -> tracer.Store:
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"replay_{events}_{streams}.duckdb"
    store = tracer.open(path)
    if store.count() != events:
        store.close()
        path.unlink(missing_ok=True)
        # (one INSERT of 10M rows builds the store's indexes in memory: more than the default cap)
        store = tracer.open(path, memory_limit="8GiB")
        started = time.perf_counter()
        fill_store(store, events, streams, 0)
        store.con.execute("CHECKPOINT")
        print(f"  (generated {events:,} events in {time.perf_counter() - started:.1f} s)")
    return store


def _row(table: list[tuple[str, str, str]], row: tuple[str, str, str]) -> None:
    """Record a result and show it at once (the whole run takes minutes)."""
    table.append(row)
    print(f"  {row[0]}: {row[1]}", flush=True)


def timed(func: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = func()
    return time.perf_counter() - started, result


# -- the eventsourcing library ------------------------------------------------------------------
def eventsourcing_rebuild(store: tracer.Store, workdir: Path) -> tuple[int, float]:
    """Write the store's events in eventsourcing's SQLite layout, then rebuild every aggregate
    with the library's repository. Returns (events, seconds spent rebuilding)."""
    path = workdir / "eventsourcing.sqlite"
    path.unlink(missing_ok=True)
    os.environ.update(PERSISTENCE_MODULE="eventsourcing.sqlite", SQLITE_DBNAME=str(path))
    from eventsourcing.application import Application

    rows = store.con.execute(
        f"""SELECT md5(stream), version, '{TOPIC}.' || type,
                   '{{"timestamp":{{"_type_":"datetime_iso","_data_":"'
                   || strftime(time, '%Y-%m-%dT%H:%M:%S.%f') || '+00:00"}},'
                   || CASE WHEN type = 'AccountOpened'
                           THEN '"originator_topic":"{TOPIC}",' ELSE '' END
                   || substr(data::VARCHAR, 2)
            FROM events ORDER BY position"""
    ).fetchall()
    con = sqlite3.connect(path)
    con.execute(
        "CREATE TABLE stored_events (originator_id TEXT, originator_version INTEGER, "
        "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))"
    )
    con.executemany(
        "INSERT INTO stored_events VALUES (?, ?, ?, ?)",
        ((a, v, t, s.encode()) for a, v, t, s in rows),
    )
    con.commit()
    ids = [r[0] for r in con.execute("SELECT DISTINCT originator_id FROM stored_events")]
    con.close()
    app = Application()
    started = time.perf_counter()
    for hex_id in ids:
        app.repository.get(uuid.UUID(hex_id))
    return len(rows), time.perf_counter() - started


# -- the measurements ---------------------------------------------------------------------------
def full_replay(events: int, streams: int, table: list[tuple[str, str, str]]) -> None:
    store = synthetic_store(events, streams)
    replay = Replay(store, Account, checkpoints=False)
    replay.states(at=1000)  # warm up: imports, first queries
    seconds, frame = timed(lambda: replay.states())
    assert len(frame) == streams
    ours = events / seconds
    _row(
        table,
        (
            f"full replay of {events:,} events, Python aggregate (states())",
            f"{seconds:.2f} s = {ours / 1e6:.2f}M events/s",
            "≥ 0.5M events/s",
        ),
    )
    count, es_seconds = eventsourcing_rebuild(store, DATA)
    theirs = count / es_seconds
    _row(
        table,
        (
            f"eventsourcing {_es_version()} rebuilding the same {count:,} events (SQLite)",
            f"{es_seconds:.2f} s = {theirs / 1e3:.0f}k events/s",
            "",
        ),
    )
    _row(table, ("ratio tracer / eventsourcing", f"{ours / theirs:.1f}x", "≥ 25x"))
    _ES_SECONDS[events] = es_seconds
    floor = minimal_fold(store, events)
    _row(
        table,
        (
            "  reference: hand-written minimal fold, same batches (no projection API)",
            f"{events / floor / 1e6:.2f}M events/s = {events / floor / theirs:.1f}x eventsourcing",
            "",
        ),
    )
    store.close()


def minimal_fold(store: tracer.Store, events: int) -> float:
    """The least a Python fold of these events costs: the same Arrow batches, three columns to
    Python, one ``orjson.loads`` per event, the arithmetic inline; no Event, no handler call."""
    import orjson

    def fold() -> None:
        states: dict[str, dict[str, Any]] = {}
        query = "SELECT stream, type, data FROM events ORDER BY position"
        for batch in store.cursor().sql(query).to_arrow_reader(65_536):
            streams, types, raws = (batch.column(i).to_pylist() for i in range(3))
            for stream, event_type, raw in zip(streams, types, raws, strict=True):
                data = orjson.loads(raw)
                state = states.get(stream)
                if state is None:
                    state = states[stream] = {"owner": None, "balance": 0, "operations": 0}
                if event_type == "AccountOpened":
                    state["owner"] = data["owner"]
                    continue
                state["balance"] += data["amount"] if event_type == "Deposited" else -data["amount"]
                state["operations"] += 1

    return timed(fold)[0]


def one_stream(store: tracer.Store, streams: int, samples: int, label: str, table, **kw) -> None:
    rng = random.Random(7)
    last = store.max_position()
    replay = Replay(store, Account, **kw)
    replay.state("account-1", at=last // 2)  # warm up
    times = []
    for _ in range(samples):
        stream = f"account-{rng.randint(1, streams)}"
        position = rng.randint(1, last)
        seconds, _ = timed(lambda s=stream, p=position: replay.state(s, at=p))
        times.append(seconds)
    _row(
        table,
        (
            f"state of one stream at a random point, {last:,} events, {label}",
            f"median {statistics.median(times) * 1e3:.1f} ms (p90 "
            f"{sorted(times)[int(len(times) * 0.9)] * 1e3:.1f} ms, n={samples})",
            "median ≤ 20 ms",
        ),
    )


def big_store(events: int, streams: int, samples: int, table: list[tuple[str, str, str]]) -> None:
    store = synthetic_store(events, streams)
    store.con.execute("DROP INDEX IF EXISTS events_stream")
    path = store.path
    store.close()
    # A read-only store gets no index: what a one-stream read costs as a scan of the whole log.
    readonly = tracer.open(path, read_only=True)
    one_stream(readonly, streams, samples, "no index, no checkpoint", table, checkpoints=False)
    readonly.close()

    store = tracer.open(path)
    seconds, _ = timed(store.ensure_stream_index)
    _row(
        table,
        (
            "index on events(stream), made by the first one-stream read (once)",
            f"{seconds:.1f} s",
            "",
        ),
    )

    saved = Replay(store, Account)
    saved.drop_checkpoints()  # time a build from scratch
    seconds, last = timed(saved.build_checkpoints)
    rows = store.con.execute(
        "SELECT count(*) FROM replay_checkpoint_states WHERE fingerprint = ?",
        [saved.checkpoints.key],
    ).fetchall()[0][0]
    _row(
        table,
        (
            f"building checkpoints every {saved.checkpoints.every:,} events (once)",
            f"{seconds:.1f} s, up to {last:,}, {rows:,} state rows",
            "",
        ),
    )
    one_stream(store, streams, samples, "from checkpoints", table)

    rng = random.Random(11)
    points = [rng.randint(1, events) for _ in range(5)]
    with_cp = [timed(lambda p=p: saved.states(at=p))[0] for p in points]
    _row(
        table,
        (
            f"all {streams:,} streams' states at a random position, from checkpoints",
            f"median {statistics.median(with_cp):.2f} s (max {max(with_cp):.2f} s, n=5)",
            "≤ 2 s",
        ),
    )
    plain = Replay(store, Account, checkpoints=False)
    without = [timed(lambda p=p: plain.states(at=p))[0] for p in points[:2]]
    _row(
        table,
        (
            "  the same, folding from the start",
            f"median {statistics.median(without):.2f} s (n=2)",
            "",
        ),
    )
    one_stream(store, streams, samples, "index, no checkpoint", table, checkpoints=False)
    store.con.execute("DROP INDEX IF EXISTS events_stream")
    store.close()


# -- every core (issue 10) -----------------------------------------------------------------------
def projection_file() -> str:
    """The benchmark's projection as ``FILE.py:Account``: what the CLI and the workers load."""
    import inspect

    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / "bench_account.py"
    path.write_text("from tracer import Projection, on\n\n\n" + inspect.getsource(Account))
    return f"{path}:Account"


def cli_seconds(path: str, spec: str, workers: int) -> float:
    """One cold ``tracer states`` (its checkpoints dropped first: it folds the whole log)."""
    tracer_command = str(Path(sys.executable).parent / "tracer")
    drop = [tracer_command, "checkpoints", "--drop", "--db", path, "-p", spec]
    subprocess.run(drop, check=True, stdout=subprocess.DEVNULL)
    command = [tracer_command, "states", "--at", "end", "--json"]
    command += ["--db", path, "-p", spec, "--workers", str(workers)]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def every_core(events: int, streams: int, es_seconds: float, table: list) -> None:
    """Whole-process ``tracer states`` with 1 and 2 workers, against eventsourcing."""
    store = synthetic_store(events, streams)
    path = str(store.path)
    store.close()
    spec = projection_file()
    cli_seconds(path, spec, 1)  # warm the page cache
    best = {w: min(cli_seconds(path, spec, w) for _ in range(3)) for w in (1, 2)}
    for workers, seconds in best.items():
        _row(
            table,
            (
                f"tracer states --at end --json, whole process, {events:,} events, "
                f"--workers {workers} (best of 3)",
                f"{seconds:.2f} s = {es_seconds / seconds:.1f}x eventsourcing",
                "≥ 20x",
            ),
        )
    _row(table, ("--workers 2 against --workers 1", f"{best[1] / best[2]:.2f}x", "≥ 1.5x"))


def checkpoint_build(events: int, streams: int, table: list) -> None:
    """Building checkpoints every 100,000 events from scratch, on 1 and 2 workers."""
    store = synthetic_store(events, streams)
    spec = projection_file()
    seconds = {}
    for workers in (1, 2):
        replay = Replay(store, spec, workers=workers)
        replay.drop_checkpoints()
        seconds[workers], last = timed(replay.build_checkpoints)
        _row(
            table,
            (
                f"building checkpoints every 100,000 events, {events:,} events, "
                f"--workers {workers}",
                f"{seconds[workers]:.1f} s, up to {last:,}",
                "< 33.8 s (half of 67.6 s) on 10M",
            ),
        )
    _row(table, ("  checkpoints, 2 workers against 1", f"{seconds[1] / seconds[2]:.2f}x", ""))
    store.close()


def _es_version() -> str:
    from importlib.metadata import version

    return version("eventsourcing")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--streams", type=int, default=10_000)
    parser.add_argument("--big", type=int, default=10_000_000, help="0 skips the 10M parts")
    parser.add_argument("--big-streams", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--cp-events", type=int, default=10_000_000, help="0 skips it")
    args = parser.parse_args()
    table: list[tuple[str, str, str]] = []
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    full_replay(args.events, args.streams, table)
    every_core(args.events, args.streams, _ES_SECONDS[args.events], table)
    if args.cp_events:
        checkpoint_build(args.cp_events, args.big_streams, table)
    if args.big:
        big_store(args.big, args.big_streams, args.samples, table)
    width = max(len(r[0]) for r in table)
    value_width = max(len(r[1]) for r in table)
    print(f"\n{'measure':<{width}}  {'result':<{value_width}}  target")
    print("-" * (width + value_width + 20))
    for name, value, target in table:
        print(f"{name:<{width}}  {value:<{value_width}}  {target}")
    print(f"load at the end: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")


if __name__ == "__main__":
    main()
