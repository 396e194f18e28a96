"""Audit: integrity findings, tamper-evident seals (RFC 9162 trees in C2SP signed checkpoints)
and their proofs. Each module has one job: ``merkle`` (the tree and its proofs), ``leaf`` (the
``tracer-leaf-v1`` encoding), ``note`` (signed notes and keys), ``tree`` (a seal's hashes),
``parallel`` (hashing a store file in several processes), ``seal``, ``verify``, ``proofs``
and ``findings``.
"""

from __future__ import annotations

from tracer.audit.findings import findings
from tracer.audit.proofs import consistency, inclusion
from tracer.audit.seal import keygen, open_seal, seal
from tracer.audit.verify import Verification, verify

__all__ = [
    "Verification",
    "consistency",
    "findings",
    "inclusion",
    "keygen",
    "open_seal",
    "seal",
    "verify",
]
