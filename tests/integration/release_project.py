"""A weft project built once for real (`build(target=x86_64-gnu)`), cloned by release tests."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import REPO
from tests.integration.conftest import make_project, run_nox

TARGET = "x86_64-gnu"
EPOCH = "1700000000"
CONFIG = f"""
[[tool.nox-cargo.targets]]
id = "{TARGET}"
triple = "x86_64-unknown-linux-gnu"
static = true

[tool.nox-cargo.docker]
platforms = {{ "linux/amd64" = "{TARGET}" }}
"""


def env_for(target_dir: Path) -> dict[str, str]:
    return {"CARGO_TARGET_DIR": str(target_dir), "SOURCE_DATE_EPOCH": EPOCH}


def build_project(root: Path, target_dir: Path, extra_config: str = "") -> Path:
    """A project around a copy of weft with the real build stage's dist/ for x86_64-gnu."""
    project = make_project(root, CONFIG + extra_config)
    shutil.copy2(REPO / "Dockerfile", project / "Dockerfile")
    done = run_nox(project, "-s", f"build(target={TARGET})", env=env_for(target_dir))
    assert done.returncode == 0, done.stdout[-4000:]
    return project


def clone(project: Path, root: Path) -> Path:
    """A copy of a built project (sources, config and dist/) to mutate."""
    shutil.copytree(project, root, ignore=shutil.ignore_patterns("target", ".nox"))
    return root
