"""nox-cargo's own tool directory: PyPI and crates.io tools live here, never in the user's
environment (no pip install into the running Python, no `cargo install` into ~/.cargo).

    <tools-dir>/pypi/<project>/          pip install --target (bin/ holds its commands)
    <tools-dir>/cargo/bin/               cargo install --root

The default is the user's cache directory, so every project and every test shares one download;
`tools-dir` in the config (or NOX_CARGO_TOOLS_DIR) moves it.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from nox_cargo.provision.needs import Need


def default_tools_dir(environ: Mapping[str, str], platform: str = sys.platform) -> Path:
    """The per-user cache directory of nox-cargo's tools on this OS."""
    home = Path(environ.get("HOME") or Path.home())
    if platform == "win32":
        base = Path(environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
        return base / "nox-cargo" / "tools"
    if platform == "darwin":
        return home / "Library" / "Caches" / "nox-cargo" / "tools"
    cache = environ.get("XDG_CACHE_HOME")
    return (Path(cache) if cache else home / ".cache") / "nox-cargo" / "tools"


def _normalized(project: str) -> str:
    """A PyPI name as its .dist-info directory spells it (PEP 503 / wheel names)."""
    return re.sub(r"[-_.]+", "_", project).lower()


@dataclass(frozen=True)
class ToolDir:
    root: Path

    @classmethod
    def for_config(cls, configured: str, base: Path, environ: Mapping[str, str]) -> ToolDir:
        if configured:
            path = Path(configured).expanduser()
            return cls(path if path.is_absolute() else (base / path).resolve())
        return cls(default_tools_dir(environ))

    def pypi_dir(self, project: str) -> Path:
        return self.root / "pypi" / _normalized(project)

    @property
    def cargo_root(self) -> Path:
        return self.root / "cargo"

    def has_pypi(self, project: str) -> bool:
        directory = self.pypi_dir(project)
        if not directory.is_dir():
            return False
        prefix = _normalized(project) + "-"
        return any(
            p.name.lower().startswith(prefix) and p.name.endswith(".dist-info")
            for p in directory.iterdir()
        )

    def bin_dirs(self) -> list[Path]:
        """Where the installed tools' commands are, for PATH (ziglang's `zig` included)."""
        dirs: list[Path] = []
        pypi = self.root / "pypi"
        if pypi.is_dir():
            for project in sorted(pypi.iterdir()):
                for sub in ("bin", "Scripts", "ziglang"):
                    if (project / sub).is_dir():
                        dirs.append(project / sub)
        if (self.cargo_root / "bin").is_dir():
            dirs.append(self.cargo_root / "bin")
        return dirs

    def path_value(self, environ: Mapping[str, str]) -> str:
        """PATH with the tool directory's commands first."""
        parts = [str(d) for d in self.bin_dirs()]
        current = environ.get("PATH", "")
        return os.pathsep.join([*parts, current] if current else parts)

    def env(self, environ: Mapping[str, str]) -> dict[str, str]:
        """What a command needs to find the tools (only PATH changes)."""
        return {"PATH": self.path_value(environ)} if self.bin_dirs() else {}

    def which(self, command: str, environ: Mapping[str, str]) -> str | None:
        return shutil.which(command, path=self.path_value(environ))

    def provides(self, need: Need, environ: Mapping[str, str]) -> bool:
        """A PyPI or crates.io tool is present: in this directory, or its commands on PATH."""
        if need.kind == "pypi" and self.has_pypi(need.name):
            return True
        if need.kind == "crate" and all(
            (self.cargo_root / "bin" / c).exists() for c in need.provides or (need.name,)
        ):
            return True
        # On PATH, or in the tool dir as another tool's dependency (ziglang with cargo-zigbuild).
        return bool(need.provides) and all(self.which(c, environ) for c in need.provides)
