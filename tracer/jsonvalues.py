"""JSON text <-> Python values, exactly: integers of any size, and every value a store may hold.

orjson is fast but not exact at the edges: it reads an integer beyond 64 bits as a float
(``1180591620717411303424`` becomes ``1.1805916207174113e+21``), refuses ``NaN`` and
``Infinity`` tokens, and cannot write such integers at all. Every place that reads or writes the
store's JSON goes through :func:`decode_json` and :func:`encode_json`: orjson first (the fast
path), Python's ``json`` module only for the rare text or value orjson would get wrong.

The loader keeps ``NaN``/``Infinity`` out of the store (rows holding them are rejected with a
reason); :func:`decode_json` still reads them, so a store written by an older tracer stays
readable, and :func:`encode_json` writes them back (``exact=True``) for checkpoints.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson

#: Every digit becomes ``0`` and every other byte a space: a run of 19 digits (the only way a
#: JSON number can hold an integer beyond 64 bits) is then one substring search, in C.
_DIGITS = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
_RUN = b"0" * 19
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1  # what orjson reads and writes as integers
_HUGE = 2.0**63  # orjson reads a longer integer as a float at least this large
_loads, _DecodeError = orjson.loads, orjson.JSONDecodeError
_MAX_DIGITS = getattr(sys, "get_int_max_str_digits", lambda: 4300)() or 10**9
_NON_FINITE = {"nan": b"NaN", "inf": b"Infinity", "-inf": b"-Infinity"}


def decode_json(text: str | bytes | bytearray | memoryview) -> Any:
    """The value of JSON text, integers exact; ``NaN``/``Infinity`` tokens read as floats.

    Raises ``orjson.JSONDecodeError`` (a ``ValueError``) for text that is not JSON.
    """
    try:
        value = _loads(text)
    except _DecodeError:
        return _fallback(text)
    kind = type(value)
    if kind is dict or kind is list or kind is float:
        # (the replay decodes every event's data here: the common case stays two C calls)
        raw = text.encode("utf-8", "surrogatepass") if type(text) is str else bytes(text)
        if _RUN in raw.translate(_DIGITS) and _huge(value):
            return _fallback(text)  # (orjson read an integer beyond 64 bits as a float)
    return value


def _huge(value: Any) -> bool:
    """Whether ``value`` holds a float beyond the 64-bit integers (maybe one that was such an
    integer in the text)."""
    try:
        return _huge_in(value)
    except RecursionError:
        return True


def _huge_in(value: Any) -> bool:
    kind = type(value)
    if kind is float:
        return not -_HUGE < value < _HUGE
    for item in value.values() if kind is dict else value:
        kind = type(item)
        if kind is float:
            if not -_HUGE < item < _HUGE:
                return True
        elif (kind is dict or kind is list) and _huge_in(item):
            return True
    return False


def _fallback(text: str | bytes | bytearray | memoryview) -> Any:
    """Python's reader: exact integers, ``NaN``/``Infinity``; orjson's error when it fails too."""
    try:
        raw = text if isinstance(text, str) else bytes(text).decode("utf-8")
        return json.loads(raw, parse_int=_parse_int)
    except (ValueError, RecursionError):
        return orjson.loads(text)  # (raises orjson's own, precise error)


def _parse_int(text: str) -> int:
    # (Python refuses to read an integer of more than 4,300 digits from text; Decimal does not.)
    return int(text) if len(text) < _MAX_DIGITS else int(Decimal(text))


def encode_json(
    value: Any,
    *,
    option: int = 0,
    default: Callable[[Any], Any] | None = None,
    exact: bool = False,
) -> bytes:
    """JSON bytes for ``value`` with orjson's ``option`` and ``default``; integers of any size
    written exactly.

    orjson writes a float ``NaN`` or infinity as ``null``; with ``exact=True`` (values that are
    read back, such as checkpointed states) they are written as ``NaN``/``Infinity`` tokens, which
    :func:`decode_json` reads back as the same floats.
    """
    try:
        text = orjson.dumps(value, default=default, option=option)
    except orjson.JSONEncodeError as exc:
        if "Recursion limit" in str(exc):  # (orjson writes 255 levels of nesting at most)
            return _python_dumps(value, option, default)
        if "64-bit" not in str(exc):
            raise
        try:
            return orjson.dumps(_exact(value, floats=exact), default=default, option=option)
        except (RecursionError, orjson.JSONEncodeError) as again:
            if isinstance(again, orjson.JSONEncodeError) and "Recursion" not in str(again):
                raise
            return _python_dumps(value, option, default)  # (deep, and integers beyond 64 bits)
    if exact and b"null" in text and _has_non_finite(value):
        return orjson.dumps(_exact(value, floats=True), default=default, option=option)
    return text


def _python_dumps(value: Any, option: int, default: Callable[[Any], Any] | None) -> bytes:
    """Python's writer, for values nested deeper than orjson goes; ``NaN`` and infinities as
    their tokens."""
    indent = 2 if option & orjson.OPT_INDENT_2 else None
    try:
        text = json.dumps(
            value,
            default=default,
            indent=indent,
            separators=(",", ": ") if indent else (",", ":"),
            sort_keys=bool(option & orjson.OPT_SORT_KEYS),
            ensure_ascii=False,
        )
    except (ValueError, RecursionError) as exc:
        raise orjson.JSONEncodeError(f"cannot write JSON: {exc}") from exc
    return text.encode()


def encode_text(value: Any, **options: Any) -> str:
    """:func:`encode_json` as text."""
    return encode_json(value, **options).decode()


def _exact(value: Any, *, floats: bool) -> Any:
    """``value`` with integers orjson cannot write (and, if ``floats``, non-finite floats) as
    JSON fragments orjson copies verbatim."""
    kind = type(value)
    if kind is int:
        if _INT_MIN <= value <= _INT_MAX:
            return value
        # (Decimal writes integers beyond Python's int-to-text limit of 4,300 digits)
        return orjson.Fragment(str(Decimal(value)).encode())
    if kind is float:
        if floats and not math.isfinite(value):
            return orjson.Fragment(_NON_FINITE[repr(value)])
        return value
    if kind is dict:
        return {k: _exact(v, floats=floats) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_exact(v, floats=floats) for v in value]
    return value


def _has_non_finite(value: Any) -> bool:
    kind = type(value)
    if kind is float:
        return not math.isfinite(value)
    if kind is dict:
        return any(_has_non_finite(v) for v in value.values())
    if kind is list or kind is tuple:
        return any(_has_non_finite(v) for v in value)
    return False


__all__ = ["decode_json", "encode_json", "encode_text"]
