"""The Merkle tree against RFC 6962/9162 test vectors and an independent implementation.

The vectors are those of the reference implementation's test suite (Certificate Transparency,
now github.com/transparency-dev/merkle, proof/verify_test.go), copied here as data. The
independent implementation below follows the RFC's text (the recursive MTH, PATH and SUBPROOF of
§2.1, the verification algorithms of §2.1.3.2 and §2.1.4.2 written differently: recursion
instead of bit tricks), not the code under test.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracer.audit import merkle
from tracer.audit.tree import Tree

# -- the reference implementation's vectors ------------------------------------------------------

LEAVES = [
    bytes.fromhex(h)
    for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
              "606162636465666768696a6b6c6d6e6f")
]  # fmt: skip
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
# (leaf, as 1-based in the reference suite; tree size; audit path)
INCLUSION = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (3, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (2, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]  # fmt: skip


# -- an independent implementation, from the RFC's text -------------------------------------------


def h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def k_of(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: list[bytes]) -> bytes:
    """MTH of RFC 9162 §2.1.1 over the leaf *inputs*."""
    if not d:
        return h(b"")
    if len(d) == 1:
        return h(b"\x00" + d[0])
    k = k_of(len(d))
    return h(b"\x01" + mth(d[:k]) + mth(d[k:]))


def path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = k_of(len(d))
    if m < k:
        return [*path(m, d[:k]), mth(d[k:])]
    return [*path(m - k, d[k:]), mth(d[:k])]


def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = k_of(n)
    if m <= k:
        return [*subproof(m, d[:k], b), mth(d[k:])]
    return [*subproof(m - k, d[k:], False), mth(d[:k])]


def root_from_path(index: int, size: int, leaf: bytes, proof: list[bytes]) -> bytes | None:
    """Recompute a root from an audit path by walking the tree shape top-down, recursively."""

    def walk(lo: int, hi: int, proof: list[bytes]) -> tuple[bytes, list[bytes]] | None:
        if hi - lo == 1:
            return leaf, proof
        if not proof:
            return None
        k = k_of(hi - lo)
        sibling, rest = proof[-1], proof[:-1]
        if index < lo + k:
            inner = walk(lo, lo + k, rest)
            return None if inner is None else (h(b"\x01" + inner[0] + sibling), inner[1])
        inner = walk(lo + k, hi, rest)
        return None if inner is None else (h(b"\x01" + sibling + inner[0]), inner[1])

    if not 0 <= index < size:
        return None
    out = walk(0, size, list(proof))
    return out[0] if out is not None and not out[1] else None


def consistent(m: int, n: int, old_root: bytes, new_root: bytes, proof: list[bytes]) -> bool:
    """Replay SUBPROOF's recursion over the tree shape, rebuilding both roots from the proof."""
    if m == n:
        return not proof and old_root == new_root
    if m == 0:
        return not proof
    if m > n or not proof:
        return False
    nodes = list(proof)

    def walk(lo: int, hi: int, b: bool) -> tuple[bytes | None, bytes] | None:
        # Returns (hash of the old part of this subtree, or None; hash of the whole subtree).
        if m >= hi:  # the whole subtree is old
            if b:
                return old_root, old_root  # only at the top of a complete old tree
            if not nodes:
                return None
            node = nodes.pop()
            return node, node
        k = k_of(hi - lo)
        if m <= lo + k:
            if not nodes:
                return None
            right = nodes.pop()  # SUBPROOF lists the top sibling last
            left = walk(lo, lo + k, b)
            if left is None:
                return None
            return left[0], h(b"\x01" + left[1] + right)
        left_node = nodes.pop()
        inner = walk(lo + k, hi, False)
        if inner is None or inner[0] is None:
            return None
        return h(b"\x01" + left_node + inner[0]), h(b"\x01" + left_node + inner[1])

    out = walk(0, n, True)
    return out is not None and not nodes and out[0] == old_root and out[1] == new_root


