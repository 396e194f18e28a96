"""Copying text with the system's clipboard program, where there is one (no Textual here).

Textual's own copy is OSC 52, which many terminals ignore (and tmux drops unless told to keep
it): the app tries a clipboard program first, then OSC 52 in a terminal, and says which.
"""

from __future__ import annotations

import shutil
import subprocess

#: clipboard programs and their arguments, in the order they are tried
PROGRAMS: dict[str, tuple[str, ...]] = {
    "wl-copy": (),
    "xclip": ("-selection", "clipboard"),
    "xsel": ("--clipboard", "--input"),
    "pbcopy": (),
    "clip.exe": (),
}
TIMEOUT = 3.0  # seconds a program may take (one waiting for a display that is not there)


def copy_with_program(text: str) -> str | None:
    """Copy ``text`` with the first clipboard program that takes it; its name, or None when
    none is installed or none works (no display)."""
    data = text.encode()
    for name, args in PROGRAMS.items():
        path = shutil.which(name)
        if path is None:
            continue
        try:
            done = subprocess.run(
                [path, *args],
                input=data,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            continue
        if done.returncode == 0:
            return name
    return None
