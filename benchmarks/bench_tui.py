"""Terminal UI benchmark (issue 4), with Textual's headless Pilot; prints a table.

    /tmp/venv/bin/python benchmarks/bench_tui.py [--events 1000000] [--steps 200]

1. Time to first screen: from starting the app to the timeline's first rows drawn and the
   state and change panels showing the first event. Target: <= 1 s on 1M events.
2. One keypress step (down), from the key event reaching the app to the state and change panels
   showing the new event: the median and 95th percentile over ``--steps`` steps taken from
   random points of the log. Target: median <= 50 ms. (The Pilot's own ``press()`` also waits
   for the screen to go idle; that wait is not the user's latency and is not counted.)

The same figures on a 1,000-event store are measured in the same run: the ratio 1M / 1k shows
that the timeline's cost does not grow with the log (only the rows on screen are fetched). The
1M store is measured twice, as loaded and with an ART index on ``events(stream)``, which turns
the replay engine's read of one stream's events from a scan into a lookup.
Stores are cached in ``benchmarks/data/`` (git-ignored) between runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
SIZE = (160, 45)


def store_path(events: int, streams: int, index: bool = False) -> Path:
    """A synthetic store of ``events`` events, built once and kept in benchmarks/data/."""
    import tracer
    from tracer.synthetic import fill_store

    DATA.mkdir(exist_ok=True)
    path = DATA / f"tui-{events}-{streams}{'-indexed' if index else ''}.duckdb"
    if not path.exists():
        started = time.perf_counter()
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        with tracer.open(partial) as store:
            fill_store(store, events, streams, seed=0)
            if index:
                store.con.execute("CREATE INDEX events_stream ON events(stream)")
        partial.rename(path)
        print(f"built {path.name} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return path


async def measure(path: Path, steps: int, seed: int) -> dict[str, Any]:
    from textual import events as textual_events

    import tracer
    from tracer.replay import Replay
    from tracer.tui import TracerApp
    from tracer.tui.messages import DetailShown
    from tracer.tui.timeline import Timeline

    started = time.perf_counter()  # opening the store and the replay engine count too
    store = tracer.open(path)
    shown: dict[int, float] = {}
    first_rows: list[float] = []
    arrived = asyncio.Event()
    keys: list[float] = []

    def hook(message: Any) -> None:
        if isinstance(message, textual_events.Key):
            keys.append(time.perf_counter())
        elif isinstance(message, DetailShown):
            shown[message.position] = time.perf_counter()
            arrived.set()
        elif isinstance(message, Timeline.PagesLoaded) and not first_rows:
            first_rows.append(time.perf_counter())

    async def detail_for(position: int) -> float:
        while position not in shown:
            arrived.clear()
            await asyncio.wait_for(arrived.wait(), timeout=30)
        return shown[position]

    app = TracerApp(store, replay=Replay(store), name=path.name)
    async with app.run_test(size=SIZE, message_hook=hook) as pilot:
        first_detail = await detail_for(1)
        while not first_rows:
            await pilot.pause(0.001)
        first_screen = max(first_detail, first_rows[0]) - started

        rng = random.Random(seed)
        count = app.timeline.row_count
        times: list[float] = []
        for _ in range(steps // 10):
            target = rng.randint(1, count - 20)
            app.timeline.go_to_position(target)
            await detail_for(target)
            for step in range(1, 11):
                keys.clear()
                await pilot.press("down")
                times.append(await detail_for(target + step) - keys[0])
    store.close()
    times.sort()
    return {
        "events": count,
        "first_screen": first_screen,
        "step_median": statistics.median(times),
        "step_p95": times[int(len(times) * 0.95) - 1],
        "steps": len(times),
    }


def import_seconds() -> float:
    """Importing the UI (Textual and tracer) in a fresh interpreter, as ``tracer tui`` does."""
    code = "import time; t = time.perf_counter(); import tracer.tui; print(time.perf_counter() - t)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--streams", type=int, default=10_000)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    stores = {
        "1k": store_path(1_000, 10),
        "1M": store_path(args.events, args.streams),
        "1M+index": store_path(args.events, args.streams, index=True),
    }
    results = {
        name: asyncio.run(measure(path, args.steps, args.seed)) for name, path in stores.items()
    }
    s = results["1k"]
    print(
        f"tracer tui benchmark · {platform.machine()}, {os.cpu_count()} cores · "
        f"terminal {SIZE[0]}x{SIZE[1]} · headless Pilot · {s['steps']} steps"
    )
    print(f"{'':40}" + "".join(f"{name:>10}" for name in results) + "   1M/1k  target")
    rows = [
        ("time to first screen (s)", "first_screen", 1, "<= 1 s"),
        ("step, panels updated, median (ms)", "step_median", 1000, "<= 50 ms"),
        ("step, panels updated, p95 (ms)", "step_p95", 1000, ""),
    ]
    for label, key, scale, target in rows:
        cells = "".join(f"{r[key] * scale:>10.3g}" for r in results.values())
        print(f"{label:40}{cells}{results['1M'][key] / s[key]:>8.2f}  {target}")
    print(f"{'import tracer.tui, fresh process (s)':40}{import_seconds():>10.3g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
