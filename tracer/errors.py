"""Errors that reach the user as one clear line."""

from __future__ import annotations


class TracerError(Exception):
    """A problem the user can fix: bad input, a missing file, a malformed option.

    The CLI prints its message on one line and exits with code 2, without a traceback.
    """

    exit_code = 2


class SourceError(TracerError):
    """A source that cannot be opened or read (missing file, unknown format, unreachable server)."""


class MappingError(TracerError):
    """A malformed ``--map`` specification or a mapping that cannot be resolved."""


class StrictLoadError(TracerError):
    """A ``--strict`` load that rejected rows; the store was left exactly as it was."""

    def __init__(self, message: str, report: object) -> None:
        super().__init__(message)
        self.report = report


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
