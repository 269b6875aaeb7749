"""Exact cargo command lines of the lint and test stages."""

from __future__ import annotations

from pathlib import Path

import pytest

from nox_cargo import cargo_test, lint
from nox_cargo.errors import UsageError
from nox_cargo.project import Project
from nox_cargo.workspace import Workspace


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    (tmp_path / "pyproject.toml").write_text("[tool.nox-cargo]\n")
    (tmp_path / "Cargo.lock").write_text("version = 3\n")
    workspace = Workspace(tmp_path, tmp_path / "target", (), {})
    monkeypatch.setattr(Project, "workspace", property(lambda self: workspace))
    return Project.load(tmp_path, environ={})


def test_fmt_checks_or_fixes(project: Project) -> None:
    assert lint.command(project, "fmt") == ["cargo", "fmt", "--all", "--", "--check"]
    assert lint.command(project, "fmt", fix=True) == ["cargo", "fmt", "--all"]


def test_clippy_denies_warnings_unless_configured(project: Project) -> None:
    assert lint.command(project, "clippy") == [
        "cargo",
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]
    relaxed = Project.load(project.root, environ={"NOX_CARGO_LINT_CLIPPY_DENY_WARNINGS": "0"})
    assert "-D" not in lint.command(relaxed, "clippy")


def test_check_cannot_fix(project: Project) -> None:
    assert lint.command(project, "check") == [
        "cargo",
        "check",
        "--workspace",
        "--all-targets",
        "--locked",
    ]
    with pytest.raises(UsageError):
        lint.command(project, "check", fix=True)


def test_nextest_plan_collects_junit(project: Project) -> None:
    plan = cargo_test.plan(
        project,
        "msrv",
        ["/usr/bin/cargo"],
        {"RUSTC": "/usr/bin/rustc"},
        "rustc 1.63.0",
        nextest=True,
        passthrough=["-E", "test(foo)"],
    )
    assert plan.argv[:5] == ["/usr/bin/cargo", "nextest", "run", "--workspace", "--locked"]
    assert plan.argv[-2:] == ["-E", "test(foo)"]
    assert "--profile" in plan.argv
    assert plan.junit_to == project.root / "target" / "nox-cargo" / "junit-msrv.xml"
    assert plan.env == {"RUSTC": "/usr/bin/rustc"}


def test_cargo_test_plan_passes_arguments_through(project: Project) -> None:
    plan = cargo_test.plan(
        project,
        "stable",
        ["cargo"],
        {},
        "default",
        nextest=False,
        passthrough=["--", "--nocapture"],
    )
    assert plan.argv == ["cargo", "test", "--workspace", "--locked", "--", "--nocapture"]
    # JUnit is always written: for cargo test, converted from its output.
    assert plan.junit_to == project.root / "target" / "nox-cargo" / "junit-stable.xml"


def test_nextest_profile_carries_the_test_timeout() -> None:
    from nox_cargo.config import TestConfig

    text = cargo_test.nextest_tool_config(TestConfig(slow_timeout=30, terminate_after=4))
    assert 'slow-timeout = { period = "30s", terminate-after = 4 }' in text
    never = cargo_test.nextest_tool_config(TestConfig(terminate_after=0))
    assert 'slow-timeout = { period = "60s" }' in never
    assert cargo_test.test_timeout(TestConfig(slow_timeout=30, terminate_after=4)) == 120
    assert cargo_test.test_timeout(TestConfig(terminate_after=0)) is None


def test_fmt_summary_counts_hunks_and_files() -> None:
    lines = [
        "Diff in /w/src/main.rs:12:",
        " fn main() {",
        "Diff in /w/src/main.rs:40:",
        "Diff in /w/src/lib.rs at line 3:",
        "Diff in /w/src/lib.rs:3:",
    ]
    assert lint.fmt_summary(lines) == "4 unformatted hunks in 2 files"
    assert lint.fmt_summary(["Diff in /w/a.rs:1:"]) == "1 unformatted hunk in 1 file"
    assert lint.fmt_summary([]) == ""


def test_nightly_features_get_the_config_that_leaves_benches_out(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nox_cargo.errors import CommandFailed
    from nox_cargo.process import Watch

    def failing(argv: list[str], watch: Watch, **kwargs: object) -> None:
        watch.on_line("error[E0554]: `#![feature]` may not be used on the stable release channel")
        raise CommandFailed(argv, 101, "error: could not compile `demo`", None)

    monkeypatch.setattr(lint, "run", failing)
    # The project's compiler, as discovery would give it (no rustc is probed here).
    from nox_cargo.build.compiler import Cargo
    from tests.unit.test_strategies import STABLE

    cargo = Cargo(("cargo",), {}, STABLE, "the default toolchain")
    monkeypatch.setattr(lint, "cargo_for", lambda project, components, for_what: cargo)
    with pytest.raises(CommandFailed) as info:
        lint.run_step(project, "check")
    assert 'check-args = ["--lib", "--bins", "--tests", "--examples"]' in (info.value.hint or "")
