"""Memory benchmark: peak RSS of ``tracer load`` as the log grows, for every source.

The same generated events (``tracer.synthetic``) at two sizes (0.4M and 1.6M by default) are
written as JSON Lines, a JSON array, CSV, Parquet and SQLite, inserted into a Marten-layout
``mt_events`` table in PostgreSQL and published to a JetStream stream; each is then loaded by a
whole ``tracer load`` process into a fresh on-disk store. The figures: seconds, events/s and the
peak resident memory of the loading process (max RSS, from ``wait4``), and for each source the
ratio of the peaks (target: at most 1.35, and under 1.5 GiB). Set-up is not timed.

The servers come from ``TRACER_TEST_PG_DSN``/``TRACER_TEST_NATS_URL`` (``eval "$(bash
scripts/services.sh start)"``); without them those two sources are skipped.

    python benchmarks/bench_memory.py [--sizes 400000 1600000] [--sources jsonl csv ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
sys.path.insert(0, str(HERE))

from bench_sources import fill_postgres, publish  # noqa: E402

SOURCES = ("jsonl", "json", "csv", "parquet", "sqlite", "postgres", "nats")
STREAMS = 10_000


def jsonl_file(events: int) -> Path:
    from tracer.synthetic import write_jsonl

    path = DATA / f"memory-{events}.jsonl"
    if not path.exists():
        write_jsonl(path, events=events, streams=STREAMS)
    return path


def prepare(source: str, events: int, servers: dict[str, str]) -> tuple[str, list[str]]:
    """The spec and extra options of ``tracer load`` for ``events`` events from ``source``."""
    import duckdb

    from tracer.synthetic import write_csv, write_parquet

    DATA.mkdir(exist_ok=True)
    lines = jsonl_file(events)
    if source == "jsonl":
        return str(lines), []
    path = DATA / f"memory-{events}.{ {'sqlite': 'db'}.get(source, source) }"
    if source == "json" and not path.exists():
        duckdb.sql(
            f"COPY (SELECT * FROM read_json('{lines}', format='newline_delimited', "
            f"columns={{id: 'VARCHAR', stream: 'VARCHAR', version: 'BIGINT', type: 'VARCHAR', "
            f"time: 'VARCHAR', data: 'JSON', meta: 'JSON'}})) TO '{path}' (FORMAT json, ARRAY true)"
        )
    elif source == "csv" and not path.exists():
        write_csv(path, events=events, streams=STREAMS)
    elif source == "parquet" and not path.exists():
        write_parquet(path, events=events, streams=STREAMS)
    elif source == "sqlite" and not path.exists():
        _write_sqlite(path, lines)
    elif source == "postgres":
        dsn, _ = fill_postgres(servers["pg"], lines, events)
        return dsn, ["--table", "mt_events"]
    elif source == "nats":
        stream = f"MEM{events}"
        publish(servers["nats"], stream, lines, events)
        return servers["nats"], ["--stream", stream]
    return str(path), []


def _write_sqlite(path: Path, lines: Path) -> None:
    import orjson

    tmp = path.with_suffix(".part")
    tmp.unlink(missing_ok=True)
    db = sqlite3.connect(tmp)
    db.execute(
        "CREATE TABLE events (id TEXT, stream TEXT, version INTEGER, type TEXT, time TEXT, "
        "data TEXT, meta TEXT)"
    )
    with lines.open("rb") as handle:
        batch = []
        for line in handle:
            e = orjson.loads(line)
            batch.append(
                (
                    e["id"],
                    e["stream"],
                    e["version"],
                    e["type"],
                    e["time"],
                    orjson.dumps(e["data"]).decode(),
                    orjson.dumps(e.get("meta")).decode(),
                )
            )
            if len(batch) == 50_000:
                db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)", batch)
                batch = []
        db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)", batch)
    db.commit()
    db.close()
    tmp.rename(path)


def measure(spec: str, extra: list[str], memory_limit: str | None) -> dict[str, float]:
    """Run the load in a fresh interpreter that reports its child's own peak (``wait4``)."""
    code = (
        "import json, os, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)\n"
        "_, status, usage = os.wait4(p.pid, 0)\n"
        "s = time.perf_counter() - t\n"
        "out, err = p.stdout.read(), p.stderr.read()\n"
        "print(json.dumps({'status': status, 'seconds': s, 'peak': usage.ru_maxrss * 1024, "
        "'out': out.decode(), 'err': err.decode()}))\n"
    )
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "bench.duckdb")
        command = [sys.executable, "-m", "tracer.cli", "load", spec, "--db", db, "--json", *extra]
        if memory_limit:
            command += ["--memory-limit", memory_limit]
        done = subprocess.run(
            [sys.executable, "-c", code, *command], capture_output=True, text=True, check=True
        )
    result = json.loads(done.stdout)
    if result["status"]:
        raise SystemExit(f"tracer load {spec} failed: {result['err'].strip()}")
    report = json.loads(result["out"])
    assert report["rows_read"] == report["loaded"], report
    return {"seconds": result["seconds"], "rows": report["loaded"], "peak": result["peak"]}


