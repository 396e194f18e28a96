"""Replay on a Dask cluster: a real scheduler and two worker processes on loopback give the states
of the serial fold, checkpoints included, also when a worker is killed mid-replay.

The test logs are small, so ``parallel_min=0`` sends every fold to the cluster (the CLI uses a
60,000-event synthetic log, above the 50,000 under which it folds in-process).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from samples import ACCOUNT, BANK

import tracer
from tracer.errors import TracerError
from tracer.replay import Replay
from tracer.synthetic import fill_store

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent

SOURCE = '''
from tracer import Projection, ReadModel, on


class ByType(ReadModel):
    """Keyed: one state per event type."""

    def key(self, event):
        return event.type

    def initial(self):
        return {"n": 0, "amount": 0, "streams": []}

    @on("*")
    def count(self, state, event):
        state["n"] += 1
        state["amount"] += event.data.get("amount", 0)
        if len(state["streams"]) < 50:
            state["streams"].append(event.stream)


class Totals(ReadModel):
    """One state, with an associative merge."""

    def initial(self):
        return {"sum": 0, "order": []}

    @on("Deposited", "Withdrawn")
    def add(self, state, event):
        state["sum"] += event.data["amount"]
        state["order"].append(event.position)

    def merge(self, a, b):
        return {"sum": a["sum"] + b["sum"], "order": a["order"] + b["order"]}


class ByUser(ReadModel):
    """Keyed by meta, which workers are sent only once a handler reads it."""

    def key(self, event):
        return event.meta.get("user", "nobody")

    @on("*")
    def count(self, state, event):
        state["n"] = state.get("n", 0) + 1
        state["last"] = event.id


class Fragile(Projection):
    @on("Withdrawn")
    def withdrawn(self, state, event):
        if event.data["amount"] > 150:
            raise ValueError("too much at once")
        state["out"] = state.get("out", 0) + event.data["amount"]
'''

#: The first partition to fold an event writes its process id to the marker file, then waits to
#: be killed; every other fold (the re-run one, the serial one) goes on.
MARKED = """
import os
import time
from pathlib import Path

from tracer import Projection, on

MARKER = Path({marker!r})
SEEN = []


