"""Workspace tests: cargo-nextest when installed (JUnit XML in target/nox-cargo/), or cargo test."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from nox_cargo.build import toolchain as tc
from nox_cargo.console import get_console
from nox_cargo.diagnose import explain
from nox_cargo.errors import CommandFailed, ToolchainError, Unavailable
from nox_cargo.fsutil import atomic_copy, atomic_write_text
from nox_cargo.process import run
from nox_cargo.project import Project

TOOLCHAINS = ("stable", "msrv")
NEXTEST_PROFILE = "nox-cargo"
NEXTEST_TOOL_CONFIG = f"""\
# Written by nox-cargo: a profile whose JUnit report nox-cargo collects.
[profile.{NEXTEST_PROFILE}]
fail-fast = false

[profile.{NEXTEST_PROFILE}.junit]
path = "junit.xml"
"""


@dataclass(frozen=True)
class TestPlan:
    """Everything needed to run (or show) one test run."""

    argv: list[str]
    env: dict[str, str]
    toolchain: str
    runner: str  # "nextest" | "cargo"
    junit_from: Path | None
    junit_to: Path | None


def use_nextest(runner: str, environ: Mapping[str, str]) -> bool:
    if runner == "cargo":
        return False
    found = shutil.which("cargo-nextest", path=environ.get("PATH")) is not None
    if runner == "nextest" and not found:
        raise ToolchainError(
            '`test.runner = "nextest"` is configured but cargo-nextest is not installed.',
            '`cargo install cargo-nextest --locked`, or set test.runner to "auto".',
        )
    return found


def plan(
    project: Project,
    which: str,
    prefix: Sequence[str],
    env: Mapping[str, str],
    toolchain_label: str,
    nextest: bool,
    passthrough: Sequence[str],
) -> TestPlan:
    """The command for the tests of the workspace with the given cargo prefix."""
    workspace = project.workspace
    if nextest:
        config_file = project.report_dir / "nextest-tool.toml"
        argv = [
            *prefix,
            "nextest",
            "run",
            "--workspace",
            *project.locked,
            "--tool-config-file",
            f"nox-cargo:{config_file}",
            "--profile",
            NEXTEST_PROFILE,
            *passthrough,
        ]
        junit_from = workspace.target_dir / "nextest" / NEXTEST_PROFILE / "junit.xml"
        junit_to = project.report_dir / f"junit-{which}.xml"
        return TestPlan(argv, dict(env), toolchain_label, "nextest", junit_from, junit_to)
    argv = [*prefix, "test", "--workspace", *project.locked, *passthrough]
    return TestPlan(argv, dict(env), toolchain_label, "cargo", None, None)


def toolchain_for(project: Project, which: str) -> tuple[list[str], dict[str, str], str]:
    """(cargo argv prefix, env, label) of `stable` (the default cargo) or `msrv`."""
    if which == "stable":
        return ["cargo"], {}, "the default toolchain"
    toolchains = tc.discover(project.environ)
    chosen = tc.select_msrv(
        toolchains, project.workspace.rust_version, project.config.test.msrv_toolchain
    )
    prefix, env = chosen.cargo_invocation()
    return prefix, env, chosen.describe()


def run_tests(project: Project, which: str, passthrough: Sequence[str]) -> TestPlan:
    if which not in TOOLCHAINS:
        raise Unavailable(f"Unknown toolchain {which!r}.", f"use one of {', '.join(TOOLCHAINS)}.")
    prefix, env, label = toolchain_for(project, which)
    nextest = use_nextest(project.config.test.runner, project.environ)
    test_plan = plan(project, which, prefix, env, label, nextest, passthrough)
    console = get_console()
    console.info(f"testing with {label} using {'cargo-nextest' if nextest else 'cargo test'}")
    if nextest:
        atomic_write_text(project.report_dir / "nextest-tool.toml", NEXTEST_TOOL_CONFIG)
    try:
        run(
            test_plan.argv,
            cwd=project.workspace.root,
            env=test_plan.env or None,
            hint="the failing tests are listed above.",
        )
    except CommandFailed as exc:
        raise explain(exc) from None
    if test_plan.junit_from and test_plan.junit_to and test_plan.junit_from.is_file():
        atomic_copy(test_plan.junit_from, test_plan.junit_to)
        console.info(f"JUnit report: {os.path.relpath(test_plan.junit_to)}")
    return test_plan
