"""Regenerate the committed sample logs (seeded: the same bytes on every run).

    .venv/bin/python sample_logs/make_samples.py [--out DIR] [--only bank,shop,stores,kurrent]

bank.jsonl, shop.csv and kurrent_all.jsonl are byte-identical on every run; shop.parquet is byte-identical for a
given pyarrow version; eventstore.sqlite holds the same rows on every run (its ids and
timestamps are deterministic too, but its bytes depend on the SQLite and eventsourcing versions).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import gen_bank  # noqa: E402
import gen_kurrent  # noqa: E402
import gen_shop  # noqa: E402
import gen_stores  # noqa: E402

SAMPLES = ("bank", "shop", "stores", "kurrent")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="directory to write into")
    parser.add_argument(
        "--only", default=",".join(SAMPLES), help="comma-separated: " + ", ".join(SAMPLES)
    )
    args = parser.parse_args(argv)
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    if unknown := only - set(SAMPLES):
        parser.error(f"unknown samples: {', '.join(sorted(unknown))}")
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    if "bank" in only:
        events = gen_bank.write(out / "bank.jsonl")
        print(f"bank.jsonl: {len(events)} events")
    if "shop" in only:
        rows = gen_shop.write(out / "shop.csv", out / "shop.parquet")
        print(f"shop.csv, shop.parquet: {len(rows)} events")
    if "stores" in only:
        stored, marten, axon = gen_stores.write(out / "eventstore.sqlite")
        print(
            f"eventstore.sqlite: stored_events {stored} rows, mt_events {marten} rows, "
            f"domain_event_entry {axon} rows"
        )
    if "kurrent" in only:
        records = gen_kurrent.write(out / "kurrent_all.jsonl")
        print(f"kurrent_all.jsonl: {len(records)} records")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
