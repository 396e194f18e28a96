"""``prove``: RFC 9162 inclusion and consistency proofs from a seal's hashes, in milliseconds.

Only what the proof uses is checked against the signed root: the run hashes must recompute the
root, and the run holding the leaf (or the old tree's prefix) must recompute its run hash.
"""

from __future__ import annotations

from typing import Any

from tracer.audit.merkle import consistency_proof, inclusion_proof, root
from tracer.audit.seal import Sealed, SealError
from tracer.audit.tree import Tree
from tracer.audit.verify import first_index


def _tree(sealed: Sealed) -> Tree:
    tree = sealed.tree
    if tree is None:
        raise SealError(f"{sealed.path}.leaves is missing: no proof can be built from this seal")
    if tree.size != sealed.checkpoint.size or tree.root() != sealed.checkpoint.root:
        raise SealError(f"{sealed.path}.leaves does not match the signed root (altered?)")
    return tree


def _check_run(sealed: Sealed, tree: Tree, run_index: int) -> None:
    lo = run_index * tree.run
    hi = min(lo + tree.run, tree.size)
    if root([tree.leaf(i) for i in range(lo, hi)]) != tree.runs[run_index]:
        raise SealError(f"{sealed.path}.leaves: the leaves {lo + 1}..{hi} were altered")


def prefix_root(tree: Tree, size: int) -> bytes:
    """The root of the tree over the first ``size`` leaves."""
    full = size // tree.run
    runs = tree.runs[:full]
    if size % tree.run:
        runs = [*runs, root([tree.leaf(i) for i in range(full * tree.run, size)])]
    return root(runs)


def inclusion(sealed: Sealed, position: int) -> dict[str, Any]:
    """The inclusion proof of the event at ``position`` (1-based) in the sealed log."""
    tree = _tree(sealed)
    size = tree.size
    if not 1 <= position <= size:
        held = f"positions 1..{size}" if size else "it holds no events"
        raise SealError(f"position {position} is not in the seal ({held})")
    index = position - 1
    _check_run(sealed, tree, index // tree.run)
    path = inclusion_proof(index, size, tree.mth)
    return {
        "leaf_index": index,
        "tree_size": size,
        "leaf_hash": tree.leaf(index).hex(),
        "path": [p.hex() for p in path],
        "root": sealed.checkpoint.root.hex(),
    }


def consistency(old: Sealed, new: Sealed) -> dict[str, Any]:
    """The consistency proof that ``new``'s log extends ``old``'s."""
    m, n = old.checkpoint.size, new.checkpoint.size
    if m > n:
        raise SealError(f"{old.path} ({m:,} events) is larger than {new.path} ({n:,} events)")
    tree = _tree(new)
    if m % tree.run:
        _check_run(new, tree, m // tree.run)
    if prefix_root(tree, m) != old.checkpoint.root:
        where = ""
        if old.tree is not None and old.tree.size == m and old.tree.root() == old.checkpoint.root:
            first = first_index(old.tree.leaves, tree.leaves[: len(old.tree.leaves)])
            where = f": they differ from position {first + 1} on"
        raise SealError(f"{new.path} does not extend {old.path}{where}")
    path = consistency_proof(m, n, tree.mth)
    return {"old_size": m, "new_size": n, "path": [p.hex() for p in path]}
