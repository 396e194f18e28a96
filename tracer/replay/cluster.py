"""The Dask executor: the local pool's partitions, folded on an existing ``dask.distributed``
cluster (``Replay(..., cluster="tcp://HOST:PORT")``, ``--cluster``, ``TRACER_DASK_SCHEDULER``;
the address, or the JSON file ``dask scheduler --scheduler-file`` writes, read once).

**The exchange.** DuckDB writes the events of the fold once, as Parquet files partitioned by
partition and by chunk of :data:`CHUNK` positions (``COPY (...) TO dir (FORMAT parquet,
PARTITION_BY (part, chunk))``), into a directory every machine of the cluster can read
(a new directory inside ``--exchange DIR``, which must exist; default: the store's directory)
or, for an fsspec URL such as ``s3://bucket/x``, into a local directory uploaded there
(:mod:`tracer.replay.exchange`). One Dask task per partition reads its
chunks in order with pyarrow (sorting each by position: a partitioned ``COPY`` does not keep the
order) and runs the :class:`~tracer.replay.kernel.Kernel`, so a task holds one chunk at a time.
The exchange is removed when the fold ends.

Why files rather than Arrow batches scattered through Dask: a killed worker's task is simply run
again from the files (scattered data dies with its worker), tasks stay tiny for the scheduler
(file names and the projection's source; the states a fold starts from, when it starts at a
checkpoint, are a file of the exchange too), and the events leave the client once, written by
DuckDB at its own speed. Measured on 1M events (2 shared cores): the ``COPY``
took 0.3-1.0 s and wrote 21 bytes an event with zstd (37 with snappy, 76 uncompressed, in
about the same time); a task then reads, sorts and folds about 0.4M events/s, against 0.36-0.44M
for the in-process serial fold (``benchmarks/bench_cluster.py``).

**What travels.** A task carries the projection's spec and fingerprint and, for a
``FILE.py:Name`` projection, the file's text, executed on the worker into a module of the same
name (so the fingerprint matches; the path need not exist there; a ``package.module:Name``
projection must be installed on the workers, as tracer itself must). Results are values, never
exceptions: the segments of each checkpoint, the final states, and a handler's failure (the same
one-line error as a local run), combined by :class:`~tracer.replay.gather.Gather` as in the pool.
"""

from __future__ import annotations

import inspect
import json
import linecache
import pickle
import sys
import threading
import types
from asyncio import CancelledError
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from tracer.errors import TracerError
from tracer.replay.checkpoints import Book
from tracer.replay.exchange import Exchange, check_exchange
from tracer.replay.executors import Split
from tracer.replay.fold import Folder, ProjectionError
from tracer.replay.gather import Gather
from tracer.replay.kernel import Kernel, NeedExtras, Segment, Task
from tracer.replay.loader import load_projection
from tracer.replay.partition import KEY
from tracer.replay.source import BATCH_ROWS

if TYPE_CHECKING:
    from tracer.replay.engine import Replay

#: Seconds to wait for the scheduler before saying it cannot be reached.
CONNECT_SECONDS = 5
#: Positions per chunk of the exchange: a task holds one chunk's events at a time.
CHUNK = 1_000_000
INSTALL = "pip install 'tracer-es[dask]'"


@dataclass
class Job:
    """One Dask task: fold one partition's files (``chunks``: lists of files, in chunk order,
    relative to ``root``)."""

    task: Task
    spec: str  # what the worker loads: "default", "module:Name"
    source: str | None  # the projection module's text, for FILE.py projections
    filename: str | None
    root: str
    chunks: list[list[str]]
    states: str | None = None  # the file of the states it starts from (pickled), if any


@dataclass
class Outcome:
    """What a task returns: its segments, its final states, or why it failed."""

    part: int
    segments: list[Segment] = field(default_factory=list)
    changed: dict[Any, Any] = field(default_factory=dict)
    failure: tuple[int, str] | None = None
    need_extras: bool = False


