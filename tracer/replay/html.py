"""HTML views of replay results for Jupyter: states with their changed fields highlighted,
diffs, matches and what-if comparisons.

The core's result classes can delegate their ``_repr_html_`` here (imported inside the method,
so the core never imports this module at load time).
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson

from tracer.jsonvalues import encode_text
from tracer.replay.diff import Change
from tracer.replay.paths import format_path, leaves, parse_path

STYLE = """<style>
.tracer-view{font-family:system-ui,sans-serif;font-size:13px;margin:4px 0}
.tracer-view table{border-collapse:collapse;margin-top:4px}
.tracer-view th{text-align:left;font-weight:600;padding:2px 10px 2px 4px;
  border-bottom:1px solid #ccc}
.tracer-view td{padding:2px 10px 2px 4px;vertical-align:top;border-bottom:1px solid #eee}
.tracer-view code{font-family:ui-monospace,monospace;font-size:12px}
.tracer-view .facts{color:#666;font-size:12px;margin-left:6px}
.tracer-view tr.change td{background:#fff3b0;color:#222}
.tracer-view tr.add td{background:#dafbe1;color:#222}
.tracer-view tr.remove td{background:#ffebe9;color:#222}
.tracer-view del{color:#a40e26}
.tracer-view .op{font-size:11px;color:#555}
</style>"""

OP_LABEL = {"change": "changed", "add": "added", "remove": "removed"}
MAX_ROWS = 200


def value_text(value: Any, limit: int = 120) -> str:
    """A value as compact JSON (strings quoted), cut to ``limit`` characters, escaped."""
    if isinstance(value, datetime):
        text = value.isoformat()
    else:
        text = encode_text(value, option=orjson.OPT_NON_STR_KEYS, default=str, exact=True)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return html.escape(text)


def _facts(position: Any, version: Any, time: Any) -> str:
    parts = []
    if position is not None:
        parts.append(f"position {position}")
    if version is not None:
        parts.append(f"version {version}")
    if time is not None:
        parts.append(time.isoformat() if isinstance(time, datetime) else str(time))
    return html.escape(" · ".join(parts) if parts else "no event yet")


def _wrap(title: str, facts: str, body: str) -> str:
    return (
        f"{STYLE}<div class='tracer-view'><b>{title}</b>"
        f"<span class='facts'>{facts}</span>{body}</div>"
    )


def _changes(changes: Any) -> list[Change]:
    if changes is None:
        return []
    return list(getattr(changes, "changes", changes))


def state_table(state: Any, changes: Iterable[Change] = (), max_rows: int = MAX_ROWS) -> str:
    """Every leaf of a state as a row ``path | value``; the paths in ``changes`` highlighted
    (changed: old value struck through; added; removed: listed with their old value)."""
    by_path = {c.path: c for c in changes}
    rows = []
    seen = set()
    for path, value in leaves(state):
        change = by_path.get(path) or next(
            (c for p, c in by_path.items() if _inside(path, p)), None
        )
        seen.add(path)
        rows.append(_state_row(path, value, change))
    for change in by_path.values():
        if change.op == "remove" and change.path not in seen:
            rows.append(
                f"<tr class='remove'><td><code>{html.escape(change.path or '(root)')}</code></td>"
                f"<td><del><code>{value_text(change.old)}</code></del> "
                "<span class='op'>removed</span></td></tr>"
            )
    more = ""
    if len(rows) > max_rows:
        more = f"<div class='facts'>… {len(rows) - max_rows} more fields</div>"
        rows = rows[:max_rows]
    return "<table><tr><th>path</th><th>value</th></tr>" + "".join(rows) + "</table>" + more


def _inside(path: str, parent: str) -> bool:
    """Whether ``path`` lies under ``parent`` (the root holds every path)."""
    if not parent:
        return True
    return path.startswith(parent) and path[len(parent) : len(parent) + 1] in (".", "[")


def _state_row(path: str, value: Any, change: Change | None) -> str:
    cell = f"<code>{value_text(value)}</code>"
    css = ""
    if change is not None:
        css = f" class='{change.op}'"
        if change.op == "change" and change.path == path:
            cell = f"<del><code>{value_text(change.old)}</code></del> → {cell}"
        cell += f" <span class='op'>{OP_LABEL[change.op]}</span>"
    return f"<tr{css}><td><code>{html.escape(path or '(root)')}</code></td><td>{cell}</td></tr>"


def state_html(result: Any, changes: Any = None) -> str:
    """A :class:`~tracer.replay.StateResult` as a table of fields; ``changes`` (a ``Diff`` or
    a list of ``Change``), e.g. what the last event did, are highlighted."""
    name = result.stream if result.stream is not None else "read model"
    projection = getattr(result, "projection", None)
    title = html.escape(str(name)) + (
        f" <span class='facts'>({html.escape(projection)})</span>" if projection else ""
    )
    return _wrap(
        title,
        _facts(result.position, result.version, result.time),
        state_table(result.state, _changes(changes)),
    )


def diff_html(diff: Any) -> str:
    """A ``Diff``: one row per changed path, coloured by operation, old and new values."""
    changes = _changes(diff)
    rows = "".join(
        f"<tr class='{c.op}'><td><code>{html.escape(c.path or '(root)')}</code></td>"
        f"<td class='op'>{OP_LABEL[c.op]}</td>"
        f"<td><code>{value_text(c.old) if c.op != 'add' else ''}</code></td>"
        f"<td><code>{value_text(c.new) if c.op != 'remove' else ''}</code></td></tr>"
        for c in changes
    )
    stream = getattr(diff, "stream", None)
    title = f"{len(changes)} change{'' if len(changes) == 1 else 's'}"
    if stream is not None:
        title += f" in {html.escape(str(stream))}"
    frm, to = getattr(diff, "frm", None), getattr(diff, "to", None)
    facts = f"from position {frm} to {to}" if frm is not None or to is not None else ""
    if not changes:
        return _wrap(title, facts, "<div class='facts'>the states are equal</div>")
    table = f"<table><tr><th>path</th><th>op</th><th>old</th><th>new</th></tr>{rows}</table>"
    return _wrap(title, facts, table)


def match_html(match: Any, changes: Any = None) -> str:
    """A ``find`` match: the event after which the condition holds and the state after it."""
    title = f"match: {html.escape(str(match.type))} in {html.escape(str(match.stream))}"
    facts = _facts(match.position, match.version, match.time)
    if match.event_id:
        facts += html.escape(f" · id {match.event_id}")
    return _wrap(title, facts, state_table(match.state, _changes(changes)))


def whatif_html(result: Any) -> str:
    """A ``WhatIfResult``: per stream (or read-model key) that differs, its fields in the real
    and the what-if replay side by side, the differing ones highlighted."""
    what = []
    if result.skipped:
        what.append("skipped " + ", ".join(map(str, result.skipped)))
    if result.edited:
        what.append("edited " + ", ".join(map(str, result.edited)))
    if result.inserted:
        what.append(f"{result.inserted} inserted")
    facts = html.escape("; ".join(what) or "no change to the log")
    frame = result.differences
    if frame.empty:
        return _wrap(
            "what-if", facts, "<div class='facts'>no state differs from the real replay</div>"
        )
    blocks = []
    for stream, group in frame.groupby("stream", sort=False):
        rows = "".join(
            f"<tr class='{r.op}'><td><code>{html.escape(str(r.path) or '(root)')}</code></td>"
            f"<td><code>{value_text(r.real) if r.op != 'add' else ''}</code></td>"
            f"<td><code>{value_text(r.whatif) if r.op != 'remove' else ''}</code></td></tr>"
            for r in group.itertuples(index=False)
        )
        name = "read model" if stream is None else str(stream)
        blocks.append(
            f"<div style='margin-top:6px'><b>{html.escape(name)}</b><table><tr><th>path</th>"
            f"<th>real</th><th>what-if</th></tr>{rows}</table></div>"
        )
    count = frame["stream"].nunique(dropna=False)
    title = f"what-if: {count} state{'' if count == 1 else 's'} differ"
    return _wrap(title, facts, "".join(blocks))


class HTML:
    """Any of the views above, displayed by Jupyter; ``repr`` is the plain-text version."""

    def __init__(self, markup: str, text: str = "") -> None:
        self.markup = markup
        self.text = text

    def _repr_html_(self) -> str:
        return self.markup

    def __repr__(self) -> str:
        return self.text or "<HTML view>"

    def __str__(self) -> str:
        return self.markup


def show_state(replay: Any, stream: str | None, at: Any = "end") -> HTML:
    """A stream's (or read model's) state at a point, with what its last event changed
    highlighted."""
    result = replay.state(stream, at)
    return HTML(state_html(result, last_change(replay, result)), repr(result))


def last_change(replay: Any, result: Any) -> list[Change]:
    """What the last event folded into a state changed in it (paths relative to the state)."""
    if not result.position:
        return []
    changes = list(replay.event_change(result.position))
    keyed = replay.is_read_model and replay.projection.keyed and result.stream is not None
    if not keyed:
        return changes
    relative = []
    for change in changes:
        segments = parse_path(change.path)
        if segments and segments[0] == str(result.stream):
            relative.append(Change(format_path(segments[1:]), change.op, change.old, change.new))
    return relative
