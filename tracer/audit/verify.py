"""``verify``: does the store (or a source loaded afresh) still hold the sealed events?

The store's first ``size`` events are hashed as at sealing time; their tree must reproduce the
signed root. When it does not, the leaf hashes beside the seal (trusted once they recompute the
signed root) name the first position that differs, and how:

* ``changed``: the event there is not the sealed one, and the sealed one is nowhere near;
* ``missing``: the sealed event is gone, the events after it moved up (or the log ends early);
* ``inserted``: an event that is not in the seal comes before the sealed one;
* ``reordered``: the sealed event is further on, and the one in its place belongs later.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from tracer.audit.leaf import event_rows, leaf_bytes
from tracer.audit.merkle import HASH_SIZE
from tracer.audit.parallel import store_leaves
from tracer.audit.seal import Sealed, tree_is_authentic
from tracer.audit.tree import Tree

if TYPE_CHECKING:
    import duckdb

    from tracer.store import Store

#: How many later events are searched for a sealed event that moved.
WINDOW = 4096


@dataclass
class Difference:
    position: int  # the sealed position (1-based) that differs
    how: str  # changed, missing, inserted, reordered
    detail: str
    event: dict[str, Any] | None = None  # the store's event at that place, if any
    source: str | None = None
    line: int | None = None


@dataclass
class Verification:
    ok: bool
    seal: str
    origin: str
    size: int
    root: str
    key: str
    key_source: str
    events: int
    message: str
    sidecar: str = "absent"  # authentic, altered, absent
    difference: Difference | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> dict[str, Any]:
        """What an evidence report shows of the seal: origin, size, root, key, the verdict."""
        return {
            "verified": self.ok,
            "seal": self.seal,
            "origin": self.origin,
            "size": self.size,
            "root": self.root,
            "key": self.key,
            "result": self.message,
        }


def verify(store: Store, sealed: Sealed, *, jobs: int = 1) -> Verification:
    """Check the store against a seal whose signature already verified (:func:`open_seal`);
    ``jobs`` processes hash a store file (see :mod:`tracer.audit.parallel`)."""
    cp = sealed.checkpoint
    cur = store.cursor()
    try:
        events = cur.execute("SELECT count(*) FROM events").fetchall()[0][0]
        leaves = store_leaves(store, cp.size, workers=jobs)
        mine = Tree.from_leaves(leaves)
        result = Verification(
            ok=False,
            seal=str(sealed.path),
            origin=cp.origin,
            size=cp.size,
            root=_b64(cp.root),
            key=sealed.key,
            key_source=sealed.key_source,
            events=events,
            message="",
        )
        if mine.size == cp.size and mine.root() == cp.root:
            result.ok = True
            grown = events - cp.size
            result.message = f"the first {cp.size:,} events reproduce the signed root" + (
                f"; {grown:,} events were added since (not covered by this seal)" if grown else ""
            )
            if sealed.tree is not None and sealed.tree.leaves != leaves:
                result.sidecar = "altered"
                result.notes.append(f"{sealed.path}.leaves does not match the signed root")
            elif sealed.tree is not None:
                result.sidecar = "authentic"
            return result
        if not tree_is_authentic(sealed):
            result.sidecar = "altered" if sealed.tree is not None else "absent"
            why = "was altered" if sealed.tree is not None else "is missing"
            result.message = (
                f"the store's events do not reproduce the signed root, and {sealed.path}.leaves "
                f"{why}: the first differing event cannot be named"
            )
            return result
        result.sidecar = "authentic"
        assert sealed.tree is not None
        diff = first_difference(cur, sealed.tree, leaves)
        result.difference = diff
        where = f"{diff.source}:{diff.line}: " if diff.source and diff.line else ""
        result.message = f"{where}position {diff.position} {diff.how}: {diff.detail}"
        return result
    finally:
        cur.close()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def first_index(sealed: bytes, store: bytes) -> int:
    """The first leaf index where two runs of leaf hashes differ (or the shorter one's length)."""
    n = min(len(sealed), len(store)) // HASH_SIZE
    a = np.frombuffer(sealed, dtype=np.uint8, count=n * HASH_SIZE).reshape(n, HASH_SIZE)
    b = np.frombuffer(store, dtype=np.uint8, count=n * HASH_SIZE).reshape(n, HASH_SIZE)
    differs = np.flatnonzero(np.any(a != b, axis=1))
    return int(differs[0]) if len(differs) else n


def _at(cur: duckdb.DuckDBPyConnection, offset: int, count: int) -> list[dict[str, Any]]:
    rows = cur.execute(
        "SELECT rowid FROM events ORDER BY position LIMIT ? OFFSET ?", [count, offset]
    ).fetchall()
    if not rows:
        return []
    ids = [r[0] for r in rows]
    found = {e["rowid"]: e for e in event_rows(cur, f"rowid IN ({', '.join('?' * len(ids))})", ids)}
    return [found[i] for i in ids]


def _at_position(event: dict[str, Any], position: int) -> bytes:
    return hashlib.sha256(b"\x00" + leaf_bytes({**event, "position": position})).digest()


def first_difference(cur: duckdb.DuckDBPyConnection, tree: Tree, leaves: bytes) -> Difference:
    """Name the first sealed position the store's events differ at, and how."""
    i = first_index(tree.leaves, leaves)
    size = tree.size
    here = _at(cur, i, 1)
    if not here:
        have = len(leaves) // HASH_SIZE
        return Difference(
            i + 1,
            "missing",
            f"the log ends after {have:,} events; sealed positions {i + 1}..{size} are missing",
        )
    event = here[0]
    # Is the event here a sealed event from further on (k > i)?
    k = _sealed_index_of(event, tree, i + 1, size)
    # Is the sealed event i further on in the store?
    later = _at(cur, i + 1, WINDOW)
    target = tree.leaf(i)
    j = next((i + 1 + n for n, e in enumerate(later) if _at_position(e, i + 1) == target), None)
    stored = event["position"]
    moved = f" (stored at position {stored})" if stored != i + 1 else ""
    label = _describe(event)
    if k is not None and j is not None:
        how, detail = (
            "reordered",
            (
                f"the sealed event {i + 1} is at position {j + 1}, and the event here "
                f"({label}) was sealed at position {k + 1}"
            ),
        )
    elif k is not None:
        how, detail = (
            "missing",
            (
                f"{_gone(i, k)} missing: the event here{moved} "
                f"({label}) was sealed at position {k + 1}"
            ),
        )
    elif j is not None:
        how, detail = (
            "inserted",
            (
                f"the event here{moved} ({label}) is not in the seal; the sealed event {i + 1} "
                f"follows at position {j + 1}"
            ),
        )
    else:
        how, detail = "changed", f"the event here{moved} ({label}) is not the sealed one"
    return Difference(
        i + 1, how, detail, _public(event), event.get("source"), event.get("source_row")
    )


def _sealed_index_of(event: dict[str, Any], tree: Tree, start: int, stop: int) -> int | None:
    """The sealed index ``k`` in ``start..stop-1`` whose leaf is this event placed at ``k + 1``."""
    text = leaf_bytes({**event, "position": 0})
    cut = text.rfind(b',"position":0,')
    if cut < 0:
        return None
    head, tail = b"\x00" + text[: cut + 12], text[cut + 13 :]
    sha = hashlib.sha256
    leaves = tree.leaves
    for k in range(start, stop):
        if sha(head + str(k + 1).encode() + tail).digest() == leaves[k * 32 : k * 32 + 32]:
            return k
    return None


def _gone(i: int, k: int) -> str:
    if k == i + 1:
        return f"the sealed event {i + 1} is"
    return f"the sealed events {i + 1}..{k} are"


def _describe(event: dict[str, Any]) -> str:
    return f"{event['stream']} version {event['version']} {event['type']}, id {event['event_id']}"


def _public(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != "rowid"}
