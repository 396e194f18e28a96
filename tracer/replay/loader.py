"""Finding a projection: a class, an instance, ``path/to/file.py:Name`` or ``package.module:Name``."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from tracer.errors import TracerError
from tracer.replay.projection import DefaultProjection, Projection, ReadModel


class ProjectionLoadError(TracerError):
    """A projection that cannot be found or built."""


def load_projection(spec: Any) -> Projection:
    """A projection instance from ``None`` (the default), a class, an instance or a spec string."""
    if spec is None:
        return DefaultProjection()
    if isinstance(spec, Projection):
        return spec
    if isinstance(spec, type) and issubclass(spec, Projection):
        return _instantiate(spec)
    if not isinstance(spec, str):
        raise ProjectionLoadError(f"not a projection: {spec!r}")
    text = spec.strip()
    if text.lower() in ("", "default"):
        return DefaultProjection()
    target, _, name = text.rpartition(":") if _has_name(text) else (text, "", "")
    module = _module(target or text)
    return _instantiate(_pick(module, name, spec))


def _has_name(text: str) -> bool:
    # "C:\\dir\\file.py" has a drive colon, not a class name.
    head, sep, tail = text.rpartition(":")
    return bool(sep) and bool(head) and "/" not in tail and "\\" not in tail and tail != ""


def _module(target: str) -> ModuleType:
    path = Path(target)
    if target.endswith(".py") or path.exists():
        if not path.is_file():
            raise ProjectionLoadError(f"no projection file {target}")
        resolved = path.resolve()
        name = "tracer_projection_" + hashlib.sha1(str(resolved).encode()).hexdigest()[:12]
        spec = importlib.util.spec_from_file_location(name, resolved)
        if spec is None or spec.loader is None:
            raise ProjectionLoadError(f"cannot import {target}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        folder = str(resolved.parent)
        if folder not in sys.path:  # (its own modules beside it import, as for a script)
            sys.path.append(folder)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(name, None)
            raise ProjectionLoadError(
                f"cannot import {target}: {type(exc).__name__}: {exc}"
            ) from exc
        return module
    try:
        return importlib.import_module(target)
    except ImportError as exc:
        raise ProjectionLoadError(
            f"cannot import module {target!r}: {exc} (use path/to/file.py:Name or package.module:Name)"
        ) from exc


def _pick(module: ModuleType, name: str, spec: str) -> type[Projection]:
    candidates = [
        value
        for value in vars(module).values()
        if inspect.isclass(value)
        and issubclass(value, Projection)
        and value not in (Projection, ReadModel, DefaultProjection)
        and value.__module__ == module.__name__
    ]
    names = ", ".join(sorted(c.__name__ for c in candidates)) or "none"
    if name:
        found = getattr(module, name, None)
        if found is None:
            where = spec.rpartition(":")[0] or module.__name__
            raise ProjectionLoadError(f"{spec}: no {name!r} in {where} (projections: {names})")
        if isinstance(found, Projection):
            return type(found)
        if not (isinstance(found, type) and issubclass(found, Projection)):
            raise ProjectionLoadError(f"{spec}: {name} is not a Projection subclass")
        return found
    if len(candidates) != 1:
        raise ProjectionLoadError(f"{spec}: name the projection as {spec}:Name (found: {names})")
    return candidates[0]


def _instantiate(cls: type[Projection]) -> Projection:
    try:
        return cls()
    except Exception as exc:
        raise ProjectionLoadError(
            f"cannot create projection {cls.__name__}: {type(exc).__name__}: {exc}"
        ) from exc
