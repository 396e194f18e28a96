"""Real servers for the live-source tests: nats-server with JetStream, and PostgreSQL.

The servers are found through ``TRACER_TEST_NATS_URL`` and ``TRACER_TEST_PG_DSN`` (``.ci/run``
sets them with ``eval "$(bash scripts/services.sh start)"``). When they are not set, the tests
start the servers with the same script and stop them at the end. In CI (``CI=true``) a server
that cannot be reached fails the run; these tests are never skipped there.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "services.sh"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@dataclass
class Services:
    nats_url: str
    pg_dsn: str


def _reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), timeout=2):
            return True
    except OSError:
        return False


def _unavailable(message: str) -> None:
    if IN_CI:
        pytest.fail(f"CI needs the servers: {message}", pytrace=False)
    pytest.skip(message)


def _start() -> dict[str, str]:
    done = subprocess.run(
        ["bash", str(SCRIPT), "start"], capture_output=True, text=True, timeout=600, check=False
    )
    if done.returncode != 0:
        _unavailable(f"scripts/services.sh start failed: {done.stderr.strip()[-500:]}")
    found = {}
    for line in done.stdout.splitlines():
        if line.startswith("export ") and "=" in line:
            key, _, value = line[len("export ") :].partition("=")
            found[key] = value
    return found


@pytest.fixture(scope="session")
def services() -> Iterator[Services]:
    nats_url = os.environ.get("TRACER_TEST_NATS_URL")
    pg_dsn = os.environ.get("TRACER_TEST_PG_DSN")
    started = False
    if not (nats_url and pg_dsn and _reachable(nats_url) and _reachable(pg_dsn)):
        env_file = ROOT / ".services" / "env"
        found = _start() if not env_file.exists() else {}
        started = bool(found)
        if not found:  # left running by an earlier `services.sh start`: use them, or restart
            found = dict(
                line[len("export ") :].split("=", 1)
                for line in env_file.read_text().splitlines()
                if line.startswith("export ")
            )
            if not all(_reachable(v) for v in found.values()):
                found, started = _start(), True
        nats_url = found.get("TRACER_TEST_NATS_URL")
        pg_dsn = found.get("TRACER_TEST_PG_DSN")
    if not (nats_url and pg_dsn and _reachable(nats_url) and _reachable(pg_dsn)):
        _unavailable(f"cannot reach nats at {nats_url} or PostgreSQL at {pg_dsn}")
    try:
        yield Services(nats_url, pg_dsn)
    finally:
        if started:
            subprocess.run(
                ["bash", str(SCRIPT), "stop"], capture_output=True, timeout=120, check=False
            )


# -- NATS ------------------------------------------------------------------------------------------
class JetStream:
    """A fresh JetStream stream for one test, with a synchronous publisher."""

    def __init__(self, url: str):
        self.url = url
        self.name = f"T{uuid.uuid4().hex[:10].upper()}"
        self.prefix = f"ev{self.name.lower()}"

    def run(self, action: Callable[[Any], Any]) -> Any:
        import nats

        async def main() -> Any:
            nc = await nats.connect(self.url)
            try:
                return await action(nc.jetstream())
            finally:
                await nc.close()

        return asyncio.run(main())

    def create(self) -> None:
        self.run(lambda js: js.add_stream(name=self.name, subjects=[f"{self.prefix}.>"]))

    def delete(self) -> None:
        self.run(lambda js: js.delete_stream(self.name))

    def publish(self, messages: list[tuple[str, bytes, dict[str, str] | None]]) -> list[int]:
        """Publish ``(subject suffix, data, headers)``; returns the stream sequences."""

        async def send(js: Any) -> list[int]:
            seqs = []
            for suffix, data, headers in messages:
                ack = await js.publish(f"{self.prefix}.{suffix}", data, headers=headers)
                seqs.append(ack.seq)
            return seqs

        return self.run(send)


@pytest.fixture
def jetstream(services: Services) -> Iterator[JetStream]:
    stream = JetStream(services.nats_url)
    stream.create()
    try:
        yield stream
    finally:
        stream.delete()


# -- PostgreSQL ------------------------------------------------------------------------------------
@pytest.fixture
def pg_db(services: Services) -> Iterator[str]:
    """The DSN of a fresh, empty database, dropped after the test."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(services.pg_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = services.pg_dsn.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(services.pg_dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg(pg_db: str) -> Iterator[Any]:
    """An autocommit connection to the fresh database."""
    import psycopg

    with psycopg.connect(pg_db, autocommit=True) as conn:
        yield conn


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
