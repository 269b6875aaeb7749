"""nox sessions of this repository: the Rust pipeline on examples/weft, and nox-cargo's own checks.

`nox -l` lists them. The pipeline's sessions come from nox_cargo.register(), configured by
[tool.nox-cargo] in pyproject.toml; the `py-*` sessions check nox-cargo itself and install their
tools from poetry.lock through nox-poetry.
"""

from __future__ import annotations

import nox
from nox_poetry import Session as PoetrySession

import nox_cargo

nox_cargo.register()

PYTHON = "3.11"


@nox.session(name="py-tests", python=PYTHON, default=False, tags=["python"])
def py_tests(session: nox.Session) -> None:
    """nox-cargo's own test suite (unit + integration) under pytest-xdist."""
    poetry = PoetrySession(session)
    poetry.install(".", "pytest", "pytest-xdist", "wasmtime")
    session.run("pytest", "-n", "auto", *(session.posargs or ["tests"]))


@nox.session(name="py-lint", python=PYTHON, default=False, tags=["python"])
def py_lint(session: nox.Session) -> None:
    """nox-cargo's own Python lint: ruff check and ruff format --check."""
    PoetrySession(session).install("ruff")
    session.run("ruff", "check", "src", "tests", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "tests", "noxfile.py")


@nox.session(name="py-types", python=PYTHON, default=False, tags=["python"])
def py_types(session: nox.Session) -> None:
    """nox-cargo's own type check: mypy --strict over src, tests and this noxfile."""
    PoetrySession(session).install(".", "mypy", "pytest", "nox-poetry")
    session.run("mypy", "--strict")
