"""Replay on a Dask cluster (issue 10, item 4): ``tracer states --at end`` as a whole process on
1M synthetic bank events, in one run:

- serial: ``--workers 1`` (this process folds everything);
- a loopback cluster (``dask scheduler`` + ``dask worker --nthreads 1``) with one worker, then
  with two workers: ``--cluster tcp://...``.

Each timing drops the projection's checkpoints first (the run folds the whole log and saves
checkpoints every 100,000 events, as ``bench_replay.py`` does); the configurations are
interleaved, repeated, and the best and spread reported. Prints the parallel efficiency
(one-worker cluster time / (2 × two-worker time), and the same against the serial run), the
per-core rate, and the exchange volume per event (bytes of Parquet the run writes / events).

    .venv/bin/python benchmarks/bench_cluster.py [--events 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import tracer
from tracer.replay import Replay
from tracer.replay.cluster import CHUNK, Exchange, Job, run_job, shipped
from tracer.replay.executors import Split

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_replay import projection_file, synthetic_store

BIN = Path(sys.executable).parent


def seconds(db: str, spec: str, *options: str) -> float:
    """One cold ``tracer states --at end`` (its checkpoints dropped first)."""
    tracer_command = str(BIN / "tracer")
    drop = [tracer_command, "checkpoints", "--drop", "--db", db, "-p", spec, "--workers", "1"]
    subprocess.run(drop, check=True, stdout=subprocess.DEVNULL)
    command = [tracer_command, "states", "--at", "end", "--json", "--db", db, "-p", spec]
    started = time.perf_counter()
    subprocess.run([*command, *options], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


class Cluster:
    """A loopback scheduler; workers are added one at a time."""

    def __init__(self, where: Path) -> None:
        self.file = where / "scheduler.json"
        self.where = where
        self.procs: list[subprocess.Popen[bytes]] = []
        self._start("scheduler", "--host", "127.0.0.1", "--port", "0")
        self.address = self._wait(lambda: json.loads(self.file.read_text())["address"])

    def _start(self, *args: str) -> None:
        command = [str(BIN / "dask"), *args, "--no-dashboard", "--scheduler-file", str(self.file)]
        log = open(self.where / f"process{len(self.procs)}.log", "wb")  # noqa: SIM115
        env = {**os.environ, "DASK_TEMPORARY_DIRECTORY": str(self.where)}
        self.procs.append(
            subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True, env=env)
        )

    def _wait(self, check, timeout: float = 60):  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                value = check()
                if value:
                    return value
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.1)
        raise RuntimeError("the Dask cluster did not start")

    def add_worker(self) -> None:
        from distributed import Client

        self._start("worker", "--nworkers", "1", "--nthreads", "1", "--host", "127.0.0.1")
        with Client(self.address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(len(self.procs) - 1, timeout=60)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def exchange_volume(db: str, spec: str, events: int) -> tuple[int, float]:
    """Bytes of Parquet a two-partition fold of the whole log writes, and the seconds taken."""
    with tracer.open(db) as store:
        replay = Replay(store, spec, workers=2, checkpoints=False)
        split = Split(replay, 0, events, [], 2)
        with Exchange(db, None) as place:
            started = time.perf_counter()
            place.write(replay.source.con, split.query(False, CHUNK))
            return place.bytes, time.perf_counter() - started


def fold_rates(db: str, spec: str, events: int, repeat: int) -> tuple[float, float]:
    """Events per second one worker thread folds from the exchange (a task's work, run here on
    one partition holding the whole log), and the in-process serial fold's rate (best of
    ``repeat``)."""
    task, serial = [], []
    with tracer.open(db) as store:
        replay = Replay(store, spec, workers=1, checkpoints=False)
        split = Split(replay, 0, events, [], 1)
        with Exchange(db, None) as place:
            files = place.write(replay.source.con, split.query(False, CHUNK))
            name, source, filename = shipped(replay)
            job = Job(split.task(0, {}, False), name, source, filename, place.url, files[0])
            for _ in range(repeat):
                started = time.perf_counter()
                outcome = run_job(job)
                task.append(time.perf_counter() - started)
                assert outcome.failure is None, outcome.failure
                started = time.perf_counter()
                replay.states()
                serial.append(time.perf_counter() - started)
    return events / min(task), events / min(serial)


def spread(values: list[float]) -> str:
    return f"best {min(values):.2f} s, spread {min(values):.2f}-{max(values):.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--streams", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    events = args.events
    store = synthetic_store(events, args.streams)  # (bench_replay.py's store and projection)
    db = str(store.path)
    store.close()
    spec = projection_file()
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        where = Path(tmp)
        volume, copy_seconds = exchange_volume(db, spec, events)
        task_rate, serial_rate = fold_rates(db, spec, events, args.repeat)
        cluster = Cluster(where)
        try:
            times: dict[str, list[float]] = {"serial": [], "cluster1": [], "cluster2": []}
            cluster.add_worker()
            seconds(db, spec, "--cluster", cluster.address)  # warm the worker and page cache
            for _ in range(args.repeat):
                times["serial"].append(seconds(db, spec, "--workers", "1"))
                times["cluster1"].append(seconds(db, spec, "--cluster", cluster.address))
            cluster.add_worker()
            seconds(db, spec, "--cluster", cluster.address)  # warm the second worker
            for _ in range(args.repeat):
                times["cluster2"].append(seconds(db, spec, "--cluster", cluster.address))
                times["serial"].append(seconds(db, spec, "--workers", "1"))
        finally:
            cluster.stop()
    serial, one, two = (min(times[k]) for k in ("serial", "cluster1", "cluster2"))
    print(f"tracer states --at end --json, whole process, {events:,} events (cold: no checkpoints)")
    print(f"  --workers 1 (serial):        {spread(times['serial'])}")
    print(f"  --cluster, 1 worker:         {spread(times['cluster1'])}")
    print(f"  --cluster, 2 workers:        {spread(times['cluster2'])}")
    print(f"  parallel efficiency T(1 worker) / (2 x T(2 workers)): {one / (2 * two):.2f}")
    print(f"  against the serial run, T(serial) / (2 x T(2 workers)): {serial / (2 * two):.2f}")
    print(f"  per-core rate, whole process: {events / (2 * two):,.0f} events/s (2 workers), ")
    print(f"    {events / one:,.0f} events/s (1 worker), {events / serial:,.0f} events/s (serial)")
    print(
        f"  per-core fold rate of a task (read Parquet, sort, fold): {task_rate:,.0f} events/s; "
        f"in-process serial fold: {serial_rate:,.0f} events/s"
    )
    print(
        f"  exchange: {volume:,} bytes of Parquet (zstd) = {volume / events:.1f} bytes/event, "
        f"written in {copy_seconds:.2f} s"
    )
    print(f"  machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
