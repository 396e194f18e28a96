"""Where the committed sample logs and their example projections are, for every test."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_logs"
BANK = SAMPLES / "bank.jsonl"
SHOP_CSV = SAMPLES / "shop.csv"
BANK_PROJECTIONS = SAMPLES / "projections" / "bank.py"
SHOP_PROJECTIONS = SAMPLES / "projections" / "shop.py"
ACCOUNT = f"{BANK_PROJECTIONS}:Account"
BALANCES = f"{BANK_PROJECTIONS}:Balances"
REVENUE = f"{SHOP_PROJECTIONS}:RevenuePerDay"