def clean_up(servers: dict[str, str], sizes: list[int]) -> None:
    import asyncio
    import contextlib

    import nats
    import psycopg

    if "nats" in servers:

        async def drop() -> None:
            nc = await nats.connect(servers["nats"])
            for events in sizes:
                with contextlib.suppress(Exception):
                    await nc.jetstream().delete_stream(f"MEM{events}")
            await nc.close()

        asyncio.run(drop())
    if "pg" in servers:
        with psycopg.connect(servers["pg"], autocommit=True) as admin:
            admin.execute("DROP DATABASE IF EXISTS tracer_bench WITH (FORCE)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[400_000, 1_600_000])
    parser.add_argument("--sources", nargs="+", default=list(SOURCES), choices=SOURCES)
    parser.add_argument("--memory-limit", default=None, help="passed to tracer load")
    args = parser.parse_args()

    servers = {}
    if os.environ.get("TRACER_TEST_PG_DSN"):
        servers["pg"] = os.environ["TRACER_TEST_PG_DSN"]
    if os.environ.get("TRACER_TEST_NATS_URL"):
        servers["nats"] = os.environ["TRACER_TEST_NATS_URL"]
    wanted = [
        s for s in args.sources if {"postgres": "pg", "nats": "nats"}.get(s, "") in {"", *servers}
    ]
    skipped = sorted(set(args.sources) - set(wanted))
    results: dict[str, dict[int, dict[str, float]]] = {}
    try:
        for source in wanted:
            for events in args.sizes:
                spec, extra = prepare(source, events, servers)
                results.setdefault(source, {})[events] = measure(spec, extra, args.memory_limit)
                r = results[source][events]
                print(
                    f"  {source} {events:,}: {r['seconds']:.1f}s, {r['peak'] / 2**20:.0f} MiB",
                    flush=True,
                )
    finally:
        clean_up(servers, args.sizes)

    small, large = min(args.sizes), max(args.sizes)
    load = os.getloadavg()
    print(f"\n{os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    head = "".join(f"{f'{n / 1e6:g}M s':>9}{f'{n / 1e6:g}M MiB':>11}" for n in args.sizes)
    print(f"{'source':<10}{head}{'ratio':>8}  target <= 1.35 and < 1536 MiB")
    summary = {}
    for source, sizes in results.items():
        cells = "".join(
            f"{sizes[n]['seconds']:>9.1f}{sizes[n]['peak'] / 2**20:>11.0f}" for n in args.sizes
        )
        ratio = sizes[large]["peak"] / sizes[small]["peak"]
        ok = ratio <= 1.35 and sizes[large]["peak"] < 1.5 * 2**30
        print(f"{source:<10}{cells}{ratio:>8.2f}  {'ok' if ok else 'OVER'}")
        summary[source] = {
            "ratio": round(ratio, 3),
            **{f"peak_mib_{n}": round(sizes[n]["peak"] / 2**20) for n in args.sizes},
            **{f"seconds_{n}": round(sizes[n]["seconds"], 2) for n in args.sizes},
        }
    if skipped:
        print(f"skipped (no server): {', '.join(skipped)}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
