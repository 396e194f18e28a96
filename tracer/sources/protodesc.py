"""Protobuf descriptors: a descriptor set (or a ``.proto`` file compiled at run time) as a pool.

``--proto FILE.desc`` names a descriptor set (``protoc --include_imports --descriptor_set_out``);
a ``.proto`` file is compiled when ``protoc`` or ``grpcio-tools`` is installed. ``--type-map``
names the message of each payload type. Decoding is :mod:`tracer.sources.protobuf`.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from tracer.errors import SourceError


def protobuf_modules() -> Any:
    """The protobuf modules this package uses (descriptor_pb2, descriptor_pool, message_factory)."""
    try:
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    except ImportError as exc:  # pragma: no cover - protobuf is a dependency
        raise SourceError("protobuf decoding needs the 'protobuf' package") from exc
    return descriptor_pb2, descriptor_pool, message_factory


def compile_proto(path: Path) -> bytes:
    """A descriptor set for a ``.proto`` file, compiled with ``protoc`` or ``grpcio-tools``."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "set.desc"
        args = [f"-I{path.parent}", "--include_imports", f"--descriptor_set_out={out}", str(path)]
        protoc = shutil.which("protoc")
        if protoc:
            done = subprocess.run([protoc, *args], capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise SourceError(f"protoc cannot compile {path}: {done.stderr.strip()[:300]}")
        else:
            try:
                from grpc_tools import protoc as grpc_protoc  # type: ignore[import-not-found]
            except ImportError as exc:
                raise SourceError(
                    f"cannot compile {path}: install protoc (or grpcio-tools), or pass a "
                    "descriptor set made with protoc --include_imports --descriptor_set_out"
                ) from exc
            if grpc_protoc.main(["protoc", *args]) != 0:
                raise SourceError(f"cannot compile {path} with grpcio-tools")
        return out.read_bytes()


def load_pool(proto: str | Path) -> Any:
    """A descriptor pool holding every message of a descriptor set (or a ``.proto`` file)."""
    return load_descriptors(proto)[0]


def load_descriptors(proto: str | Path) -> tuple[Any, list[str]]:
    """The pool of a descriptor set (or ``.proto`` file) and its own messages' full names."""
    descriptor_pb2, descriptor_pool, _ = protobuf_modules()
    path = Path(proto)
    if not path.is_file():
        raise SourceError(f"no such descriptor set: {path}")
    raw = compile_proto(path) if path.suffix == ".proto" else path.read_bytes()
    try:
        files = descriptor_pb2.FileDescriptorSet.FromString(raw).file
    except Exception as exc:
        raise SourceError(f"{path} is not a protobuf descriptor set: {exc}") from exc
    if not files:
        raise SourceError(f"{path} is not a protobuf descriptor set (no files in it)")
    pool = descriptor_pool.DescriptorPool()
    known = {f.name for f in files}
    for name in {dep for f in files for dep in f.dependency} - known:
        _add_well_known(pool, name, path)
    try:
        for file in files:
            pool.Add(file)
    except Exception as exc:
        raise SourceError(f"cannot use descriptor set {path}: {exc}") from exc
    names = []
    for file in files:
        if file.package.startswith("google.protobuf"):
            continue
        prefix = f"{file.package}." if file.package else ""
        names.extend(prefix + m.name for m in file.message_type)
    return pool, names


def _add_well_known(pool: Any, name: str, path: Path) -> None:
    """Descriptor sets made without --include_imports may still use google/protobuf/*.proto."""
    descriptor_pb2, descriptor_pool, _ = protobuf_modules()
    try:
        found = descriptor_pool.Default().FindFileByName(name)
    except KeyError:
        raise SourceError(
            f"descriptor set {path} lacks {name}: make it with protoc --include_imports"
        ) from None
    proto = descriptor_pb2.FileDescriptorProto()
    found.CopyToProto(proto)
    pool.Add(proto)


def parse_type_map(value: object) -> dict[str, str]:
    """``{"Deposited": "bank.Deposited"}`` from a dict or ``"Deposited=bank.Deposited,..."``."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    result = {}
    for item in items:
        key, sep, name = str(item).partition("=")
        if not sep or not key.strip() or not name.strip():
            raise SourceError(f"bad --type-map entry '{item}': expected TYPE=package.Message")
        result[key.strip()] = name.strip()
    return result
