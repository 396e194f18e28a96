"""Loading benchmark: tracer's JSON Lines loader against DuckDB's own ``read_json``.

Both load the same generated file (1M events by default) into a fresh database, in separate
processes, alternating, several rounds; the figure that counts is the ratio of the medians
(``read_json`` time / tracer time: 1.0 means tracer is as fast as a bare ``read_json`` into a
plain table, which does no mapping, validation or de-duplication). Peak memory (max RSS) of
each process is reported beside it, and the CPU time of each (user + system, all threads): on
a machine shared with other work the ratio of CPU times moves less than the ratio of times.

    python benchmarks/bench_load.py [--events 1000000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"

CHILD = r"""
import json, resource, sys, time
kind, path, db = sys.argv[1:4]
if kind == "duckdb":
    import duckdb
    con = duckdb.connect(db)
    t, cpu = time.perf_counter(), time.process_time()
    con.execute(f"CREATE TABLE plain AS SELECT * FROM read_json('{path}', format='newline_delimited')")
    rows = con.execute("SELECT count(*) FROM plain").fetchone()[0]
else:
    import tracer
    store = tracer.open(db)
    t, cpu = time.perf_counter(), time.process_time()
    report = store.load(path)
    rows = report.loaded
    assert report.balanced and report.rejected == 0, report
seconds, cpu = time.perf_counter() - t, time.process_time() - cpu
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "cpu": cpu, "rows": rows, "peak": peak}))
"""


def run(kind: str, path: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "bench.duckdb")
        out = subprocess.run(
            [sys.executable, "-c", CHILD, kind, str(path), db],
            check=True,
            capture_output=True,
            text=True,
        )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--streams", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from tracer.synthetic import write_jsonl

    DATA.mkdir(exist_ok=True)
    path = DATA / f"bank-{args.events}-{args.streams}.jsonl"
    if not path.exists():
        print(f"generating {path.name} ...", flush=True)
        write_jsonl(path, events=args.events, streams=args.streams, seed=0)
    size = path.stat().st_size / 1e6

    results: dict[str, list[dict[str, float]]] = {"duckdb": [], "tracer": []}
    for _ in range(args.rounds):
        for kind in results:
            results[kind].append(run(kind, path))

    base = statistics.median(r["seconds"] for r in results["duckdb"])
    ours = statistics.median(r["seconds"] for r in results["tracer"])
    print(
        f"\n{args.events:,} events, {size:.0f} MB of JSON Lines, {os.cpu_count()} cores, {args.rounds} rounds\n"
    )
    print(f"{'':32} {'median s':>9} {'events/s':>12} {'peak RSS':>10} {'CPU s':>7}")
    for kind, label in (
        ("duckdb", "duckdb read_json -> plain table"),
        ("tracer", "tracer load -> events"),
    ):
        seconds = statistics.median(r["seconds"] for r in results[kind])
        peak = max(r["peak"] for r in results[kind]) / 2**20
        cpu = statistics.median(r["cpu"] for r in results[kind])
        print(f"{label:32} {seconds:9.2f} {args.events / seconds:12,.0f} {peak:8.0f} MB {cpu:7.2f}")
    spread = sorted(round(r["seconds"], 2) for r in results["tracer"])
    print(f"\ntracer load times: {spread}; read_json times: ", end="")
    print(sorted(round(r["seconds"], 2) for r in results["duckdb"]))
    cpu_ratio = statistics.median(r["cpu"] for r in results["duckdb"]) / statistics.median(
        r["cpu"] for r in results["tracer"]
    )
    print(f"ratio of CPU times: {cpu_ratio:.2f}")
    print(f"ratio (read_json time / tracer time): {base / ours:.2f}  (target >= 0.8)")


if __name__ == "__main__":
    main()
