"""C2SP signed notes and checkpoints with Ed25519 keys, in the formats of Go's ``sumdb/note``.

* verifier key: ``NAME+KEYHASH+BASE64(0x01 ‖ public key)``;
* signer key: ``PRIVATE+KEY+NAME+KEYHASH+BASE64(0x01 ‖ private seed)``;
* ``KEYHASH``: 8 hex digits, the first 4 bytes of ``SHA-256(NAME ‖ "\\n" ‖ 0x01 ‖ public key)``;
* note: the text (ending with a newline), a blank line, then per signature
  ``— NAME BASE64(KEYHASH bytes ‖ Ed25519 signature of the text)``;
* checkpoint text (C2SP tlog-checkpoint): origin, tree size, base64 root hash, one per line.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tracer.errors import TracerError

ALG_ED25519 = 0x01
DASH = "\u2014"
_NAME = re.compile(r"^[^\s+]+$")


class NoteError(TracerError):
    """A key or a note that is malformed, or a signature that does not verify."""


def key_hash(name: str, key: bytes) -> int:
    """The 32-bit key hash of a key (``key`` includes its algorithm byte)."""
    return int.from_bytes(hashlib.sha256(name.encode() + b"\n" + key).digest()[:4], "big")


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise NoteError(f"bad key name {name!r}: it must be non-empty, without spaces or '+'")
    return name


@dataclass(frozen=True)
class Verifier:
    name: str
    hash: int
    public: Ed25519PublicKey

    @classmethod
    def parse(cls, text: str) -> Verifier:
        parts = text.strip().split("+", 2)
        if len(parts) != 3 or len(parts[1]) != 8:
            raise NoteError("malformed verifier key: expected NAME+KEYHASH+BASE64")
        name, hash_hex, b64 = parts
        try:
            key = base64.b64decode(b64, validate=True)
            expected = int(hash_hex, 16)
        except (binascii.Error, ValueError) as exc:
            raise NoteError("malformed verifier key: bad hex or base64") from exc
        if len(key) != 33 or key[0] != ALG_ED25519:
            raise NoteError("verifier key is not an Ed25519 key (0x01 and 32 bytes)")
        if key_hash(_check_name(name), key) != expected:
            raise NoteError(f"verifier key {name}: the key hash does not match the key")
        return cls(name, expected, Ed25519PublicKey.from_public_bytes(key[1:]))

    def __str__(self) -> str:
        raw = self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        key = bytes([ALG_ED25519]) + raw
        return f"{self.name}+{self.hash:08x}+{base64.b64encode(key).decode()}"


@dataclass(frozen=True)
class Signer:
    name: str
    hash: int
    private: Ed25519PrivateKey

    @classmethod
    def generate(cls, name: str) -> Signer:
        private = Ed25519PrivateKey.generate()
        return cls(_check_name(name), _public_hash(name, private), private)

    @classmethod
    def parse(cls, text: str) -> Signer:
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"] or len(parts[3]) != 8:
            raise NoteError("malformed signer key: expected PRIVATE+KEY+NAME+KEYHASH+BASE64")
        name, hash_hex, b64 = parts[2:]
        try:
            key = base64.b64decode(b64, validate=True)
            expected = int(hash_hex, 16)
        except (binascii.Error, ValueError) as exc:
            raise NoteError("malformed signer key: bad hex or base64") from exc
        if len(key) != 33 or key[0] != ALG_ED25519:
            raise NoteError("signer key is not an Ed25519 key (0x01 and a 32-byte seed)")
        private = Ed25519PrivateKey.from_private_bytes(key[1:])
        if _public_hash(_check_name(name), private) != expected:
            raise NoteError(f"signer key {name}: the key hash does not match the key")
        return cls(name, expected, private)

    def verifier(self) -> Verifier:
        return Verifier(self.name, self.hash, self.private.public_key())

    def __str__(self) -> str:
        seed = self.private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        key = base64.b64encode(bytes([ALG_ED25519]) + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.hash:08x}+{key}"

    def sign(self, text: str) -> str:
        """The signed note: ``text``, a blank line and this key's signature line."""
        if not text.endswith("\n") or "\n\n" in text:
            raise NoteError("a note's text must end with a newline and have no blank line")
        signature = self.private.sign(text.encode())
        blob = self.hash.to_bytes(4, "big") + signature
        return f"{text}\n{DASH} {self.name} {base64.b64encode(blob).decode()}\n"


def _public_hash(name: str, private: Ed25519PrivateKey) -> int:
    raw = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return key_hash(name, bytes([ALG_ED25519]) + raw)


@dataclass(frozen=True)
class Signature:
    name: str
    hash: int
    signature: bytes


def split_note(note: str) -> tuple[str, list[Signature]]:
    """The text and the signature lines of a note (nothing verified yet)."""
    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n"):
        raise NoteError("malformed note: no blank line before the signatures")
    text, sigs = note[: cut + 1], note[cut + 2 :]
    found = []
    for line in sigs.splitlines():
        match = re.fullmatch(rf"{DASH} (\S+) (\S+)", line)
        if not match:
            raise NoteError(f"malformed signature line: {line[:60]!r}")
        try:
            blob = base64.b64decode(match[2], validate=True)
        except binascii.Error as exc:
            raise NoteError("malformed signature: bad base64") from exc
        if len(blob) < 5:
            raise NoteError("malformed signature: too short")
        found.append(Signature(match[1], int.from_bytes(blob[:4], "big"), blob[4:]))
    if not found:
        raise NoteError("the note has no signature")
    return text, found


def open_note(note: str, verifier: Verifier) -> str:
    """The text of a note signed by ``verifier``; :class:`NoteError` if it is not."""
    text, sigs = split_note(note)
    mine = [s for s in sigs if s.name == verifier.name and s.hash == verifier.hash]
    if not mine:
        names = ", ".join(f"{s.name}+{s.hash:08x}" for s in sigs)
        raise NoteError(f"the note is not signed by {verifier.name}+{verifier.hash:08x} ({names})")
    try:
        verifier.public.verify(mine[0].signature, text.encode())
    except InvalidSignature as exc:
        raise NoteError(f"the signature of {verifier.name} does not verify") from exc
    return text


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "" or not lines[0]:
            raise NoteError("malformed checkpoint: expected origin, size and root hash lines")
        if not re.fullmatch(r"0|[1-9][0-9]*", lines[1]):
            raise NoteError(f"malformed checkpoint: bad tree size {lines[1][:30]!r}")
        try:
            root = base64.b64decode(lines[2], validate=True)
        except binascii.Error as exc:
            raise NoteError("malformed checkpoint: bad root hash") from exc
        if len(root) != 32:
            raise NoteError("malformed checkpoint: the root hash is not 32 bytes")
        return cls(lines[0], int(lines[1]), root)
