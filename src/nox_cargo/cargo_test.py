"""Workspace tests: cargo-nextest when installed, or cargo test; JUnit XML in target/nox-cargo/.

Big suites: a test that runs longer than `test.slow-timeout` * `test.terminate-after` is stopped
and named (nextest's own `slow-timeout`; for `cargo test`, the run is stopped when it has printed
nothing for that long after its first test binary started, and the test that had not finished is
named). nextest does not run doctests, so `cargo test --doc` runs after it. The JUnit file is
nextest's own, or converted from `cargo test`'s output (see nox_cargo.test_output).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from nox_cargo import test_output
from nox_cargo.build import toolchain as tc
from nox_cargo.build.compiler import cargo_for, provisioner_for
from nox_cargo.build.targets import host_triple_guess
from nox_cargo.config import TestConfig
from nox_cargo.console import get_console
from nox_cargo.diagnose import explain
from nox_cargo.errors import CommandFailed, NoxCargoError, ToolchainError, Unavailable
from nox_cargo.fsutil import atomic_copy, atomic_write_text
from nox_cargo.process import TimedOut, Watch, run
from nox_cargo.project import Project
from nox_cargo.provision import needs as nd

TOOLCHAINS = ("stable", "msrv")
NEXTEST_PROFILE = "nox-cargo"
ISOLATION_HINT = (
    "a test process crashed under nextest, which runs every test in a process of its own; a "
    "suite written for `cargo test`'s one process per binary (shared global state, signal "
    "handlers, tests that must run in order) can crash this way. Try the other runner: "
    '`-c test.runner=cargo` for one run, or `runner = "cargo"` in [tool.nox-cargo.test].'
)


def nextest_tool_config(config: TestConfig) -> str:
    """The nextest profile nox-cargo runs: JUnit report, no fail-fast, the test timeouts."""
    timeout = f'period = "{config.slow_timeout:g}s"'
    if config.terminate_after:
        timeout += f", terminate-after = {config.terminate_after}"
    return f"""\
# Written by nox-cargo: a profile whose JUnit report nox-cargo collects.
[profile.{NEXTEST_PROFILE}]
fail-fast = false
slow-timeout = {{ {timeout} }}

