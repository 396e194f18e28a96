"""Live-source benchmark: loading the same events from JetStream and PostgreSQL beside a file.

One generated log (1M events by default, ``tracer.synthetic.write_jsonl``) is loaded three ways,
each into a fresh on-disk store in its own process:

- ``file``: the JSON Lines file itself;
- ``nats``: the same lines published as JSON messages to a JetStream stream (subject
  ``events.<category>.<id>``, ``Nats-Msg-Id`` header), read back by ``tracer load nats://``;
- ``postgres``: the same events in a Marten-layout ``mt_events`` table, read by
  ``tracer load postgresql://``.

Publishing and inserting are set-up, not timed. The figures: seconds, events/s, the ratio to the
file load measured in the same run, and peak memory (max RSS) of each loading process; then the
source's own share: reading and staging alone, without the loader's mapping and insertion. The
servers come from ``TRACER_TEST_NATS_URL``/``TRACER_TEST_PG_DSN`` or are started with
``scripts/services.sh`` (and stopped afterwards).

    python benchmarks/bench_sources.py [--events 1000000] [--streams 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"

CHILD = r"""
import json, resource, sys, time
import tracer
from tracer.sources import stage_source
kind, spec, db, extra = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
store = tracer.open(db)
read_only = extra.pop("read_only", False)
t = time.perf_counter()
if read_only:  # the source's own work: reading and staging, no mapping or insertion
    staged = stage_source(store.con, spec, None, extra)
    rows = sum(s.rows_read for s in staged)
else:
    report = store.load(spec, **extra)
    assert report.balanced and report.rejected == 0, report.to_dict()
    rows = report.loaded
seconds = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "rows": rows, "peak": peak}))
"""


def load(kind: str, spec: str, **options: object) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "bench.duckdb")
        out = subprocess.run(
            [sys.executable, "-c", CHILD, kind, spec, db, json.dumps(options)],
            check=True,
            capture_output=True,
            text=True,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def servers() -> tuple[str, str, bool]:
    nats_url = os.environ.get("TRACER_TEST_NATS_URL")
    pg_dsn = os.environ.get("TRACER_TEST_PG_DSN")
    if nats_url and pg_dsn:
        return nats_url, pg_dsn, False
    script = str(ROOT / "scripts" / "services.sh")
    running = subprocess.run(["bash", script, "env"], capture_output=True, text=True, check=False)
    started = running.returncode != 0
    out = (
        subprocess.run(["bash", script, "start"], check=True, capture_output=True, text=True).stdout
        if started
        else running.stdout
    )
    found = dict(
        line[len("export ") :].split("=", 1)
        for line in out.splitlines()
        if line.startswith("export ")
    )
    return found["TRACER_TEST_NATS_URL"], found["TRACER_TEST_PG_DSN"], started


# -- set-up ------------------------------------------------------------------------------------
def publish(url: str, stream: str, path: Path, events: int) -> float:
    """Publish every line of ``path`` to a fresh stream; returns the seconds it took."""
    import nats
    import orjson

    async def main() -> None:
        nc = await nats.connect(url)
        js = nc.jetstream(publish_async_max_pending=20_000)
        with contextlib.suppress(Exception):  # no such stream yet
            await js.delete_stream(stream)
        await js.add_stream(name=stream, subjects=[f"{stream.lower()}.>"])
        with path.open("rb") as lines:
            for line in lines:
                event = orjson.loads(line)
                category, _, key = event["stream"].partition("-")
                await js.publish_async(
                    f"{stream.lower()}.{category}.{key or '0'}",
                    line.rstrip(b"\n"),
                    headers={"Nats-Msg-Id": event["id"]},
                )
        await js.publish_async_completed()
        info = await js.stream_info(stream)
        assert info.state.messages == events, info.state
        await nc.close()

    started = time.perf_counter()
    asyncio.run(main())
    return time.perf_counter() - started


def fill_postgres(dsn: str, path: Path, events: int) -> tuple[str, float]:
    """A database ``tracer_bench`` with ``mt_events`` holding the file's events."""
    import duckdb
    import psycopg

    base, _, _ = dsn.rpartition("/")
    bench = f"{base}/tracer_bench"
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS tracer_bench WITH (FORCE)")
        admin.execute("CREATE DATABASE tracer_bench")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "events.csv"
        duckdb.sql(
            f"""COPY (SELECT row_number() OVER () AS seq_id, j ->> 'id', j ->> 'stream',
                             j ->> 'version', j -> 'data', j ->> 'type', j ->> 'time', j -> 'meta'
                      FROM (SELECT json AS j FROM read_ndjson_objects('{path}')))
                TO '{csv}' (FORMAT csv, HEADER false)"""
        )
        with psycopg.connect(bench, autocommit=True) as pg:
            pg.execute(
                """CREATE TABLE mt_events (seq_id bigint PRIMARY KEY, id uuid, stream_id varchar,
                       version bigint, data jsonb, type varchar, timestamp timestamptz,
                       headers jsonb)"""
            )
            with (
                pg.cursor() as cur,
                cur.copy("COPY mt_events FROM STDIN WITH (FORMAT csv)") as copy,
                csv.open("rb") as source,
            ):
                while chunk := source.read(1 << 20):
                    copy.write(chunk)
            count = pg.execute("SELECT count(*) FROM mt_events").fetchone()[0]
            assert count == events, count
            pg.execute("VACUUM ANALYZE mt_events")
    return bench, time.perf_counter() - started