class Marked(Projection):
    def initial(self):
        return {{"n": 0, "amount": 0}}

    @on("*")
    def count(self, state, event):
        if not SEEN:
            SEEN.append(True)
            try:
                fd = os.open(MARKER, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                pass
            else:
                os.write(fd, str(os.getpid()).encode())
                os.close(fd)
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    time.sleep(0.05)
                raise RuntimeError("this worker was to be killed")
        state["n"] += 1
        state["amount"] += event.data.get("amount", 0)
"""


def wait_for(check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    """Poll ``check`` until it returns something true (or fail after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def scheduler_address(path: Path) -> str | None:
    try:
        return json.loads(path.read_text())["address"]
    except (OSError, ValueError, KeyError):
        return None


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Any]:
    """A scheduler and two single-threaded worker processes (each under its nanny)."""
    where = tmp_path_factory.mktemp("dask")
    file = where / "scheduler.json"
    common = ["--no-dashboard", "--scheduler-file", str(file)]
    commands = [[str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0", *common]]
    worker = [str(BIN / "dask"), "worker", "--nworkers", "1", "--nthreads", "1"]
    commands += [[*worker, "--host", "127.0.0.1", *common]] * 2
    procs: list[subprocess.Popen[bytes]] = []
    client = None
    try:
        for index, command in enumerate(commands):
            log = open(where / f"process{index}.log", "wb")  # noqa: SIM115 (closed with the process)
            procs.append(
                subprocess.Popen(
                    command,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,
                    cwd=where,
                    env={**os.environ, "DASK_TEMPORARY_DIRECTORY": str(where)},
                )
            )
            if index == 0:
                wait_for(lambda: scheduler_address(file), "the scheduler file")
        client = distributed.Client(scheduler_file=str(file), timeout=30, set_as_default=False)
        client.wait_for_workers(2, timeout=60)
        yield client
    finally:
        if client is not None:
            client.close()
        for proc in reversed(procs):  # (each worker's nanny and process share a session)
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture
def address(cluster) -> str:
    """The scheduler's address, once both workers are there (a killed one comes back)."""
    cluster.wait_for_workers(2, timeout=60)
    return cluster.scheduler_info()["address"]


@pytest.fixture(scope="module")
def projections(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("projections") / "cluster_projections.py"
    path.write_text(SOURCE)
    return path


def bank() -> tracer.Store:
    store = tracer.open()
    store.load(str(BANK))
    return store


def results(replay: Replay, at: Any = "end") -> list[dict[str, Any]]:
    return [r.to_dict() for r in replay.state_results(at)]


def saved_rows(store: tracer.Store, replay: Replay) -> list[tuple[Any, ...]]:
    rows = store.con.execute(
        "SELECT position, bucket, state, last_position, last_version, last_time "
        "FROM replay_checkpoint_states WHERE fingerprint = ?",
        [replay.checkpoints.key],
    ).fetchall()
    return sorted(rows, key=repr)


@pytest.mark.parametrize("name", ["aggregate", "ByType", "Totals", "ByUser"])
def test_states_on_the_cluster_are_the_serial_ones(address, projections, name):
    spec = ACCOUNT if name == "aggregate" else f"{projections}:{name}"
    store = bank()
    serial = Replay(store, spec, workers=1, checkpoints=False)
    on_cluster = Replay(store, spec, cluster=address, parallel_min=0, checkpoints=False)
    assert on_cluster.plan.parallel
    for at in ("end", 700):
        assert results(on_cluster, at) == results(serial, at)


@pytest.mark.parametrize("name", ["aggregate", "ByType", "Totals"])
def test_checkpoints_built_on_the_cluster_serve_later_serial_queries(address, projections, name):
    spec = ACCOUNT if name == "aggregate" else f"{projections}:{name}"
    serial_store, cluster_store = bank(), bank()
    serial = Replay(serial_store, spec, workers=1, every=300)
    on_cluster = Replay(cluster_store, spec, cluster=address, parallel_min=0, every=300)
    assert on_cluster.build_checkpoints() == serial.build_checkpoints() == 1800
    assert saved_rows(cluster_store, on_cluster) == saved_rows(serial_store, serial)
    later = Replay(cluster_store, spec, workers=1, every=300)
    for at in ("end", 1000, 1800):
        assert results(later, at) == results(serial, at)
    resumed = Replay(cluster_store, spec, cluster=address, parallel_min=0, every=300)
    assert results(resumed) == results(serial)  # (1800, 1929] from the checkpoint's states


def test_a_handler_that_raises_on_a_worker_gives_the_local_error(address, projections):
    spec = f"{projections}:Fragile"
    store = bank()
    with pytest.raises(TracerError) as local:
        Replay(store, spec, workers=1, checkpoints=False).states()
    with pytest.raises(TracerError) as remote:
        Replay(store, spec, cluster=address, parallel_min=0, checkpoints=False).states()
    assert str(remote.value) == str(local.value)
    assert "handler withdrawn failed on event at position" in str(remote.value)
    assert "\n" not in str(remote.value)


def test_a_worker_killed_mid_replay_changes_nothing(address, tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "marked.py"
    path.write_text(MARKED.format(marker=str(marker)))
    spec = f"{path}:Marked"
    store = bank()
    on_cluster = Replay(store, spec, cluster=address, parallel_min=0, checkpoints=False)
    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(results, on_cluster)
        pid = int(wait_for(lambda: marker.exists() and marker.read_text(), "a partition to start"))
        os.kill(pid, signal.SIGKILL)
        states = running.result(timeout=90)
    assert states == results(Replay(store, spec, workers=1, checkpoints=False))
    assert len(states) == 26


# -- the command line ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def big_db(tmp_path_factory) -> Path:
    """60,000 synthetic bank events: above the 50,000 where the CLI starts to split folds."""
    path = tmp_path_factory.mktemp("cluster_cli") / "big.duckdb"
    with tracer.open(path) as store:
        fill_store(store, 60_000, 200, 0)
    return path


def tracer_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "tracer"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_cli_cluster_prints_what_one_core_prints(address, big_db, tmp_path):
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    common = ["--db", str(big_db), "-p", ACCOUNT, "--json"]
    serial = tracer_cli("states", *common, "--workers", "1")
    assert serial.returncode == 0, serial.stderr
    on_cluster = tracer_cli("states", *common, "--cluster", address, "--exchange", str(exchange))
    assert on_cluster.returncode == 0, on_cluster.stderr
    assert json.loads(on_cluster.stdout) == json.loads(serial.stdout)
    assert on_cluster.stderr == (
        f"note: folding 60,000 events on the Dask cluster at {address} (2 workers)\n"
    )
    assert len(json.loads(serial.stdout)) == 200
    assert list(exchange.iterdir()) == []  # the run's files are gone
    assert [p.name for p in big_db.parent.iterdir() if "exchange" in p.name] == []
    built = tracer_cli(
        "checkpoints", "--db", str(big_db), "-p", ACCOUNT, "--every", "20000", "--json",
        env={"TRACER_DASK_SCHEDULER": address},
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    assert json.loads(built.stdout)["last"] == 60_000
    assert f"note: folding 60,000 events on the Dask cluster at {address}" in built.stderr
    again = tracer_cli("states", *common, "--workers", "1")
    assert json.loads(again.stdout) == json.loads(serial.stdout)
    where = ["--where", "state['balance'] > 145000", "--from", "pos:55000"]
    found = [
        tracer_cli("find", "--db", str(big_db), "-p", ACCOUNT, "--json", *where, *option)
        for option in (["--cluster", address], ["--workers", "1"])
    ]
    assert found[0].returncode == found[1].returncode == 0, found[0].stderr
    assert json.loads(found[0].stdout) == json.loads(found[1].stdout)
    assert json.loads(found[0].stdout)["position"] == 57_536


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_cli_an_unreachable_scheduler_is_one_line_and_exit_2(big_db):
    address = f"tcp://127.0.0.1:{free_port()}"
    common = ["states", "--db", str(big_db), "-p", ACCOUNT, "--json"]
    for done in (
        tracer_cli(*common, "--cluster", address),
        tracer_cli(*common, env={"TRACER_DASK_SCHEDULER": address}),
    ):
        assert done.returncode == 2
        assert done.stderr.strip().count("\n") == 0
        assert f"cannot reach the Dask scheduler at {address}" in done.stderr
        assert "Traceback" not in done.stderr
    forced = tracer_cli(*common, "--workers", "1", env={"TRACER_DASK_SCHEDULER": address})
    assert forced.returncode == 0, forced.stderr  # --workers: this machine, whatever the env


def test_cli_without_dask_says_how_to_install_it(big_db):
    code = (
        "import sys\n"
        "sys.modules['distributed'] = None  # as if Dask were not installed\n"
        "from tracer.cli import main\n"
        f"sys.exit(main(['states', '--db', {str(big_db)!r}, '--cluster', 'tcp://127.0.0.1:1']))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 2
    assert "pip install 'tracer-es[dask]'" in done.stderr
    assert done.stderr.strip().count("\n") == 0


def test_cli_exchange_without_a_cluster_is_an_error(big_db, tmp_path):
    done = tracer_cli("states", "--db", str(big_db), "--exchange", str(tmp_path), "--json")
    assert done.returncode == 2
    assert "give --cluster too" in done.stderr
    assert done.stderr.strip().count("\n") == 0


def test_dask_is_imported_only_when_a_cluster_is_used(big_db):
    code = (
        "import contextlib, io, sys\n"
        "from tracer.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help'])\n"
        f"    assert main(['states', '--db', {str(big_db)!r}, '-w', '1', '--json']) == 0\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# -- what a new user ran into -------------------------------------------------------------------
def one_line_error(done: subprocess.CompletedProcess, text: str) -> None:
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error: ")
    assert done.stderr.strip().count("\n") == 0, done.stderr  # (no "Exception ignored in")
    assert text in done.stderr


@pytest.mark.parametrize("given", ["localhost", "tcp://localhost", "foo://127.0.0.1:1"])
def test_cli_a_malformed_address_is_one_line_and_no_wait(big_db, given):
    started = time.monotonic()
    done = tracer_cli("states", "--db", str(big_db), "--json", "--cluster", given)
    one_line_error(done, f"cannot use the Dask scheduler address {given!r}")
    assert "tcp://HOST:PORT or the JSON file of dask scheduler --scheduler-file" in done.stderr
    assert time.monotonic() - started < 8  # (a half-open Client's __del__ used to wait 10 s)


def test_cli_cluster_takes_a_scheduler_file(cluster, address, big_db):
    file = cluster.scheduler_file
    common = ["--db", str(big_db), "--json", "--at", "pos:59000"]
    serial = tracer_cli("states", *common, "--workers", "1")
    on_cluster = tracer_cli("states", *common, "--cluster", file)
    assert on_cluster.returncode == 0, on_cluster.stderr
    assert json.loads(on_cluster.stdout) == json.loads(serial.stdout)
    assert on_cluster.stderr == (
        f"note: folding 59,000 events on the Dask cluster at {address} (2 workers)\n"
    )


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (None, "no Dask scheduler file {file}"),
        ("not json", "the Dask scheduler file {file} is not JSON"),
        ('{"type": "Scheduler"}', 'the Dask scheduler file {file} names no "address"'),
        ('{"address": 8786}', 'the Dask scheduler file {file} names no "address"'),
    ],
)
def test_cli_a_missing_or_bad_scheduler_file_is_one_line(big_db, tmp_path, text, error):
    file = tmp_path / "dask" / "scheduler.json"
    if text is not None:
        file.parent.mkdir()
        file.write_text(text)
    done = tracer_cli("states", "--db", str(big_db), "--json", "--cluster", str(file))
    one_line_error(done, error.format(file=file))


def test_cli_exchange_must_be_an_existing_directory(big_db, tmp_path):
    missing = tmp_path / "missing" / "dir"
    address = f"tcp://127.0.0.1:{free_port()}"
    done = tracer_cli(
        "states", "--db", str(big_db), "--cluster", address, "--exchange", str(missing)
    )
    one_line_error(done, f"the exchange directory {missing} does not exist")
    assert not (tmp_path / "missing").exists()
    file = tmp_path / "file"
    file.write_text("")
    done = tracer_cli("states", "--db", str(big_db), "--cluster", address, "--exchange", str(file))
    one_line_error(done, f"the exchange directory {file} is not a directory")


def test_cli_an_s3_exchange_without_s3fs_says_what_to_install(big_db):
    try:
        import s3fs  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("s3fs is installed here")
    address = f"tcp://127.0.0.1:{free_port()}"
    done = tracer_cli(
        "states", "--db", str(big_db), "--cluster", address, "--exchange", "s3://bucket/tracer"
    )
    one_line_error(done, "--exchange s3://bucket/tracer needs the s3fs package")
    assert "pip install s3fs" in done.stderr


def test_cli_cluster_and_workers_together_is_an_error(big_db):
    address = f"tcp://127.0.0.1:{free_port()}"
    done = tracer_cli("states", "--db", str(big_db), "--cluster", address, "--workers", "2")
    one_line_error(done, "give --cluster or --workers, not both")


def test_cli_a_fold_under_parallel_min_says_once_that_it_stays_here(big_db):
    address = f"tcp://127.0.0.1:{free_port()}"  # (nothing listens: nothing may connect)
    common = ["--db", str(big_db), "--json", "--cluster", address]
    serial = tracer_cli("states", "--db", str(big_db), "--json", "--at", "pos:1000", "-w", "1")
    done = tracer_cli("states", *common, "--at", "pos:1000")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == json.loads(serial.stdout)
    assert done.stderr == (
        "note: folding 1,000 events here, not on the Dask cluster: folds of 50,000 events or "
        "fewer stay on this machine\n"
    )


@pytest.fixture(scope="module")
def vip_db(tmp_path_factory) -> Path:
    """60,000 synthetic events, 20 of the 200 streams (about 6,000 events) of category vip."""
    path = tmp_path_factory.mktemp("cluster_vip") / "vip.duckdb"
    with tracer.open(path) as store:
        fill_store(store, 60_000, 200, 0)
        store.con.execute(
            "UPDATE events SET stream = 'vip-' || split_part(stream, '-', 2), category = 'vip' "
            "WHERE CAST(split_part(stream, '-', 2) AS INTEGER) % 10 = 0"
        )
    return path


def test_a_category_counts_its_own_events_against_parallel_min(vip_db):
    from tracer.replay.executors import fold_size

    address = f"tcp://127.0.0.1:{free_port()}"  # (nothing listens: the fold must stay here)
    with tracer.open(vip_db) as store:
        vip = store.con.execute("SELECT count(*) FROM events WHERE category = 'vip'").fetchall()[0][
            0
        ]
        assert 3_000 < vip < 10_000
        replay = Replay(store, category="vip", cluster=address, checkpoints=False)
        assert fold_size(replay, 0, 60_000) == vip
        states = replay.states()
        assert len(states) == 20
        assert replay.notes == [
            f"folding {vip:,} events here, not on the Dask cluster: folds of 50,000 events or "
            "fewer stay on this machine"
        ]
        pool = Replay(store, category="vip", workers=2, checkpoints=False)
        assert fold_size(pool, 0, 60_000) == vip  # (the local pool decides on it too)
        everything = Replay(store, workers=2, checkpoints=False)
        assert fold_size(everything, 0, 60_000) == 60_000  # (no category: the span, no count)