[profile.{NEXTEST_PROFILE}.junit]
path = "junit.xml"
"""


def test_timeout(config: TestConfig) -> float | None:
    """Seconds after which a test is stopped; None = never."""
    return config.slow_timeout * config.terminate_after if config.terminate_after else None


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
    junit_to = project.report_dir / f"junit-{which}.xml"
    return TestPlan(argv, dict(env), toolchain_label, "cargo", None, junit_to)


def toolchain_for(project: Project, which: str) -> tuple[list[str], dict[str, str], str]:
    """(cargo argv prefix, env, label) of `stable` (the project's compiler) or `msrv`."""
    if which == "stable":
        cargo = cargo_for(project, (), "test(toolchain=stable)")
        return list(cargo.prefix), cargo.env, cargo.describe()
    toolchains = tc.discover(project.environ)
    rust_version = project.workspace.rust_version
    requested = project.config.test.msrv_toolchain
    try:
        chosen = tc.select_msrv(toolchains, rust_version, requested)
    except Unavailable:
        if rust_version is None or requested:
            raise
        # Nothing at the rust-version here: provision rustup's (with `provision = "auto"`).
        wanted = f"{rust_version.major}.{rust_version.minor}"
        default = tc.default_toolchain(toolchains, project.environ)
        host = default.host if default else host_triple_guess()
        provisioner_for(project, host).ensure([nd.toolchain(wanted)], "test(toolchain=msrv)")
        chosen = tc.select_msrv(tc.discover(project.environ), rust_version, "")
    prefix, env = chosen.cargo_invocation()
    return prefix, env, chosen.describe()


def run_tests(project: Project, which: str, passthrough: Sequence[str]) -> TestPlan:
    if which not in TOOLCHAINS:
        raise Unavailable(f"Unknown toolchain {which!r}.", f"use one of {', '.join(TOOLCHAINS)}.")
    prefix, env, label = toolchain_for(project, which)
    config = project.config.test
    nextest = use_nextest(config.runner, project.environ)
    test_plan = plan(project, which, prefix, env, label, nextest, passthrough)
    console = get_console()
    timeout = test_timeout(config)
    console.info(
        f"testing with {label} using {'cargo-nextest' if nextest else 'cargo test'}; "
        + (f"a test is stopped after {timeout:g}s" if timeout else "no test timeout")
        + " (test.slow-timeout * test.terminate-after)"
    )
    failure: NoxCargoError | None = None
    if nextest:
        atomic_write_text(project.report_dir / "nextest-tool.toml", nextest_tool_config(config))
        failure = _run_nextest(project, test_plan)
        if test_plan.junit_from and test_plan.junit_to and test_plan.junit_from.is_file():
            atomic_copy(test_plan.junit_from, test_plan.junit_to)
            console.info(f"JUnit report: {os.path.relpath(test_plan.junit_to)}")
        if config.doctests and _has_doctests(project):
            doc_plan = TestPlan(
                [*prefix, "test", "--workspace", "--doc", *project.locked],
                dict(env),
                label,
                "cargo",
                None,
                project.report_dir / f"junit-{which}-doctests.xml",
            )
            console.info("nextest does not run doctests: running them with `cargo test --doc`")
            failure = failure or _run_cargo_test(project, doc_plan, timeout)
    else:
        failure = _run_cargo_test(project, test_plan, timeout)
    if failure:
        raise failure
    return test_plan


def _has_doctests(project: Project) -> bool:
    """A member has a library whose doctests cargo runs (not a cdylib/staticlib-only one)."""
    return any({"lib", "rlib", "proc-macro"} & set(p.lib_kinds) for p in project.workspace.members)


def _run_plan(project: Project, test_plan: TestPlan, watch: Watch) -> None:
    run(
        test_plan.argv,
        cwd=project.workspace.root,
        env=test_plan.env or None,
        hint="the failing tests are listed above.",
        watch=watch,
    )


def _run_nextest(project: Project, test_plan: TestPlan) -> NoxCargoError | None:
    log = test_output.NextestLog()
    try:
        _run_plan(project, test_plan, Watch(on_line=log.feed))
    except CommandFailed as exc:
        if log.timed_out:
            timeout = test_timeout(project.config.test) or 0
            return NoxCargoError(
                f"{len(log.timed_out)} test(s) ran past the test timeout ({timeout:g}s) and were "
                f"stopped by nextest: {', '.join(log.timed_out)}.",
                "fix or speed up the test; a test that is slow by design can get more time: "
                "raise `test.terminate-after` (or `test.slow-timeout`) in [tool.nox-cargo.test], "
                "or give it a nextest override: `-c test.terminate-after=0` disables the stop.",
            )
        if log.crashed:
            crashed = ", ".join(f"{test} ({status})" for status, test in log.crashed)
            return CommandFailed(exc.argv, exc.returncode, exc.tail, f"{crashed}: {ISOLATION_HINT}")
        return explain(exc)
    return None


def _run_cargo_test(
    project: Project, test_plan: TestPlan, timeout: float | None
) -> NoxCargoError | None:
    """Run `cargo test`, stop it at the timeout naming the test, and write its JUnit file."""
    log = test_output.LibtestLog()
    failure: NoxCargoError | None = None
    hung: dict[str, list[str]] = {}
    try:
        _run_plan(project, test_plan, Watch(log.feed, timeout, test_output.is_test_start))
    except TimedOut as exc:
        names = _unfinished(project, log)
        if log.suites:
            hung[log.suites[-1].name] = names
        where = f" in {log.suites[-1].name}" if log.suites else ""
        failure = NoxCargoError(
            f"`cargo test` was stopped: no test finished for {exc.seconds:g}s (the test "
            f"timeout). Still running{where}: {', '.join(names) or '(could not tell which)'}.",
            "fix or speed up that test; a suite with slow tests by design can raise "
            "`test.terminate-after` (or `test.slow-timeout`) in [tool.nox-cargo.test]; "
            "`-c test.terminate-after=0` disables the stop.",
        )
    except CommandFailed as exc:
        failure = explain(exc)
    if test_plan.junit_to is not None:
        atomic_write_text(test_plan.junit_to, test_output.junit_xml(log.suites, hung))
        get_console().info(
            f"JUnit report (converted from cargo test's output, no per-test times): "
            f"{os.path.relpath(test_plan.junit_to)}"
        )
    return failure


def _unfinished(project: Project, log: test_output.LibtestLog) -> list[str]:
    """The tests of the running binary that had not finished when the run was stopped."""
    if log.slow:
        return list(dict.fromkeys(log.slow))
    if not log.suites or not log.suites[-1].binary:
        return []
    binary = project.workspace.root / log.suites[-1].binary
    done = run([binary, "--list", "--format", "terse"], capture=True, quiet=True, check=False)
    return log.unfinished(test_output.parse_list(done.stdout))
