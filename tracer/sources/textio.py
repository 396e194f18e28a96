"""Reading event files as bytes: plain, gzip or zstd compressed; counting and iterating lines."""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from tracer.errors import SourceError

COMPRESSIONS = {".gz": "gzip", ".zst": "zstd", ".zstd": "zstd"}
BOM = b"\xef\xbb\xbf"  # a UTF-8 byte order mark, as some Windows tools write


def compression_of(path: Path) -> str | None:
    return COMPRESSIONS.get(path.suffix.lower())


def count_lines(path: Path) -> int:
    """Lines in a file, decompressed if need be (a last line without a newline counts).

    DuckDB's readers skip blank lines, so when they yield fewer records than this the sources
    number records the slower, exact way, and every event keeps its true line number.
    """
    lines = 0
    last = b"\n"
    with reading(path), open_binary(path) as handle:
        while chunk := handle.read(1 << 24):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


def head(path: Path, size: int = 1 << 16) -> bytes:
    """The first ``size`` bytes of the file, decompressed."""
    with reading(path), open_binary(path) as handle:
        return handle.read(size)


@contextmanager
def reading(path: Path) -> Iterator[None]:
    """Unreadable or corrupt files (a truncated gzip, bad zstd frames): one clear error."""
    try:
        yield
    except (OSError, EOFError) as exc:
        raise SourceError(f"cannot read {path}: {exc}") from exc
    except Exception as exc:
        if type(exc).__name__ != "ZstdError":
            raise
        raise SourceError(f"cannot read {path}: zstd: {exc}") from exc


def open_binary(path: Path) -> IO[bytes]:
    """The file's bytes, decompressed as its suffix says."""
    kind = compression_of(path)
    if kind == "gzip":
        return gzip.open(path, "rb")
    if kind == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(path.open("rb"), read_across_frames=True)
    return path.open("rb")


def iter_lines(path: Path) -> Iterator[bytes]:
    """The file's lines as bytes, line ends included."""
    with reading(path), open_binary(path) as raw:
        yield from (
            io.BufferedReader(raw, buffer_size=1 << 20)
            if not isinstance(raw, io.BufferedReader)
            else raw
        )
