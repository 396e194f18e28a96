"""scripts/services.sh works wherever the checkout is, and `stop` leaves nothing behind.

The README's test command starts PostgreSQL as the postgres user. A root user's checkout often
sits where that user cannot go (root's home, a ``mktemp -d`` directory: mode 700), so everything
PostgreSQL writes must live elsewhere, and whatever the script makes outside the checkout must go
again on ``stop``.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

pytestmark = pytest.mark.services


def _listening(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture
def closed_clone() -> Iterator[Path]:
    """A clone of this repository inside a mode-700 directory, with this tree's services.sh."""
    if os.geteuid() != 0:
        if IN_CI:
            pytest.fail("CI runs as root; this test needs it", pytrace=False)
        pytest.skip("needs root (the postgres user must be a different user)")
    base = Path(tempfile.mkdtemp(prefix="tracer-closed-"))
    base.chmod(0o700)
    clone = base / "tracer"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    # Test the script as it is in this working tree, committed or not.
    shutil.copy2(ROOT / "scripts" / "services.sh", clone / "scripts" / "services.sh")
    env = {k: v for k, v in os.environ.items() if k != "TRACER_SERVICES_DIR"}
    try:
        yield clone
    finally:
        subprocess.run(
            ["bash", "scripts/services.sh", "stop"], cwd=clone, env=env, capture_output=True
        )
        shutil.rmtree(base, ignore_errors=True)


def test_services_start_in_a_checkout_postgres_cannot_enter_and_stop_cleans_up(
    closed_clone: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TRACER_SERVICES_DIR"}
    unreachable = subprocess.run(
        ["runuser", "-u", "postgres", "--", "test", "-x", str(closed_clone)], check=False
    )
    assert unreachable.returncode != 0, "the clone should be closed to the postgres user"
    before = set(glob.glob("/tmp/tracer-pg.*"))

    started = subprocess.run(
        ["bash", "scripts/services.sh", "start"],
        cwd=closed_clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert started.returncode == 0, started.stderr
    exports = dict(
        line[len("export ") :].split("=", 1)
        for line in started.stdout.splitlines()
        if line.startswith("export ")
    )
    nats_url, pg_dsn = exports["TRACER_TEST_NATS_URL"], exports["TRACER_TEST_PG_DSN"]

    import psycopg

    with psycopg.connect(pg_dsn, connect_timeout=10) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert _listening(nats_url)

    # PostgreSQL's data, socket and log all live in the one private directory.
    home = Path((closed_clone / ".services" / "pg.path").read_text().strip())
    assert not home.is_relative_to(closed_clone)
    assert (home / "data" / "PG_VERSION").exists()
    assert (home / "pg.log").exists()
    assert list((home / "data").glob(".s.PGSQL.*")), "the socket lives with the data"

    stopped = subprocess.run(
        ["bash", "scripts/services.sh", "stop"],
        cwd=closed_clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert stopped.returncode == 0, stopped.stderr
    assert set(glob.glob("/tmp/tracer-pg.*")) == before, "stop leaves nothing in /tmp"
    assert not _listening(pg_dsn)
    assert not _listening(nats_url)
