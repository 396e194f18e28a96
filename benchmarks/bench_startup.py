"""Start-up benchmark: ``tracer --help`` and ``tracer info`` as whole processes.

A user types these first, and waits for them every time. Each command runs as a fresh process,
alternating with the baseline, a bare ``python -c "import duckdb"`` (what any tracer command that
reads a store must import anyway), the same number of times. The figures are the medians, and the
ratio of each command's median to the baseline's: 1.0 would mean tracer costs nothing beyond
opening DuckDB. The goal is 0.25 s or less for both commands on these 2-core machines.

    python benchmarks/bench_startup.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(sys.executable).with_name("tracer")  # the console script a user runs
TRACER = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "tracer.cli"]
GOAL_SECONDS = 0.25


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "bank.duckdb")
        subprocess.run(
            [*TRACER, "load", str(ROOT / "sample_logs" / "bank.jsonl"), "--db", db],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        commands = {
            "python -c 'import duckdb'": [sys.executable, "-c", "import duckdb"],
            "tracer --help": [*TRACER, "--help"],
            "tracer info": [*TRACER, "info", "--db", db],
        }
        for argv in commands.values():  # warm the file cache once
            timed(argv)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.rounds):
            for name, argv in commands.items():
                times[name].append(timed(argv))

    base = statistics.median(times["python -c 'import duckdb'"])
    print(f"{'command':<28} {'median':>8} {'min':>8} {'× import duckdb':>16}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<28} {median:>7.3f}s {min(values):>7.3f}s {median / base:>15.2f}×")
    worst = max(statistics.median(times["tracer --help"]), statistics.median(times["tracer info"]))
    verdict = "meets" if worst <= GOAL_SECONDS else "misses"
    print(f"slowest of --help and info: {worst:.3f}s, {verdict} the {GOAL_SECONDS}s goal")


if __name__ == "__main__":
    main()
