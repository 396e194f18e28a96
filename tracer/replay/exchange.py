"""The exchange of a Dask fold: where the client's DuckDB writes the fold's events as Parquet for
the workers (:mod:`tracer.replay.cluster`), and the checks of ``--exchange``.

A local exchange is a directory that already exists (every worker machine mounts it; default:
the store's directory): tracer creates only its own ``tracer-exchange-*`` directory inside it and
removes that when the fold ends. An fsspec URL (``s3://bucket/dir``) is written to a local
temporary directory first, then uploaded under the URL, and removed there too.
"""

from __future__ import annotations

import pickle
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from tracer.errors import TracerError
from tracer.replay.source import sql_literal


def is_remote(target: str | None) -> bool:
    """Whether ``--exchange`` names an fsspec URL rather than a local directory."""
    return target is not None and "://" in target and not target.startswith("file:")


def check_exchange(target: str | None) -> None:
    """A one-line error unless ``target`` (``--exchange``) can hold an exchange: an existing
    directory, or a URL whose fsspec filesystem is installed."""
    if target is None:
        return
    if not is_remote(target):
        base = Path(target.removeprefix("file://"))
        if not base.is_dir():
            what = "is not a directory" if base.exists() else "does not exist"
            raise TracerError(
                f"the exchange directory {base} {what} (--exchange takes an existing directory "
                "every Dask worker can read, or an fsspec URL such as s3://bucket/dir)"
            )
        return
    protocol = target.partition("://")[0]
    try:
        import fsspec
    except ImportError as exc:
        raise TracerError(f"--exchange {target} needs fsspec: pip install fsspec") from exc
    try:
        fsspec.get_filesystem_class(protocol)
    except ImportError as exc:  # fsspec knows the protocol, its package is missing
        from fsspec.registry import known_implementations

        known = known_implementations.get(protocol, {})
        package = str(known.get("class", protocol)).partition(".")[0]
        raise TracerError(
            f"--exchange {target} needs the {package} package on this machine and on every "
            f"Dask worker: pip install {package}"
        ) from exc
    except ValueError as exc:
        raise TracerError(
            f"--exchange {target}: fsspec knows no filesystem {protocol}:// ({exc})"
        ) from exc


class Exchange:
    """Where this fold's Parquet files go: a new directory (removed afterwards) in ``target``
    (an existing directory; default: the store's directory), or uploaded to the fsspec URL
    ``target``."""

    def __init__(self, store_path: str | None, target: str | None) -> None:
        check_exchange(target)
        run = f"tracer-exchange-{uuid.uuid4().hex[:12]}"
        self.remote = is_remote(target)
        if self.remote:
            assert target is not None
            self.local = Path(tempfile.mkdtemp(prefix="tracer-exchange-")) / "run"
            self.url = target.rstrip("/") + "/" + run
        else:
            if target is not None:
                base = Path(target.removeprefix("file://"))
            elif store_path is not None:
                base = Path(store_path).resolve().parent
            else:
                base = Path(tempfile.gettempdir())
            self.local = base.resolve() / run
            self.url = str(self.local)
        #: Bytes of Parquet written (for the benchmark's exchange volume).
        self.bytes = 0

    def __enter__(self) -> Exchange:
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.local.parent if self.remote else self.local, ignore_errors=True)
        if self.remote:
            import fsspec

            fs, path = fsspec.core.url_to_fs(self.url)
            if fs.exists(path):
                fs.rm(path, recursive=True)

    def _make(self) -> None:
        """This run's own directory (only it: its parent must exist)."""
        try:
            self.local.mkdir(exist_ok=True)
        except OSError as exc:
            raise TracerError(f"cannot create the exchange {self.local}: {exc}") from exc

    def put_states(self, part: int, states: dict[Any, Any]) -> str | None:
        """Save the states a partition starts from (before :meth:`write`, which uploads)."""
        if not states:
            return None
        self._make()
        path = self.local / "states" / f"part={part}.pickle"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(pickle.dumps(states, protocol=pickle.HIGHEST_PROTOCOL))
        return path.relative_to(self.local).as_posix()

    def write(self, con: Any, query: str) -> dict[int, list[list[str]]]:
        """Write the events of ``query`` (columns ``part`` and ``chunk`` last); returns each
        partition's files, chunk by chunk, relative to :attr:`url`."""
        self._make()
        target = sql_literal(str(self.local / "events"))
        try:
            con.execute(
                f"COPY ({query}) TO {target} "
                "(FORMAT parquet, PARTITION_BY (part, chunk), COMPRESSION zstd)"
            )
        except Exception as exc:
            raise TracerError(f"cannot write the exchange {self.local}: {exc}") from exc
        chunks: dict[int, dict[int, list[str]]] = {}
        for path in sorted(self.local.glob("events/part=*/chunk=*/*.parquet")):
            part = int(path.parent.parent.name.partition("=")[2])
            chunk = int(path.parent.name.partition("=")[2])
            chunks.setdefault(part, {}).setdefault(chunk, []).append(
                path.relative_to(self.local).as_posix()
            )
            self.bytes += path.stat().st_size
        if self.remote and self.local.exists():
            import fsspec

            fs, path = fsspec.core.url_to_fs(self.url)
            fs.put(str(self.local) + "/", path + "/", recursive=True)
        return {p: [c[k] for k in sorted(c)] for p, c in chunks.items()}
