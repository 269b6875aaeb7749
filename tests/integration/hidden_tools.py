"""A PATH without the Debian cross tools: what a fresh machine has before any system package.

`path_without(dest, hidden)` fills `dest` with symlinks to every command on the current PATH
except the hidden ones (first match wins, as for the shell), so rustup's proxies, Python and the
host's cc stay, and cross gccs, MinGW, wine and musl-gcc are gone.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

CROSS_TOOLS = re.compile(
    r"^(aarch64-linux-gnu-.*|x86_64-linux-gnu-gcc.*|arm-linux-gnueabihf-.*|i686-linux-gnu-.*"
    r"|x86_64-w64-mingw32-.*|i686-w64-mingw32-.*|wine.*|musl-gcc|.*-linux-musl-.*)$"
)


def path_without(dest: Path, hidden: re.Pattern[str] = CROSS_TOOLS) -> str:
    dest.mkdir(parents=True, exist_ok=True)
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not directory or not Path(directory).is_dir():
            continue
        for entry in Path(directory).iterdir():
            link = dest / entry.name
            if hidden.match(entry.name) or link.exists() or link.is_symlink():
                continue
            if entry.is_file() and os.access(entry, os.X_OK):
                link.symlink_to(entry)
    return str(dest)
