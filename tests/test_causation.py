"""``tracer trace``: the causation tree of any event, and the rest of its correlation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tracer
from tracer.causation import trace
from tracer.cli import main


def write_log(path: Path, parents: list[int | None], correlation: list[str]) -> None:
    """Event i (1-based position) is caused by event parents[i-1] (a position) or a command."""
    lines = []
    for i, parent in enumerate(parents, start=1):
        cause = f"ev-{parent}" if parent is not None else f"cmd-{i}"
        meta = {"correlation_id": correlation[i - 1], "causation_id": cause}
        lines.append(
            json.dumps(
                {
                    "id": f"ev-{i}",
                    "stream": f"s-{i % 3}",
                    "type": f"T{i % 4}",
                    "time": f"2026-01-01T00:00:{i % 60:02d}Z",
                    "data": {"i": i},
                    "meta": meta,
                }
            )
        )
    path.write_text("\n".join(lines) + "\n")


def descendants(parents: list[int | None], root: int) -> set[int]:
    found, frontier = {root}, [root]
    while frontier:
        node = frontier.pop()
        for child, parent in enumerate(parents, start=1):
            if parent == node and child not in found:
                found.add(child)
                frontier.append(child)
    return found


def root_of(parents: list[int | None], position: int) -> int:
    while parents[position - 1] is not None:
        position = parents[position - 1]
    return position


@st.composite
def forests(draw: st.DrawFn) -> list[int | None]:
    """A log where each event is caused by an earlier one or by a command outside the log."""
    size = draw(st.integers(1, 40))
    return [
        draw(st.one_of(st.none(), st.integers(1, i - 1))) if i > 1 else None
        for i in range(1, size + 1)
    ]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(parents=forests(), data=st.data())
def test_the_tree_is_the_roots_descendants_whatever_event_is_traced(
    tmp_path: Path, parents: list[int | None], data: st.DataObject
) -> None:
    log = tmp_path / "log.jsonl"
    write_log(log, parents, ["corr"] * len(parents))
    with tracer.open() as store:
        store.load(str(log))
        position = data.draw(st.integers(1, len(parents)))
        trail = trace(store, position)
    root = root_of(parents, position)
    assert trail.root.position == root
    assert trail.external_cause == f"cmd-{root}"
    in_tree = [node.position for _, node in trail.root.walk()]
    assert sorted(in_tree) == sorted(descendants(parents, root))
    for _, node in trail.root.walk():  # every child really was caused by its parent
        assert all(parents[child.position - 1] == node.position for child in node.children)
        assert [c.position for c in node.children] == sorted(c.position for c in node.children)
    # every other event shares the correlation, so it is listed apart, each once
    assert sorted(n.position for n in trail.correlated) == sorted(
        set(range(1, len(parents) + 1)) - set(in_tree)
    )


def test_cli_traces_by_position_or_id_as_a_tree_and_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 1 <- 2 <- 3, 1 <- 4; 5 is of the same correlation but caused by another command
    log, db = tmp_path / "orders.jsonl", str(tmp_path / "t.duckdb")
    write_log(log, [None, 1, 2, 1, None, None], ["c1"] * 5 + ["c2"])
    assert main(["load", str(log), "--db", db, "-q"]) == 0
    capsys.readouterr()

    assert main(["trace", "ev-3", "--db", db, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    root = document["root"]
    assert (root["position"], root["event_id"]) == (1, "ev-1")
    assert [c["position"] for c in root["children"]] == [2, 4]
    assert root["children"][0]["children"][0]["event_id"] == "ev-3"
    assert [n["position"] for n in document["correlated"]] == [5]
    assert document["external_cause"] == "cmd-1"

    assert main(["trace", "3", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "4 events in the causation tree" in out and "1 more of correlation c1" in out
    assert "#3" in out and "#5" in out and "#6" not in out


def test_the_double_withdrawal_shows_its_twin_in_the_same_request(
    bank_store: tracer.Store,
) -> None:
    trail = trace(bank_store, 798)
    assert trail.root.position == 798 and trail.root.children == []
    assert [n.position for n in trail.correlated] == [797]  # the same ATM request, applied twice


def test_unknown_events_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log, db = tmp_path / "l.jsonl", str(tmp_path / "t.duckdb")
    write_log(log, [None, 1], ["c", "c"])
    main(["load", str(log), "--db", db, "-q"])
    capsys.readouterr()
    assert main(["trace", "99", "--db", db]) == 2
    assert "no event at position 99 (the log has 2)" in capsys.readouterr().err
    assert main(["trace", "ev-404", "--db", db]) == 2
    assert "no event with id 'ev-404'" in capsys.readouterr().err


def test_a_causation_cycle_ends_the_walk(tmp_path: Path) -> None:
    log = tmp_path / "cycle.jsonl"
    rows = [
        {"id": "a", "stream": "s", "type": "T", "meta": {"causation_id": "b"}},
        {"id": "b", "stream": "s", "type": "T", "meta": {"causation_id": "a"}},
    ]
    log.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with tracer.open() as store:
        store.load(str(log))
        trail = trace(store, 1)
    assert {node.position for _, node in trail.root.walk()} == {1, 2}