def leaf_hashes(d: list[bytes]) -> list[bytes]:
    return [h(b"\x00" + x) for x in d]


# -- the vectors ----------------------------------------------------------------------------------


def test_roots_of_the_reference_vectors() -> None:
    assert merkle.root([]).hex() == EMPTY
    for n in range(1, 9):
        assert merkle.root(leaf_hashes(LEAVES[:n])).hex() == ROOTS[n - 1]
        assert mth(LEAVES[:n]).hex() == ROOTS[n - 1]  # the independent one agrees


@pytest.mark.parametrize(("leaf", "size", "proof"), INCLUSION)
def test_inclusion_proofs_of_the_reference_vectors(leaf: int, size: int, proof: list[str]) -> None:
    hashes = leaf_hashes(LEAVES[:size])
    made = merkle.inclusion_proof(leaf - 1, size, merkle.subtree(hashes))
    assert [p.hex() for p in made] == proof
    expected = bytes.fromhex(ROOTS[size - 1])
    wanted = [bytes.fromhex(p) for p in proof]
    assert merkle.verify_inclusion(leaf - 1, size, hashes[leaf - 1], wanted, expected)
    assert root_from_path(leaf - 1, size, hashes[leaf - 1], wanted) == expected


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_consistency_proofs_of_the_reference_vectors(old: int, new: int, proof: list[str]) -> None:
    hashes = leaf_hashes(LEAVES[:new])
    made = merkle.consistency_proof(old, new, merkle.subtree(hashes))
    assert [p.hex() for p in made] == proof
    old_root, new_root = bytes.fromhex(ROOTS[old - 1]), bytes.fromhex(ROOTS[new - 1])
    wanted = [bytes.fromhex(p) for p in proof]
    assert merkle.verify_consistency(old, new, old_root, new_root, wanted)
    assert consistent(old, new, old_root, new_root, wanted)


