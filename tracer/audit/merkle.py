"""The Merkle tree of RFC 9162 §2.1 (SHA-256): tree hash, inclusion and consistency proofs.

Pure functions over 32-byte hashes. A leaf's hash is ``SHA-256(0x00 ‖ leaf)``, an interior node's
``SHA-256(0x01 ‖ left ‖ right)``; the tree over ``n`` leaves splits at the largest power of two
smaller than ``n``. The proof generators take ``mth(lo, hi)``, the hash of the subtree over
leaves ``lo..hi-1``, so a caller holding precomputed subtrees (``tracer.audit.tree``) answers in
milliseconds; :func:`subtree` gives one over a plain list of leaf hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

Mth = Callable[[int, int], bytes]


def leaf_hash(leaf: bytes) -> bytes:
    """``SHA-256(0x00 ‖ leaf)``."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 ‖ left ‖ right)``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(hashes: Sequence[bytes]) -> bytes:
    """The tree hash over leaf hashes (or over the roots of aligned, equal, power-of-two subtrees
    with a smaller last one: the same tree, one level up). Bottom-up: a level's odd last node
    moves up unchanged, which builds exactly the RFC's left-heavy tree."""
    if not hashes:
        return EMPTY_ROOT
    node = hashlib.sha256(b"\x01").copy  # a copy of the hashed prefix: cheaper than b"\x01" + ...
    level = list(hashes)
    while len(level) > 1:
        odd = level[-1] if len(level) % 2 else None
        level = [
            (h := node()).update(left) or h.update(right) or h.digest()
            for left, right in zip(level[0::2], level[1::2], strict=False)
        ]
        if odd is not None:
            level.append(odd)
    return level[0]


def subtree(hashes: Sequence[bytes]) -> Mth:
    """``mth(lo, hi)`` over a list of leaf hashes."""
    return lambda lo, hi: root(hashes[lo:hi])


def inclusion_proof(index: int, size: int, mth: Mth) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(index, D[size]): the audit path of leaf ``index`` (0-based)."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of {size} leaves")
    path: list[bytes] = []
    lo, hi, m = 0, size, index
    while hi - lo > 1:
        k = split(hi - lo)
        if m < k:
            path.append(mth(lo + k, hi))
            hi = lo + k
        else:
            path.append(mth(lo, lo + k))
            lo, m = lo + k, m - k
    path.reverse()
    return path


def consistency_proof(old: int, new: int, mth: Mth) -> list[bytes]:
    """RFC 9162 §2.1.4.1 PROOF(old, D[new]): that the first ``old`` leaves are a prefix."""
    if not 0 <= old <= new:
        raise ValueError(f"no consistency proof from size {old} to size {new}")
    if old == 0 or old == new:
        return []
    path: list[bytes] = []
    lo, hi, m, complete = 0, new, old, True
    while m != hi - lo:
        k = split(hi - lo)
        if m <= k:
            path.append(mth(lo + k, hi))
            hi = lo + k
        else:
            path.append(mth(lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    if not complete:
        path.append(mth(lo, hi))
    path.reverse()
    return path


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes | None:
    """RFC 9162 §2.1.3.2: the root an inclusion proof leads to, or ``None`` if it is malformed."""
    if not 0 <= index < size or len(leaf) != HASH_SIZE:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0 or len(p) != HASH_SIZE:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def verify_inclusion(
    index: int, size: int, leaf: bytes, path: Sequence[bytes], expected_root: bytes
) -> bool:
    """Whether ``path`` proves leaf hash ``leaf`` at ``index`` in the tree of ``size`` leaves."""
    return root_from_inclusion(index, size, leaf, path) == expected_root


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, path: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: whether ``path`` proves the tree of ``old`` leaves a prefix of ``new``'s."""
    if not 0 <= old <= new:
        return False
    if old == new:
        return not path and old_root == new_root
    if old == 0:
        return not path
    if not path or any(len(p) != HASH_SIZE for p in path):
        return False
    nodes = list(path)
    if old & (old - 1) == 0:  # an exact power of two: the old root is the first node
        nodes.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = nodes[0]
    for c in nodes[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root