def clean_up(nats_url: str, stream: str, pg_dsn: str) -> None:
    """Drop the benchmark's stream and database: they hold a copy of every event."""
    import nats
    import psycopg

    async def drop_stream() -> None:
        nc = await nats.connect(nats_url)
        with contextlib.suppress(Exception):
            await nc.jetstream().delete_stream(stream)
        await nc.close()

    asyncio.run(drop_stream())
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS tracer_bench WITH (FORCE)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--streams", type=int, default=10_000)
    args = parser.parse_args()

    from tracer.synthetic import write_jsonl

    DATA.mkdir(exist_ok=True)
    path = DATA / f"sources-{args.events}.jsonl"
    if not path.exists():
        write_jsonl(path, events=args.events, streams=args.streams)
    nats_url, pg_dsn, started = servers()
    stream = f"BENCH{args.events}"
    try:
        setup = {"nats publish": publish(nats_url, stream, path, args.events)}
        bench_dsn, setup["postgres insert"] = fill_postgres(pg_dsn, path, args.events)
        results = {
            "file": load("file", str(path)),
            "nats": load("nats", nats_url, stream=stream),
            "postgres": load("postgres", bench_dsn, table="mt_events"),
        }
        reading = {
            "nats": load("nats", nats_url, stream=stream, read_only=True),
            "postgres": load("postgres", bench_dsn, table="mt_events", read_only=True),
        }
    finally:
        clean_up(nats_url, stream, pg_dsn)
        if started:
            subprocess.run(["bash", str(ROOT / "scripts" / "services.sh"), "stop"], check=False)

    base = results["file"]["seconds"]
    print(f"{args.events:,} events, {os.cpu_count()} cores")
    print(f"{'source':<10}{'seconds':>10}{'events/s':>12}{'vs file':>10}{'peak MB':>10}")
    for name, r in results.items():
        print(
            f"{name:<10}{r['seconds']:>10.2f}{r['rows'] / r['seconds']:>12,.0f}"
            f"{base / r['seconds']:>10.2f}{r['peak'] / 2**20:>10.0f}"
        )
    for name, r in reading.items():
        print(
            f"{name} read and staged alone: {r['seconds']:.2f}s, {r['rows'] / r['seconds']:,.0f}/s"
        )
    print("set-up (not timed above): " + ", ".join(f"{k} {v:.1f}s" for k, v in setup.items()))
    summary = {
        "events": args.events,
        **{f"{k}_events_per_s": round(r["rows"] / r["seconds"]) for k, r in results.items()},
        **{f"{k}_vs_file": round(base / r["seconds"], 3) for k, r in results.items()},
        **{f"{k}_read_per_s": round(r["rows"] / r["seconds"]) for k, r in reading.items()},
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
