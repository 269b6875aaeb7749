"""Integration fixtures: throwaway projects around a copy of examples/weft, and nox runs on them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.conftest import WEFT

NOXFILE = "import nox_cargo\n\nnox_cargo.register()\n"
# Static glibc builds for x86_64 and aarch64 (Debian's cross gcc links the latter).
GNU_TARGETS = """\
[[tool.nox-cargo.targets]]
id = "x86_64-gnu"
triple = "x86_64-unknown-linux-gnu"
static = true

[[tool.nox-cargo.targets]]
id = "aarch64-gnu"
triple = "aarch64-unknown-linux-gnu"
linker = "aarch64-linux-gnu-gcc"
static = true
"""


def make_project(root: Path, config: str = "", workspace_dir: str = "weft") -> Path:
    """A project dir holding a copy of weft (no target/), a noxfile and a pyproject config."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(WEFT, root / workspace_dir, ignore=shutil.ignore_patterns("target"))
    (root / "noxfile.py").write_text(NOXFILE)
    (root / "pyproject.toml").write_text(
        f'[tool.nox-cargo]\nworkspace = "{workspace_dir}"\nbinaries = ["weft"]\n{config}'
    )
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "project")


def nox_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The test's environment without CI/GitHub variables (tests opt in to those)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CI", "GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY")
        and not k.startswith(("NOX_CARGO_", "PYTEST_", "CARGO_TARGET_DIR"))
    }
    env.update(extra or {})
    return env


def run_nox(
    project: Path, *args: str, env: Mapping[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """`nox -f project/noxfile.py ARGS` with this interpreter; stdout and stderr merged."""
    return subprocess.run(
        [sys.executable, "-m", "nox", "-f", str(project / "noxfile.py"), *args],
        cwd=project,
        env=nox_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )
