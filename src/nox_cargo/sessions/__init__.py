"""nox session definitions: thin bodies that parse posargs, call the library and report.

`PIPELINE` is the one place that orders the stages; plain `nox` runs it.
"""

from __future__ import annotations

import argparse

import nox

from nox_cargo import cargo_test, doctor, lint
from nox_cargo.console import get_console
from nox_cargo.project import Project
from nox_cargo.sessions.bench import define_bench
from nox_cargo.sessions.build import define_build
from nox_cargo.sessions.docker import define_docker
from nox_cargo.sessions.package import define_package
from nox_cargo.sessions.runner import (
    ArgumentParser,
    add_session,
    define_stage_matrix,
    parser,
    run_stage,
)
from nox_cargo.sessions.wasm import define_wasm
from nox_cargo.sessions.workflows import define_workflows

# The whole pipeline, in order. Stages register themselves below; `nox` runs those present.
PIPELINE = ("lint", "test", "build", "wasm", "bench", "package", "checksums", "verify", "docker")


LINT_DOCS = {
    "fmt": "Check formatting with cargo fmt (`-- --fix` formats the workspace).",
    "clippy": "Lint every target with cargo clippy; warnings are errors by default.",
    "check": "Type-check every target of the workspace with cargo check.",
}
TEST_DOCS = {
    "stable": "Run the workspace tests on the default toolchain (nextest when installed).",
    "msrv": "Run the workspace tests on a toolchain at the workspace's rust-version.",
}


def define_lint(project: Project) -> None:
    def options(p: ArgumentParser) -> None:
        p.add_argument(
            "--fix", action="store_true", help="apply fixes (fmt, clippy) instead of checking"
        )

    define_stage_matrix(
        project,
        "lint",
        "step",
        LINT_DOCS,
        "Lint the workspace with cargo fmt, clippy and check",
        options,
        lambda proj, args, step: lint.run_step(proj, step, args.fix),
    )


def define_test(project: Project) -> None:
    def options(p: ArgumentParser) -> None:
        p.add_argument(
            "runner_args", nargs=argparse.REMAINDER, help="passed to nextest / cargo test"
        )

    define_stage_matrix(
        project,
        "test",
        "toolchain",
        TEST_DOCS,
        "Run the workspace tests on the default toolchain and on the MSRV",
        options,
        lambda proj, args, which: cargo_test.run_tests(proj, which, args.runner_args),
    )


def define_doctor(project: Project) -> None:
    p = parser("doctor", "Show what this machine has for every stage.")

    def show(proj: Project, args: argparse.Namespace) -> None:
        rows = doctor.collect(proj)
        mark = {True: "ok", False: "missing", None: "info"}
        get_console().table(
            "nox-cargo doctor",
            ["area", "item", "status", "detail", "fix"],
            [(r.area, r.item, mark[r.ok], r.detail, r.fix) for r in rows],
        )

    def doctor_session(session: nox.Session) -> None:
        """Show what this machine has for each stage (toolchains, targets, Docker, wasm tools)."""
        run_stage(session, "doctor", show, p, project.root)

    add_session(doctor_session, "doctor", default=False)


# Each stage module contributes a definer; later stages append theirs here.
DEFINERS = [
    define_lint,
    define_test,
    define_doctor,
    define_build,
    define_package,
    define_wasm,
    define_bench,
    define_docker,
    define_workflows,
]


def register_all(project: Project) -> list[str]:
    """Define every session; returns the pipeline stages that exist, in order."""
    for define in DEFINERS:
        define(project)
    registered = set(nox.registry.get())
    return [stage for stage in PIPELINE if stage in registered]
