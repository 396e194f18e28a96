"""``compare`` and ``schema`` benchmarks (issue 12), measured in one run; prints a table.

    .venv/bin/python benchmarks/bench_compare.py                  # 1M events, schema on 10M
    .venv/bin/python benchmarks/bench_compare.py --big 0          # skip the 10M schema

1. ``compare`` of the bank ``Account`` projection against its fixed version on the bank sample
   and on a synthetic 1M-event log, beside one replay of each version (``Replay.states()``,
   checkpoints off): the ratio to one replay and to the two replays it stands in for.
2. ``payload_shapes`` (``tracer schema``) over a synthetic 10M-event store: seconds.

Each time is the best of ``--repeat`` runs. Stores are cached in ``benchmarks/data/``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import tracer
from tracer.replay import Replay, compare_projections
from tracer.shapes import payload_shapes
from tracer.synthetic import fill_store

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
OLD = f"{ROOT / 'sample_logs' / 'projections' / 'bank.py'}:Account"
NEW = f"{ROOT / 'sample_logs' / 'projections' / 'bank_fixed.py'}:Account"


def best(repeat: int, run: Callable[[], Any]) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def synthetic(events: int) -> tracer.Store:
    DATA.mkdir(exist_ok=True)
    path = DATA / f"synthetic-{events}.duckdb"
    if not path.exists():
        with tracer.open(path) as store:
            fill_store(store, events, max(10, events // 100))
    return tracer.open(path, read_only=True)


def compare_row(label: str, store: tracer.Store, repeat: int) -> list[str]:
    one = best(repeat, lambda: Replay(store, OLD, checkpoints=False).states())
    other = best(repeat, lambda: Replay(store, NEW, checkpoints=False).states())
    both = best(repeat, lambda: compare_projections(store, OLD, NEW))
    return [
        label,
        f"{one:.2f} s",
        f"{other:.2f} s",
        f"{both:.2f} s",
        f"{both / one:.2f}",
        f"{both / (one + other):.2f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--big", type=int, default=10_000_000, help="schema store (0: skip)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    bank = tracer.open()
    bank.load(str(ROOT / "sample_logs" / "bank.jsonl"))
    rows = [compare_row("bank sample (1,929 events)", bank, args.repeat)]
    rows.append(compare_row(f"synthetic {args.events:,}", synthetic(args.events), args.repeat))
    header = ["log", "replay old", "replay new", "compare", "÷ one", "÷ two"]
    print(" | ".join(header))
    for row in rows:
        print(" | ".join(row))
    if args.big:
        store = synthetic(args.big)
        seconds = best(args.repeat, lambda: payload_shapes(store))
        print(f"schema (payload_shapes) over {args.big:,} events: {seconds:.2f} s")


if __name__ == "__main__":
    main()
