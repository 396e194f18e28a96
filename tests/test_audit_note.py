"""Signed notes and keys: Go's sumdb/note vectors, and an independent parser in this file."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tracer.audit.note import Checkpoint, NoteError, Signer, Verifier, open_note

# golang.org/x/mod/sumdb/note, note_test.go and example_test.go.
GO_SIGNER = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n— PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
# C2SP signed-note, the example of the specification.
SPEC_VERIFIER = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n— example.com/foo "
    "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)


def independent_open(note: str, vkey: str) -> str:
    """Check a note's Ed25519 signature with nothing but the format's description."""
    name, hash_hex, b64 = vkey.split("+", 2)
    key = base64.b64decode(b64)
    assert key[0] == 1 and len(key) == 33
    assert hashlib.sha256(name.encode() + b"\n" + key).digest()[:4].hex() == hash_hex
    text, _, sigs = note.rpartition("\n\n")
    text += "\n"
    for line in sigs.splitlines():
        dash, signer, blob_b64 = line.split(" ")
        assert dash == "\u2014"
        blob = base64.b64decode(blob_b64)
        if signer == name and blob[:4].hex() == hash_hex:
            Ed25519PublicKey.from_public_bytes(key[1:]).verify(blob[4:], text.encode())
            return text
    raise AssertionError("no signature by this key")


def test_signing_reproduces_the_go_note_byte_for_byte() -> None:
    signer = Signer.parse(GO_SIGNER)
    assert str(signer) == GO_SIGNER
    assert str(signer.verifier()) == GO_VERIFIER
    assert signer.sign(GO_TEXT) == GO_NOTE  # Ed25519 is deterministic


@pytest.mark.parametrize(("note", "vkey"), [(GO_NOTE, GO_VERIFIER), (SPEC_NOTE, SPEC_VERIFIER)])
def test_published_notes_open(note: str, vkey: str) -> None:
    assert open_note(note, Verifier.parse(vkey)) == independent_open(note, vkey)


def test_a_new_key_signs_notes_the_independent_parser_accepts() -> None:
    signer = Signer.generate("audit.example/bank")
    vkey = str(signer.verifier())
    name, hash_hex, b64 = vkey.split("+", 2)
    expected = hashlib.sha256(name.encode() + b"\n" + base64.b64decode(b64)).digest()[:4]
    assert hash_hex == expected.hex()
    text = Checkpoint("audit.example/bank", 3, bytes(range(32))).text()
    note = signer.sign(text)
    assert independent_open(note, vkey) == text
    assert Signer.parse(str(signer)).sign(text) == note


@pytest.mark.parametrize(
    "mangle",
    [
        lambda n: n.replace("problem,", "problem;"),  # the text
        lambda n: n.replace("x08go", "x08gp"),  # the signature
        lambda n: n.replace("PeterNeumann x", "PeterNeumanm x"),  # the key name
    ],
)
def test_altered_notes_do_not_open(mangle) -> None:  # type: ignore[no-untyped-def]
    bad = mangle(GO_NOTE)
    with pytest.raises(NoteError):
        open_note(bad, Verifier.parse(GO_VERIFIER))
    with pytest.raises((AssertionError, InvalidSignature, ValueError)):
        independent_open(bad, GO_VERIFIER)


def test_malformed_keys_are_refused_with_a_reason() -> None:
    for key in (GO_VERIFIER[:-2], GO_VERIFIER.replace("c74f20a3", "c74f20a4"), "nope", ""):
        with pytest.raises(NoteError):
            Verifier.parse(key)
    with pytest.raises(NoteError):
        Signer.parse(GO_VERIFIER)
    with pytest.raises(NoteError):
        Signer.generate("has space")


def test_checkpoint_text_round_trips() -> None:
    cp = Checkpoint("tracer/bank", 1929, hashlib.sha256(b"x").digest())
    lines = cp.text().split("\n")
    assert lines[:2] == ["tracer/bank", "1929"] and lines[3] == ""
    assert base64.b64decode(lines[2]) == cp.root
    assert Checkpoint.parse(cp.text()) == cp
    with pytest.raises(NoteError):
        Checkpoint.parse("tracer/bank\n01\nAAAA\n")
