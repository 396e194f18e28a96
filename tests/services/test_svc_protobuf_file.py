"""The offline protobuf sample: length-delimited envelopes decoded through a descriptor set."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import tracer
from tracer.errors import TracerError
from tracer.sources.protobuf import write_delimited

SAMPLE = Path(__file__).resolve().parents[2] / "sample_logs" / "proto"
DESC = SAMPLE / "bank_events.desc"


def test_sample_loads_with_one_rejection_for_the_undecodable_heartbeat() -> None:
    store = tracer.open()
    report = store.load(
        str(SAMPLE / "bank_events.binpb"), proto=str(DESC), proto_message="bank.v1.Envelope"
    )
    assert (report.rows_read, report.loaded, report.rejected) == (40, 39, 1)
    rejected = store.rejected()
    assert rejected["source_row"].tolist() == [40]
    assert "Heartbeat" in rejected["reason"][0]

    first = store.event(1)
    assert (first["stream"], first["version"], first["type"]) == (
        "account-acc-1",
        1,
        "AccountOpened",
    )
    assert first["data"] == {"account_id": "acc-1", "owner": "Ada", "currency": "EUR"}
    assert first["meta"]["service"] == "accounts"
    assert str(first["time"]) == "2026-03-02 09:05:36.970000+00:00"
    legs = store.sql(
        """SELECT correlation_id, list(type ORDER BY position) AS types FROM events
           WHERE type LIKE 'Transfer%' GROUP BY correlation_id"""
    )
    assert all(list(t) == ["TransferSent", "TransferReceived"] for t in legs["types"])
    note = store.events(type="NoteAdded")
    assert json.loads(note["data"][0]) == {"note": "customer called about a charge"}
    assert store.load(str(SAMPLE / "bank_events.binpb"), proto=str(DESC)).loaded == 0


def test_proto_source_compiled_at_run_time_gives_the_same_events() -> None:
    from_desc, from_proto = tracer.open(), tracer.open()
    from_desc.load(
        str(SAMPLE / "bank_events.binpb"), proto=str(DESC), proto_message="bank.v1.Envelope"
    )
    try:
        from_proto.load(
            str(SAMPLE / "bank_events.binpb"),
            proto=str(SAMPLE / "bank_events.proto"),
            proto_message="bank.v1.Envelope",
        )
    except TracerError as exc:
        if "install protoc" in str(exc) and not os.environ.get("CI"):
            pytest.skip("no protoc or grpcio-tools to compile .proto files")
        raise
    query = "SELECT event_id, stream, version, type, time, data FROM events ORDER BY position"
    assert from_desc.sql(query).equals(from_proto.sql(query))


def test_truncated_file_and_bad_options_are_reported(tmp_path: Path) -> None:
    sample = (SAMPLE / "bank_events.binpb").read_bytes()
    broken = tmp_path / "broken.binpb"
    broken.write_bytes(sample[:-5])  # the last message is cut short
    store = tracer.open()
    report = store.load(str(broken), proto=str(DESC), proto_message="bank.v1.Envelope")
    assert report.rows_read == 40
    assert "file ends first" in store.rejected()["reason"].iloc[-1]

    empty = tmp_path / "empty.binpb"
    empty.write_bytes(write_delimited([]))
    assert (
        tracer.open().load(str(empty), proto=str(DESC), proto_message="bank.v1.Envelope").rows_read
        == 0
    )

    with pytest.raises(TracerError, match="--proto"):
        tracer.open().load(str(broken))
    with pytest.raises(TracerError, match=r"no message bank\.v1\.Nope"):
        tracer.open().load(str(broken), proto=str(DESC), proto_message="bank.v1.Nope")
    with pytest.raises(TracerError, match="not a protobuf descriptor set"):
        tracer.open().load(str(broken), proto=str(broken), proto_message="bank.v1.Envelope")
