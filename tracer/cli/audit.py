"""``tracer keygen``, ``seal``, ``verify``, ``prove`` and ``audit``: tamper evidence and findings.

Exit codes: 0 verified (or proved); 1 a seal that does not verify, a store that does not match
it, or logs that are not consistent; 2 bad input (a missing file, a malformed key).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import typer

from tracer.cli import app
from tracer.cli.common import (
    DbOption,
    JsonOption,
    console,
    db_path,
    frame_records,
    print_json,
)
from tracer.errors import TracerError

if TYPE_CHECKING:
    from tracer.audit.verify import Verification

JobsOption = typer.Option(
    1, "--jobs", "-j", help="Processes hashing a store file (0 = one per core)."
)
KeyOption = typer.Option(
    None, "--key", help="Verifier key (NAME+HASH+BASE64), default FILE.pub beside the seal."
)


@app.command("keygen")
def keygen_command(
    name: str = typer.Option(..., "--name", help="Key name, e.g. audit.example.com/bank."),
    out: str = typer.Option(..., "--out", help="Private key file; the verifier key goes to .pub."),
    json: bool = JsonOption,
) -> None:
    """Write an Ed25519 signer key and its verifier key (PATH.pub), in the signed-note format."""
    from tracer.audit import keygen

    private, public = keygen(name, out)
    verifier = public.read_text().strip()
    if json:
        print_json({"key": str(private), "verifier_key": str(public), "verifier": verifier})
        return
    console.print(f"signer key   {private} (keep it secret)", highlight=False, soft_wrap=True)
    console.print(f"verifier key {public}: {verifier}", highlight=False, soft_wrap=True)


def _read_store(db: str | None) -> Any:
    from tracer.api import open as open_store

    path = db_path(db)
    if not Path(path).exists():
        raise TracerError(f"no store at {path}: load events first with 'tracer load SOURCE'")
    return open_store(path, read_only=True)


@app.command("seal")
def seal_command(
    key: str = typer.Option(..., "--key", help="Signer key written by 'tracer keygen'."),
    out: str = typer.Option(..., "--out", help="Seal file (a signed checkpoint)."),
    origin: str | None = typer.Option(None, "--origin", help="Log name on the checkpoint."),
    db: str | None = DbOption,
    jobs: int = JobsOption,
    json: bool = JsonOption,
) -> None:
    """Seal the store's events: a signed RFC 9162 tree head over them, in position order."""
    from tracer.audit import seal
    from tracer.audit.seal import leaves_path

    with _read_store(db) as store:
        checkpoint, signer = seal(store, key, out, origin, jobs=jobs or _cores())
    doc = {
        "seal": out,
        "leaves": str(leaves_path(out)),
        "origin": checkpoint.origin,
        "size": checkpoint.size,
        "root": checkpoint.text().splitlines()[2],
        "key": f"{signer.name}+{signer.hash:08x}",
    }
    if json:
        print_json(doc)
        return
    console.print(
        f"sealed {doc['size']:,} events: {out} (origin {doc['origin']}, root {doc['root']}, "
        f"signed by {doc['key']}); hashes in {doc['leaves']}",
        highlight=False,
        soft_wrap=True,
    )


@app.command("verify")
def verify_command(
    file: str = typer.Argument(..., help="Seal file written by 'tracer seal'."),
    db: str | None = DbOption,
    source: list[str] = typer.Option(
        [], "--source", help="Verify these sources instead, loaded afresh (repeatable)."
    ),
    key: str | None = KeyOption,
    format: str | None = typer.Option(None, "--format", help="Format of the sources."),
    table: str | None = typer.Option(None, "--table", help="Table to read from a database."),
    map: list[str] = typer.Option([], "--map", help="FIELD=SPEC, as for 'tracer load'."),
    tz: str | None = typer.Option(None, "--tz", help="Time zone of times without an offset."),
    jobs: int = JobsOption,
    json: bool = JsonOption,
) -> None:
    """Check that the store (or sources) still hold the sealed events; name the first that differs."""
    from tracer.api import open as open_store
    from tracer.audit import open_seal, verify

    sealed = open_seal(file, key)
    if source:
        options = _load_options(sealed, format=format, table=table, mapping=map, tz=tz)
        with open_store(None) as store:
            store.load(*source, **options)
            result = verify(store, sealed)
    else:
        with _read_store(db) as store:
            result = verify(store, sealed, jobs=jobs or _cores())
    _show(result, json=json)
    if not result.ok:
        raise typer.Exit(1)


