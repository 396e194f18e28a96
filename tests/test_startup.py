"""Start-up: `tracer --help` and `tracer info` do not pay for what they do not use.

A command-line tool is started again and again; pandas, pyarrow and the replay engine together
cost more than half a second to import here. `--help` needs none of them (nor DuckDB), and
`info` needs only DuckDB. The time itself is measured in benchmarks/bench_startup.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import tracer

HEAVY = ("pandas", "pyarrow", "numpy", "plotly", "textual", "tracer.replay", "tracer.load")


def imported_after(code: str) -> set[str]:
    probe = code + "\nimport sys\nprint(','.join(sorted(sys.modules)))\n"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(done.stdout.strip().splitlines()[-1].split(","))


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY or m.startswith(HEAVY))


def test_help_imports_neither_duckdb_nor_pandas_nor_the_engine() -> None:
    loaded = imported_after(
        "from tracer.cli import main\n"
        "import contextlib, io\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help'])\n"
    )
    assert heavy(loaded) == []
    assert "duckdb" not in loaded


def test_info_imports_duckdb_but_not_pandas(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    with tracer.open(db) as store:
        store.load(str(Path(__file__).resolve().parents[1] / "sample_logs" / "bank.jsonl"))
    loaded = imported_after(
        "from tracer.cli import main\n"
        "import contextlib, io\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        f"    assert main(['info', '--db', {str(db)!r}]) == 0\n"
        "assert '1,929' in out.getvalue()\n"
    )
    assert "duckdb" in loaded
    assert heavy(loaded) == []
