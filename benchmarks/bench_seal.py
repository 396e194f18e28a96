"""Seal and verify benchmark: events per second per core, against hashing alone.

A synthetic bank store (1M events by default, ``tracer.synthetic``) is sealed and verified in
this process, several rounds. CPU time (all threads of the process, so DuckDB's too) gives the
events per second *per core*; wall time is shown beside it. Two baselines are measured in the
same run, on the same events:

* ``hashlib``: SHA-256 of each event's leaf bytes (already built, in memory) plus the tree's
  interior nodes: the hashing every implementation must do, with nothing else;
* ``read``: DuckDB reading the envelope and payload columns as Arrow batches.

``-jN`` rows hash the store in N worker processes (their CPU time is counted too).

The figures that count are the ratios (seal or verify CPU time / hashlib CPU time), which hold
on a busy machine where absolute rates do not.

    python benchmarks/bench_seal.py [--events 1000000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import tracer
from tracer.audit import consistency, inclusion, keygen, open_seal, seal, verify
from tracer.audit.leaf import event_rows, leaf_bytes
from tracer.audit.merkle import root
from tracer.synthetic import fill_store

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"


def cpu_time() -> float:
    """CPU seconds of this process (every thread) and of its finished worker processes."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def timed(work: Callable[[], object]) -> tuple[float, float]:
    cpu, wall = cpu_time(), time.perf_counter()
    work()
    return cpu_time() - cpu, time.perf_counter() - wall


def store_of(events: int, streams: int) -> Path:
    DATA.mkdir(exist_ok=True)
    path = DATA / f"seal-{events}-{streams}.duckdb"
    if not path.exists():
        print(f"generating {path.name} ...", flush=True)
        with tracer.open(path) as store:
            fill_store(store, events, streams)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--streams", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    path = store_of(args.events, args.streams)
    store = tracer.open(path, read_only=True)
    n = store.count()

    # The leaf bytes, built once with the reference encoding, for the hashing baseline.
    sample = min(n, 200_000)
    leaves = [leaf_bytes(e) for e in event_rows(store.cursor(), "position <= ?", [sample])]
    scale = n / sample

    def hashing() -> None:
        sha = hashlib.sha256
        root([sha(b"\x00" + leaf).digest() for leaf in leaves])

    def reading() -> None:
        cur = store.cursor()
        query = "SELECT position, event_id, stream, version, type, time, data, meta FROM events"
        for _ in cur.sql(query).to_arrow_reader(65_536):
            pass
        cur.close()

    kinds = ("hashlib", "read", "seal", "verify", f"seal -j{args.jobs}", f"verify -j{args.jobs}")
    results: dict[str, list[tuple[float, float]]] = {k: [] for k in kinds}
    with tempfile.TemporaryDirectory() as tmp:
        key, _ = keygen("bench.tracer.example", Path(tmp) / "bench.key")
        out = Path(tmp) / "bench.seal"
        for _ in range(args.rounds):
            cpu, wall = timed(hashing)
            results["hashlib"].append((cpu * scale, wall * scale))
            results["read"].append(timed(reading))
            for jobs, suffix in ((1, ""), (args.jobs, f" -j{args.jobs}")):
                results[f"seal{suffix}"].append(
                    timed(lambda jobs=jobs: seal(store, key, out, "bench", jobs=jobs))
                )
                cpu, wall = cpu_time(), time.perf_counter()
                ok = verify(store, open_seal(out), jobs=jobs).ok
                results[f"verify{suffix}"].append((cpu_time() - cpu, time.perf_counter() - wall))
                assert ok
        sealed = open_seal(out)
        started = time.perf_counter()
        for position in range(1, n + 1, max(1, n // 100)):
            inclusion(sealed, position)
        proof_ms = (time.perf_counter() - started) * 1000 / len(range(1, n + 1, max(1, n // 100)))
        started = time.perf_counter()
        consistency(sealed, sealed)
        open_ms = (time.perf_counter() - started) * 1000

    print(f"\n{n:,} events, {os.cpu_count()} cores, {args.rounds} rounds (median)\n")
    print(
        f"{'':10} {'CPU s':>8} {'wall s':>8} {'events/s/core':>14} {'events/s':>12} {'x hashlib':>10}"
    )
    base = statistics.median(c for c, _ in results["hashlib"])
    for kind, runs in results.items():
        cpu = statistics.median(c for c, _ in runs)
        wall = statistics.median(w for _, w in runs)
        print(
            f"{kind:10} {cpu:8.2f} {wall:8.2f} {n / cpu:14,.0f} {n / wall:12,.0f} {cpu / base:10.2f}"
        )
    print(f"\ninclusion proof: {proof_ms:.1f} ms each (seal read and checked once)")
    print(f"consistency proof of a seal with itself: {open_ms:.1f} ms")
    print("target: seal and verify >= 500,000 events/s per core")


if __name__ == "__main__":
    main()
