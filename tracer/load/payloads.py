"""Payloads the store could not give back as they were: SQL that names why, for the loader.

The rule: a value that loads must read back exactly; a value that cannot is rejected with a
reason. DuckDB's JSON reader accepts ``NaN``, ``Infinity`` and ``-Infinity`` tokens (Python's
``json.dumps`` writes them, and the ``eventsourcing`` library stores them), and numbers such as
``1e400`` that no float holds; JSON has no such values, so a row holding one is rejected, with a
reason that names the token. Payload bytes that are neither UTF-8 text nor zlib or gzip
compressed text are staged as ``\\x`` and hex digits (:func:`tracer.sources.base.decode_payload`):
such a payload looks encrypted (the ``eventsourcing`` library's AES cipher writes random-looking
bytes), and the reason says so.

Each check costs two substring searches and one cheap pattern match per row; only rows that
match (a token, or a number with an exponent of three digits, perhaps inside a string) are
looked at closely, with their strings blanked out.
"""

from __future__ import annotations

#: The reason for a payload that is binary: not UTF-8 text, not zlib or gzip compressed text.
ENCRYPTED = "data looks encrypted (binary, not JSON/zlib/gzip): decrypt before loading"

#: An exponent of three digits or more (maybe beyond a float) that ends a number: followed by
#: what follows a number in JSON (hex digits such as ``7e123`` inside ids do not match).
_EXPONENT = r"[eE]\+?[0-9]{3,}([,}\]\s]|$)"
_STRING = r'"(?:[^"\\]|\\.)*"'  # a JSON string, escapes included
_HUGE = r"-?[0-9][0-9.]*[eE]\+?[0-9]{3,}"  # numbers with a large exponent: maybe beyond a float


def unreadable_sql(x: str) -> str:
    """SQL over the JSON ``x``: NULL, or what in it JSON cannot represent, as the end of a
    reason (``NaN, which JSON cannot represent``)."""
    text = f"CAST({x} AS VARCHAR)"
    # The cheap test first (a third of the cost of one pattern for all three).
    suspect = (
        f"contains({text}, 'NaN') OR contains({text}, 'Infinity') "
        f"OR regexp_matches({text}, '{_EXPONENT}')"
    )
    bare = f"regexp_replace(CAST({x} AS VARCHAR), '{_STRING}', '\"\"', 'g')"
    numbers = f"regexp_extract_all({bare}, '{_HUGE}')"
    huge = f"list_filter({numbers}, lambda n: isinf(TRY_CAST(n AS DOUBLE)))[1]"
    return f"""CASE
        WHEN {x} IS NULL OR NOT ({suspect}) THEN NULL
        WHEN regexp_matches({bare}, 'NaN|Infinity')
            THEN regexp_extract({bare}, '-?Infinity|NaN') || ', which JSON cannot represent'
        ELSE {huge} || ', a number beyond the range of a float' END"""


def binary_sql(x: str, kind: str) -> str:
    """SQL: whether the staged payload ``x`` (of DuckDB type ``kind``) is binary, not text."""
    if kind == "BLOB":
        return f"({x} IS NOT NULL AND TRY(decode({x})) IS NULL)"
    if kind == "VARCHAR":
        hex_digits = rf"regexp_full_match({x}, '\\x([0-9a-f]{{2}})+')"
        return rf"CASE WHEN starts_with({x}, '\x') THEN {hex_digits} ELSE false END"
    return "false"
