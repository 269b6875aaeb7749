"""`lint(step=…)` and `test(toolchain=…)`: the cargo checks every contributor runs."""

from __future__ import annotations

import argparse

from nox_cargo.project import Project

LINT_DOCS = {
    "fmt": "Check formatting with cargo fmt (`-- --fix` formats the workspace).",
    "clippy": "Lint every target with cargo clippy; warnings are errors by default.",
    "check": "Type-check every target of the workspace with cargo check.",
}
TEST_DOCS = {
    "stable": "Run the workspace tests on the default toolchain (nextest when installed).",
    "msrv": "Run the workspace tests on a toolchain at the workspace's rust-version.",
}


def run_lint(project: Project, args: argparse.Namespace, step: str) -> None:
    from nox_cargo import lint

    lint.run_step(project, step, args.fix)


def run_test(project: Project, args: argparse.Namespace, which: str) -> None:
    from nox_cargo import cargo_test

    cargo_test.run_tests(project, which, args.passthrough)
