"""A sealed log's hashes: the leaf hashes and the hashes of fixed runs of leaves, and the file
beside a seal that keeps them (``FILE.leaves``).

Runs are aligned subtrees of ``RUN`` leaves (a power of two; the last run may be shorter), so the
tree over the run hashes is the RFC 9162 tree over the leaves, and any subtree a proof needs is
either inside one run or a range of runs: proofs cost a few thousand hashes whatever the size.
The file is trusted only as far as it recomputes the signed root (:meth:`Tree.root`).

File layout: the line ``tracer-leaves-v1``, one line of JSON (``encoding``, ``size``, ``run``
and where the events came from), then ``size`` leaf hashes and the run hashes, 32 bytes each.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from tracer.audit.merkle import HASH_SIZE, root
from tracer.errors import TracerError

MAGIC = b"tracer-leaves-v1\n"
RUN = 1024


def run_hashes(leaves: bytes, run: int = RUN) -> list[bytes]:
    """The root of each aligned run of ``run`` leaf hashes (the last may be shorter)."""
    step = run * HASH_SIZE
    return [
        root([leaves[j : j + HASH_SIZE] for j in range(i, min(i + step, len(leaves)), HASH_SIZE)])
        for i in range(0, len(leaves), step)
    ]


@dataclass
class Tree:
    """Leaf hashes (concatenated) and their run hashes."""

    leaves: bytes
    runs: list[bytes]
    run: int = RUN
    header: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_leaves(cls, leaves: bytes, run: int = RUN, **header: Any) -> Tree:
        return cls(leaves, run_hashes(leaves, run), run, dict(header))

    @property
    def size(self) -> int:
        return len(self.leaves) // HASH_SIZE

    def leaf(self, index: int) -> bytes:
        return self.leaves[index * HASH_SIZE : (index + 1) * HASH_SIZE]

    def root(self) -> bytes:
        return root(self.runs)

    def mth(self, lo: int, hi: int) -> bytes:
        """The hash of the subtree over leaves ``lo..hi-1`` (a node of the RFC tree)."""
        if hi - lo <= self.run:
            return root([self.leaf(i) for i in range(lo, hi)])
        return root(self.runs[lo // self.run : -(-hi // self.run)])

    def runs_match_leaves(self) -> bool:
        """Whether the run hashes are those of the leaf hashes (a whole pass over the leaves)."""
        return run_hashes(self.leaves, self.run) == self.runs


def write(path: str | os.PathLike[str], tree: Tree) -> Path:
    out = Path(path)
    header = {**tree.header, "size": tree.size, "run": tree.run}
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(MAGIC)
        fh.write(orjson.dumps(header) + b"\n")
        fh.write(tree.leaves)
        fh.write(b"".join(tree.runs))
    tmp.replace(out)
    return out


def read(path: str | os.PathLike[str]) -> Tree:
    """Read a ``.leaves`` file; a malformed one is a :class:`TracerError`."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise TracerError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not raw.startswith(MAGIC):
        raise TracerError(f"{path} is not a tracer leaves file")
    end = raw.find(b"\n", len(MAGIC))
    try:
        header = orjson.loads(raw[len(MAGIC) : end])
        size, run = int(header["size"]), int(header["run"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise TracerError(f"{path}: bad header") from exc
    body = raw[end + 1 :]
    runs = -(-size // run) if run > 0 else -1
    if run <= 0 or run & (run - 1) or len(body) != (size + runs) * HASH_SIZE:
        raise TracerError(f"{path}: {len(body)} bytes of hashes do not fit {size} leaves")
    cut = size * HASH_SIZE
    runs_bytes = body[cut:]
    run_list = [runs_bytes[i : i + HASH_SIZE] for i in range(0, len(runs_bytes), HASH_SIZE)]
    return Tree(body[:cut], run_list, run, header)
