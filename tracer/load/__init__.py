"""The load pipeline: staged source rows -> mapped, validated, de-duplicated rows of ``events``.

``sources`` stage rows; here :mod:`~tracer.load.mapping` says which SQL gives each canonical
field (:mod:`~tracer.load.objects` takes a member of columns that hold objects),
:mod:`~tracer.load.candidates` types and checks them (:mod:`~tracer.load.fast`: clean JSON
Lines in one pass), :mod:`~tracer.load.system` sets KurrentDB's system events aside,
:mod:`~tracer.load.dedupe` drops duplicates and appends,
:mod:`~tracer.load.ingest` runs one load as one transaction and accounts for every row
(:mod:`~tracer.load.report`), and :mod:`~tracer.load.follow` repeats loads as sources grow.
"""

from __future__ import annotations

from tracer.load.follow import follow, follow_in_thread
from tracer.load.ingest import LoadReport, SourceReport, load, load_sources

__all__ = ["LoadReport", "SourceReport", "follow", "follow_in_thread", "load", "load_sources"]