def test_corrupted_reference_proofs_are_refused() -> None:
    """The reference suite's probes: wrong index, size, leaf or root; garbage; a flipped bit."""
    some = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")
    for leaf, size, proof in INCLUSION[1:]:
        i, leaf_h = leaf - 1, leaf_hashes(LEAVES)[leaf - 1]
        r = bytes.fromhex(ROOTS[size - 1])
        p = [bytes.fromhex(x) for x in proof]
        probes = [
            (i - 1, size, leaf_h, p, r), (i + 1, size, leaf_h, p, r), (i ^ 2, size, leaf_h, p, r),
            (i, size * 2, leaf_h, p, r), (i, size // 2, leaf_h, p, r),
            (i, size, b"WrongLeaf", p, r), (i, size, leaf_h, p, bytes.fromhex(EMPTY)),
            (i, size, leaf_h, p, some), (i, size, leaf_h, [*p, b""], r), (i, size, leaf_h, [*p, r], r),
            (i, size, leaf_h, [b"", *p], r), (i, size, leaf_h, [r, *p], r),
        ]  # fmt: skip
        for n in range(len(p)):
            flipped = [bytes([x[0] ^ 8]) + x[1:] if j == n else x for j, x in enumerate(p)]
            probes.append((i, size, leaf_h, flipped, r))
        if p:
            probes.append((i, size, leaf_h, p[:-1], r))
        for probe in probes:
            index, n_, lh, pp, rr = probe
            assert not merkle.verify_inclusion(index, n_, lh, pp, rr), probe
    for old, new, proof in CONSISTENCY[1:]:
        r1, r2 = bytes.fromhex(ROOTS[old - 1]), bytes.fromhex(ROOTS[new - 1])
        p = [bytes.fromhex(x) for x in proof]
        probes = [
            (old - 1, new, r1, r2, p), (old + 1, new, r1, r2, p), (old ^ 2, new, r1, r2, p),
            (old, new * 2, r1, r2, p), (old, new // 2, r1, r2, p),
            (old, new, b"WrongRoot", r2, p), (old, new, r1, b"WrongRoot", p), (old, new, r2, r1, p),
            (old, new, r1, r2, []), (old, new, r1, r2, [*p, b""]), (old, new, r1, r2, [*p, r1]),
            (old, new, r1, r2, [*p, r2]), (old, new, r1, r2, [b"", *p]), (old, new, r1, r2, [r1, *p]),
            (old, new, r1, r2, [r2, *p]), (old, new, r1, r2, [p[0], *p]), (old, new, r1, r2, p[:-1]),
        ]  # fmt: skip
        for n in range(len(p)):
            flipped = [bytes([x[0] ^ 16]) + x[1:] if j == n else x for j, x in enumerate(p)]
            probes.append((old, new, r1, r2, flipped))
        for m, n_, a, b, pp in probes:
            assert not merkle.verify_consistency(m, n_, a, b, pp), (m, n_, pp)


# -- laws, for random trees -------------------------------------------------------------------------

sizes = st.integers(min_value=1, max_value=300)


def data(n: int) -> list[bytes]:
    return [n.to_bytes(4, "big") + i.to_bytes(4, "big") for i in range(n)]


@settings(max_examples=150, deadline=None)
@given(n=sizes, pick=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=255))
def test_every_inclusion_proof_verifies_and_a_flipped_bit_fails(
    n: int, pick: int, bit: int
) -> None:
    d = data(n)
    index = pick % n
    hashes = leaf_hashes(d)
    proof = merkle.inclusion_proof(index, n, merkle.subtree(hashes))
    assert proof == path(index, d)  # the RFC's PATH
    r = mth(d)
    assert merkle.root(hashes) == r
    assert merkle.verify_inclusion(index, n, hashes[index], proof, r)
    assert root_from_path(index, n, hashes[index], proof) == r
    if proof:
        j, b = bit % len(proof), bit % 256
        bad = [bytes([x[0] ^ (1 << (b % 8))]) + x[1:] if k == j else x for k, x in enumerate(proof)]
        assert not merkle.verify_inclusion(index, n, hashes[index], bad, r)
    flipped = bytes([hashes[index][0] ^ 1]) + hashes[index][1:]
    assert not merkle.verify_inclusion(index, n, flipped, proof, r)


@settings(max_examples=150, deadline=None)
@given(n=sizes, pick=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7))
def test_every_consistency_proof_verifies_and_a_flipped_bit_fails(
    n: int, pick: int, bit: int
) -> None:
    d = data(n)
    m = pick % (n + 1)
    hashes = leaf_hashes(d)
    proof = merkle.consistency_proof(m, n, merkle.subtree(hashes))
    assert proof == (subproof(m, d, True) if 0 < m < n else [])
    old_root, new_root = mth(d[:m]), mth(d)
    assert merkle.verify_consistency(m, n, old_root, new_root, proof)
    if 0 < m < n:
        assert consistent(m, n, old_root, new_root, proof)
        bad = [bytes([proof[0][0] ^ (1 << bit)]) + proof[0][1:], *proof[1:]]
        assert not merkle.verify_consistency(m, n, old_root, new_root, bad)
        other = mth([*d[: m - 1], b"changed"])
        assert not merkle.verify_consistency(m, n, other, new_root, proof)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(min_value=1, max_value=2100), pick=st.integers(min_value=0))
def test_run_hashes_give_the_same_tree_and_proofs(n: int, pick: int) -> None:
    """A seal keeps hashes of runs of leaves; subtrees computed from them are the RFC's."""
    hashes = leaf_hashes(data(n))
    tree = Tree.from_leaves(b"".join(hashes), run=64)
    assert tree.root() == merkle.root(hashes)
    index, m = pick % n, pick % (n + 1)
    assert merkle.inclusion_proof(index, n, tree.mth) == merkle.inclusion_proof(
        index, n, merkle.subtree(hashes)
    )
    assert merkle.consistency_proof(m, n, tree.mth) == merkle.consistency_proof(
        m, n, merkle.subtree(hashes)
    )