def _cores() -> int:
    return os.cpu_count() or 1


def _load_options(sealed: Any, **given: Any) -> dict[str, Any]:
    """The options given, else those the sealed store was loaded with (when all loads agree)."""
    if any(given[k] for k in given):
        return {k: v for k, v in given.items() if v}
    loads = (sealed.tree.header.get("loads") if sealed.tree else None) or []
    recorded = {_options_key(load.get("options"), load.get("format")) for load in loads}
    if len(recorded) != 1:
        return {}
    options = dict(loads[0].get("options") or {})
    chosen: dict[str, Any] = {}
    if options.get("map"):
        chosen["mapping"] = options["map"]
    for name in ("tz", "table"):
        if options.get(name):
            chosen[name] = options[name]
    if loads[0].get("format"):
        chosen["format"] = loads[0]["format"]
    return chosen


def _options_key(options: Any, format: Any) -> str:
    return orjson.dumps([options, format], option=orjson.OPT_SORT_KEYS).decode()


def _show(result: Verification, *, json: bool) -> None:
    if json:
        print_json(result.to_dict())
        return
    if result.ok:
        console.print(
            f"[bold green]verified[/] {result.seal}: {result.message}",
            highlight=False,
            soft_wrap=True,
        )
    else:
        console.print(
            f"[bold red]FAILED[/] {result.seal}: {result.message}", highlight=False, soft_wrap=True
        )
    console.print(
        f"  origin {result.origin}, {result.size:,} events sealed, root {result.root}\n"
        f"  signed by {result.key} (key: {result.key_source}); the store holds "
        f"{result.events:,} events; hashes beside the seal: {result.sidecar}",
        highlight=False,
        soft_wrap=True,
    )
    for note in result.notes:
        console.print(f"  [yellow]note:[/] {note}", highlight=False, soft_wrap=True)


@app.command("prove")
def prove_command(
    position: int | None = typer.Argument(None, help="Position of the event to prove."),
    seal_file: str | None = typer.Option(None, "--seal", help="Seal file."),
    old: str | None = typer.Option(None, "--from", help="Earlier seal (consistency proof)."),
    new: str | None = typer.Option(None, "--to", help="Later seal (consistency proof)."),
    key: str | None = KeyOption,
    json: bool = JsonOption,
) -> None:
    """RFC 9162 proofs: inclusion of an event in a seal, or that a later seal extends an earlier."""
    from tracer.audit import consistency, inclusion, open_seal

    if position is not None:
        if seal_file is None or old or new:
            raise TracerError("prove POSITION needs --seal FILE (and no --from/--to)")
        doc = inclusion(open_seal(seal_file, key), position)
    elif old and new:
        if seal_file is not None:
            raise TracerError("prove --from OLD --to NEW takes no --seal")
        doc = consistency(open_seal(old, key), open_seal(new, key))
    else:
        raise TracerError("give POSITION --seal FILE, or --from OLD --to NEW")
    if json:
        print_json(doc)
        return
    for name, value in doc.items():
        if isinstance(value, list):
            console.print(f"{name}:", highlight=False, soft_wrap=True)
            for item in value:
                console.print(f"  {item}", highlight=False, soft_wrap=True)
        else:
            console.print(f"{name}: {value}", highlight=False, soft_wrap=True)


