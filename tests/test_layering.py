"""The core knows nothing of its clients: importing it never imports Textual or Jupyter."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import tracer

CLIENT_PACKAGES = ("tracer.tui", "tracer.notebook", "tracer.report")
FORBIDDEN = ("textual", "plotly", "ipywidgets", "IPython", "nbclient")


def core_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(tracer.__path__, prefix="tracer."):
        if not info.name.startswith(CLIENT_PACKAGES) and not info.name.endswith("__main__"):
            names.append(info.name)
    return names


def test_core_modules_import_no_ui_or_notebook_packages() -> None:
    modules = core_modules()
    assert "tracer.store" in modules and "tracer.load.ingest" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"loaded = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"core imported: {result.stdout.strip()}"


def _imports() -> dict[str, set[str]]:
    """Every tracer module and the tracer modules it imports (at any depth of its code)."""
    root = Path(tracer.__file__).parent
    graph: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
        graph[name] = {m for m in found if m.startswith("tracer")}
    return graph


def _under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_data_flows_one_way_sources_then_load_then_store() -> None:
    """sources -> load -> store -> replay: no module imports a later stage back."""
    graph = _imports()
    later = {
        "tracer.sources": ("tracer.load", "tracer.replay", "tracer.api", "tracer.cli"),
        "tracer.store": ("tracer.load", "tracer.replay", "tracer.api", "tracer.cli"),
        "tracer.load": ("tracer.replay", "tracer.api", "tracer.cli", "tracer.tui"),
        "tracer.replay": ("tracer.load", "tracer.api", "tracer.cli", "tracer.tui"),
    }
    wrong = [
        f"{module} imports {target}"
        for module, targets in graph.items()
        for stage, banned in later.items()
        if _under(module, stage)
        for target in targets
        if any(_under(target, b) for b in banned)
    ]
    assert wrong == []