# -- on the client ------------------------------------------------------------------------------
def fold_cluster(
    replay: Replay,
    states: dict[Any, Any],
    book: Book,
    lo: int,
    hi: int,
    boundaries: list[int],
    address: str,
    exchange: str | None = None,
    extras: bool = False,
    events: int | None = None,
) -> None:
    """Fold ``(lo, hi]`` (``events`` events) on the Dask cluster at ``address``, one task per
    worker thread; raises :class:`~tracer.replay.kernel.NeedExtras` when a handler read event
    ids or meta not sent."""
    distributed = _distributed()
    with connect(distributed, address) as client:
        nthreads = client.nthreads()
        if not nthreads:  # (workers may still be starting)
            try:
                client.wait_for_workers(1, timeout=CONNECT_SECONDS)
            except TimeoutError as exc:
                raise TracerError(
                    f"the Dask cluster at {address} has no workers (none came in "
                    f"{CONNECT_SECONDS} s)"
                ) from exc
            nthreads = client.nthreads()
        threads = sum(nthreads.values())
        replay.note_once(
            f"folding {hi - lo if events is None else events:,} events on the Dask cluster at "
            f"{address} ({_workers(len(nthreads), threads)})"
        )
        split = Split(replay, lo, hi, boundaries, threads)
        gather = Gather(replay, states, book, lo, hi, boundaries, split.parts)
        spec, source, filename = shipped(replay)
        starting = split.starting_states(states)
        with Exchange(replay.store.path, exchange) as place:
            saved = [place.put_states(part, starting[part]) for part in range(split.parts)]
            files = place.write(replay.source.con, split.query(extras, CHUNK))
            jobs = [
                Job(
                    split.task(part, {}, gather.encode),
                    spec,
                    source,
                    filename,
                    place.url,
                    files.get(0 if split.mode == KEY else part, []),
                    saved[part],
                )
                for part in range(split.parts)
            ]
            futures = [client.submit(run_job, job, pure=False) for job in jobs]
            finals: dict[Any, Any] = {}
            failures: list[tuple[int, str]] = []
            need_extras = False
            for future in distributed.as_completed(futures, loop=client.loop):
                try:
                    outcome: Outcome = future.result()
                except (Exception, CancelledError) as exc:  # workers killed too often, ...
                    first = str(exc).splitlines()[0] if str(exc) else ""
                    name = type(exc).__name__
                    failures.append((0, f"replay task failed on the cluster: {name}: {first}"))
                    continue
                for segment in outcome.segments:
                    gather.take(segment)
                finals.update(outcome.changed)
                if outcome.failure is not None:
                    failures.append(outcome.failure)
                need_extras = need_extras or outcome.need_extras
        gather.finish(finals, failures, need_extras)


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise TracerError(f"--cluster needs Dask: {INSTALL}") from exc
    return distributed


def _workers(workers: int, threads: int) -> str:
    text = f"{workers} worker{'s' * (workers != 1)}"
    return text if threads == workers else f"{text}, {threads} threads"