@app.command("audit")
def audit_command(
    db: str | None = DbOption,
    stream: str | None = typer.Option(None, "--stream", help="Only this stream's findings."),
    limit: int = typer.Option(20, "--limit", "-n", help="Rows to show per kind (0 = all)."),
    at: str | None = typer.Option(
        None, "--at", help="Report the states at this point (pos:N, time:ISO-8601, end)."
    ),
    projection: str | None = typer.Option(
        None, "--projection", "-p", help="FILE.py:Name for the report's states."
    ),
    invariant: list[str] = typer.Option(
        [], "--invariant", "-i", help="Expression checked after every event (repeatable)."
    ),
    seal_file: str | None = typer.Option(None, "--seal", help="Seal to verify in the report."),
    key: str | None = KeyOption,
    out: str | None = typer.Option(None, "--out", "-o", help="Write the evidence report here."),
    format: str = typer.Option("html", "--format", help="Report format: html or json."),
    json: bool = JsonOption,
) -> None:
    """Integrity findings; with --out, the evidence report (states at --at, invariants, seal).

    Exit code 1 when an invariant is violated or the seal does not verify.
    """
    if out is None:
        if at or projection or invariant or seal_file:
            raise TracerError(
                "--at, --projection, --invariant and --seal go into a report: add --out FILE"
            )
        _print_findings(db, stream, limit, json=json)
        return
    document = _report(db, at or "end", projection, invariant, seal_file, key, out, format)
    broken = len(document["violations"])
    seal = document["seal"]
    if json:
        print_json({"report": out, "format": format, "violations": broken, "seal": seal})
    else:
        verdict = (
            "no seal" if seal is None else ("seal verified" if seal["verified"] else "seal FAILED")
        )
        console.print(
            f"evidence report {out}: {document['point']['events']:,} events, "
            f"{broken:,} invariant violation{'s' if broken != 1 else ''}, {verdict}",
            highlight=False,
            soft_wrap=True,
        )
    if broken or (seal is not None and not seal["verified"]):
        raise typer.Exit(1)


def _report(
    db: str | None,
    at: str,
    projection: str | None,
    invariants: list[str],
    seal_file: str | None,
    key: str | None,
    out: str,
    format: str,
) -> dict[str, Any]:
    import sys

    from tracer.audit import findings, open_seal, verify
    from tracer.replay import Replay
    from tracer.report import write_report
    from tracer.shapes import payload_shapes

    sealed = open_seal(seal_file, key) if seal_file else None
    with _read_store(db) as store:
        seal = verify(store, sealed).summary() if sealed is not None else None
        found = findings(store)
        shapes = payload_shapes(store)
        return write_report(
            store,
            Replay(store, projection),
            at=at,
            invariants=invariants,
            out=out,
            format=format,
            seal=seal,
            findings=frame_records(found[found["finding"] != "payload_shape"]),
            shapes=shapes,
            command=sys.argv[1:] if sys.argv[1:2] == ["audit"] else None,
        )


def _print_findings(db: str | None, stream: str | None, limit: int, *, json: bool) -> None:
    from tracer.audit import findings

    with _read_store(db) as store:
        frame = findings(store, stream)
    if json:
        print_json(frame_records(frame))
        return
    if not (frame["finding"] != "payload_shape").any():
        console.print("no integrity findings", highlight=False, soft_wrap=True)
    counts = frame["finding"].value_counts(sort=False)
    for kind, count in counts.items():
        rows = frame[frame["finding"] == kind]
        shown = rows if limit == 0 else rows.head(limit)
        console.print(f"[bold cyan]{kind}[/] ({count:,})", highlight=False)
        for row in frame_records(shown):
            console.print(f"  {_where(row)} {row['detail']}", highlight=False, soft_wrap=True)
        if len(shown) < len(rows):
            console.print(f"  [dim]{len(rows) - len(shown):,} more; --limit 0 for all[/]")


def _where(row: dict[str, Any]) -> str:
    """Where a finding sits: position, stream and version, type (what of it is known)."""
    parts = []
    if row.get("position") is not None:
        parts.append(f"position {int(row['position'])}")
    if row.get("stream") is not None:
        version = row.get("version")
        parts.append(row["stream"] + ("" if version is None else f" v{int(version)}"))
    if row.get("type") is not None:
        parts.append(str(row["type"]))
    return " ".join(parts) + ":" if parts else ""
