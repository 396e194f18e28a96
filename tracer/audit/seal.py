"""Keys and seals: ``keygen`` writes an Ed25519 key pair, ``seal`` signs a checkpoint over the
store's events in position order and keeps their hashes beside it (``FILE.leaves``).

A seal is three files: ``FILE``, the C2SP checkpoint signed note (origin, tree size, base64 root
hash); ``FILE.leaves``, the leaf and run hashes (:mod:`tracer.audit.tree`) that let ``verify``
name the first altered event and ``prove`` answer in milliseconds; ``FILE.pub``, the verifier key,
for convenience (an auditor checks against a key obtained another way: ``--key``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from tracer.audit.leaf import ENCODING
from tracer.audit.note import Checkpoint, NoteError, Signer, Verifier, open_note, split_note
from tracer.audit.parallel import store_leaves
from tracer.audit.tree import Tree, read
from tracer.audit.tree import write as write_tree
from tracer.errors import TracerError

if TYPE_CHECKING:
    from tracer.store import Store


def keygen(name: str, out: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write a new signer key to ``out`` (mode 0600) and its verifier key to ``out.pub``."""
    signer = Signer.generate(name)
    path, pub = Path(out), Path(f"{out}.pub")
    if path.exists():
        raise TracerError(f"{path} exists: not overwriting a key")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(f"{signer}\n")
        pub.write_text(f"{signer.verifier()}\n")
    except OSError as exc:
        raise TracerError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return path, pub


def read_signer(path: str | os.PathLike[str]) -> Signer:
    return Signer.parse(_read_text(path, "signer key"))


def read_verifier(path: str | os.PathLike[str]) -> Verifier:
    return Verifier.parse(_read_text(path, "verifier key"))


def _read_text(path: str | os.PathLike[str], what: str) -> str:
    try:
        return Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise TracerError(f"cannot read the {what} {path}: {reason}") from exc


def leaves_path(seal: str | os.PathLike[str]) -> Path:
    return Path(f"{seal}.leaves")


def seal(
    store: Store,
    key: str | os.PathLike[str],
    out: str | os.PathLike[str],
    origin: str | None = None,
    *,
    jobs: int = 1,
) -> tuple[Checkpoint, Signer]:
    """Seal the store's events: write the signed checkpoint ``out``, ``out.leaves``, ``out.pub``."""
    signer = read_signer(key)
    origin = origin or f"tracer/{Path(store.path).name if store.path else 'memory'}"
    if not origin.strip() or "\n" in origin:
        raise TracerError("the origin must be one non-empty line")
    with store.lock:
        loads = store.loads()
    leaves = store_leaves(store, workers=jobs)
    tree = Tree.from_leaves(
        leaves,
        encoding=ENCODING,
        origin=origin,
        sealed_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        store=store.path,
        loads=_loads(loads),
    )
    checkpoint = Checkpoint(origin, tree.size, tree.root())
    note = signer.sign(checkpoint.text())
    target = Path(out)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        write_tree(leaves_path(target), tree)
        Path(f"{target}.pub").write_text(f"{signer.verifier()}\n")
        target.write_text(note)
    except OSError as exc:
        raise TracerError(f"cannot write the seal {target}: {exc.strerror or exc}") from exc
    return checkpoint, signer


def _loads(frame: Any) -> list[dict[str, Any]]:
    """What the store was loaded from, for the record (and to reload a source the same way)."""
    keep = ["load_id", "source", "format", "rows_read", "loaded", "rejected", "duplicates"]
    records = orjson.loads(frame[keep].to_json(orient="records"))
    for record, options in zip(records, frame["options"], strict=True):
        record["options"] = orjson.loads(options) if options else {}
    return records


@dataclass
class Sealed:
    """A seal read back: its checkpoint, the key that verified it, and its hashes if present."""

    path: Path
    checkpoint: Checkpoint
    verifier: Verifier
    key_source: str
    tree: Tree | None

    @property
    def key(self) -> str:
        return f"{self.verifier.name}+{self.verifier.hash:08x}"


class SealError(TracerError):
    """A seal whose signature or content does not check out (exit code 1)."""

    exit_code = 1


def open_seal(path: str | os.PathLike[str], key: str | os.PathLike[str] | None = None) -> Sealed:
    """Read a seal and check its signature with ``key`` (else the ``.pub`` file beside it)."""
    seal_path = Path(path)
    note = _read_text(seal_path, "seal")
    if key is not None:
        verifier, source = read_verifier(key), str(key)
    elif Path(f"{seal_path}.pub").exists():
        verifier, source = read_verifier(f"{seal_path}.pub"), f"{seal_path}.pub (beside the seal)"
    else:
        _, sigs = split_note(note)
        names = ", ".join(s.name for s in sigs)
        raise TracerError(f"no verifier key for {seal_path} (signed by {names}): pass --key PATH")
    try:
        checkpoint = Checkpoint.parse(open_note(note, verifier))
    except NoteError as exc:
        raise SealError(f"{seal_path}: {exc}") from exc
    side = leaves_path(seal_path)
    tree = read(side) if side.exists() else None
    return Sealed(seal_path, checkpoint, verifier, source, tree)


def tree_is_authentic(sealed: Sealed, *, full: bool = True) -> bool:
    """Whether the hashes beside the seal recompute its signed root (``full``: every leaf)."""
    tree = sealed.tree
    if tree is None or tree.size != sealed.checkpoint.size:
        return False
    if tree.root() != sealed.checkpoint.root:
        return False
    return tree.runs_match_leaves() if full else True
