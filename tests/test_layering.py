"""The core knows nothing of its clients: importing it never imports Textual or Jupyter."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import tracer

CLIENT_PACKAGES = ("tracer.tui", "tracer.notebook")
FORBIDDEN = ("textual", "plotly", "ipywidgets", "IPython", "nbclient")


def core_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(tracer.__path__, prefix="tracer."):
        if not info.name.startswith(CLIENT_PACKAGES) and not info.name.endswith("__main__"):
            names.append(info.name)
    return names


def test_core_modules_import_no_ui_or_notebook_packages() -> None:
    modules = core_modules()
    assert "tracer.store" in modules and "tracer.ingest" in modules
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