def connect(distributed: Any, address: str) -> Any:
    """A client of the scheduler at ``address``, or a one-line error naming it.

    The address is checked before a ``Client`` exists: a ``Client`` whose start fails on a
    malformed address (``ValueError``) is left half-open, and its ``__del__`` then waits 10 s
    for a close that cannot finish, printing ``Exception ignored in: Client.__del__``. One whose
    connection fails (``OSError``, ``TimeoutError``) closes itself before raising.
    """
    try:
        distributed.comm.get_address_host_port(address)
    except ValueError as exc:
        raise TracerError(
            f"cannot use the Dask scheduler address {address!r}: {exc} (--cluster takes "
            "tcp://HOST:PORT or the JSON file of dask scheduler --scheduler-file)"
        ) from exc
    except NotImplementedError:  # (a transport without host and port, such as inproc://)
        pass
    try:
        return distributed.Client(address, timeout=CONNECT_SECONDS, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise TracerError(
            f"cannot reach the Dask scheduler at {address} (no answer in {CONNECT_SECONDS} s)"
        ) from exc
    except (ValueError, TypeError) as exc:
        raise TracerError(f"cannot use the Dask scheduler address {address!r}: {exc}") from exc


def scheduler_address(target: str) -> str:
    """The scheduler's address: ``target`` itself (``tcp://HOST:PORT``), or the ``address`` of
    the JSON scheduler file ``target`` names (as ``dask scheduler --scheduler-file`` writes)."""
    path = Path(target)
    looks_like_file = target.endswith(".json") or "/" in target or path.is_file()
    if "://" in target or not looks_like_file:
        return target
    usage = "(--cluster takes tcp://HOST:PORT or the JSON file of dask scheduler --scheduler-file)"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise TracerError(f"no Dask scheduler file {target} {usage}") from exc
    except OSError as exc:
        raise TracerError(f"cannot read the Dask scheduler file {target}: {exc}") from exc
    except ValueError as exc:
        raise TracerError(f"the Dask scheduler file {target} is not JSON ({exc})") from exc
    address = data.get("address") if isinstance(data, dict) else None
    if not isinstance(address, str) or not address:
        raise TracerError(f'the Dask scheduler file {target} names no "address" {usage}')
    return address


def check_options(cluster: str, exchange: str | None) -> str:
    """The scheduler address ``--cluster`` stands for, once it and ``--exchange`` are usable
    (without importing Dask: a fold that stays on this machine never does)."""
    check_exchange(exchange)
    return scheduler_address(cluster)


def shipped(replay: Replay) -> tuple[str, str | None, str | None]:
    """``(spec, source, filename)``: what a worker loads the projection from."""
    spec = replay.plan.spec
    assert spec is not None
    if spec == "default":
        return spec, None, None
    cls = type(replay.projection)
    module = sys.modules.get(cls.__module__)
    filename = getattr(module, "__file__", None)
    if module is None or not cls.__module__.startswith("tracer_projection_") or not filename:
        return spec, None, None  # package.module:Name: installed on the workers
    return f"{cls.__module__}:{cls.__qualname__}", inspect.getsource(module), filename


# -- on a worker ------------------------------------------------------------------------------
_LOCK = threading.Lock()
_LOADED: dict[str, str] = {}  # module name -> the source executed as that module


def run_job(job: Job) -> Outcome:
    """Fold one partition on a worker; failures come back as values."""
    task = job.task
    outcome = Outcome(task.part)
    reader = _Chunks(job)
    kernel: Kernel | None = None
    try:
        projection = _projection(job)
        if projection.fingerprint() != task.fingerprint:
            raise TracerError(
                f"projection {projection.name} on the workers is not the one given here "
                "(install the same version of its module there)"
            )
        kernel = Kernel(Folder(projection, reader.extras), task, outcome.segments.append)
        if job.states is not None:
            task.states = reader.states(job.states)
        kernel.run(reader, task.states)
    except NeedExtras:
        outcome.need_extras = True
    except ProjectionError as exc:
        if isinstance(exc.__cause__, NeedExtras):
            outcome.need_extras = True
        else:
            outcome.failure = (exc.event.position if exc.event is not None else 0, str(exc))
    except TracerError as exc:
        outcome.failure = (0, str(exc))
    except OSError as exc:
        outcome.failure = (0, f"cannot read the exchange {job.root} on a worker: {exc}")
    except Exception as exc:  # anything else still ends the task with a message
        outcome.failure = (0, f"replay task failed: {type(exc).__name__}: {exc}")
    if kernel is not None and outcome.failure is None and not outcome.need_extras:
        outcome.changed = {b: task.states[b] for b in kernel.changed if b in task.states}
    return outcome


def _projection(job: Job) -> Any:
    if job.source is not None and job.filename is not None:
        name = job.spec.partition(":")[0]
        with _LOCK:
            if _LOADED.get(name) != job.source:
                module = types.ModuleType(name)
                module.__file__ = job.filename
                lines = job.source.splitlines(True)
                linecache.cache[job.filename] = (len(job.source), None, lines, job.filename)
                sys.modules[name] = module
                exec(compile(job.source, job.filename, "exec"), module.__dict__)
                _LOADED[name] = job.source
    elif job.spec != "default":
        for entry in reversed(job.task.path):
            if entry not in sys.path:
                sys.path.append(entry)
    return load_projection(None if job.spec == "default" else job.spec)


class _Chunks:
    """A partition's batches, chunk by chunk, in position order."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.current: pa.RecordBatch | None = None

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        filesystem, root = _filesystem(self.job.root)
        for files in self.job.chunks:
            paths = [f"{root}/{f}" for f in files]
            table = pq.read_table(
                paths, filesystem=filesystem, partitioning=None, arrow_extensions_enabled=False
            )
            positions = table.column(0).to_numpy()
            if not (positions[1:] > positions[:-1]).all():  # (the usual case: DuckDB wrote
                table = table.sort_by("position")  # each partition's rows as threads went)
            for batch in table.to_batches(BATCH_ROWS):
                self.current = batch
                yield batch

    def states(self, name: str) -> dict[Any, Any]:
        """The starting states saved in the exchange (once the projection's module exists)."""
        filesystem, root = _filesystem(self.job.root)
        if filesystem is None:
            return pickle.loads(Path(root, name).read_bytes())
        with filesystem.open(f"{root}/{name}", "rb") as file:
            return pickle.loads(file.read())

    def extras(self, positions: list[int]) -> dict[int, tuple[Any, Any]]:
        """Event ids and meta of the batch being folded, when they were sent."""
        batch = self.current
        if batch is None or batch.num_columns < 8 or batch.schema.names[6] != "event_id":
            raise NeedExtras()
        pairs = zip(batch.column(6).to_pylist(), batch.column(7).to_pylist(), strict=True)
        return dict(zip(batch.column(0).to_pylist(), pairs, strict=True))


def _filesystem(root: str) -> tuple[Any, str]:
    """pyarrow's own filesystem for a local path, fsspec's for a URL."""
    if "://" not in root or root.startswith("file:"):
        return None, root.removeprefix("file://")
    import fsspec

    return fsspec.core.url_to_fs(root)
