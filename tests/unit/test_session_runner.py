"""run_stage: skip locally, fail under CI or --strict, bad flags end in session.error."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, cast

import nox
import pytest

from nox_cargo.errors import NoxCargoError, Unavailable, UsageError
from nox_cargo.project import Project
from nox_cargo.sessions.runner import parse_posargs, parser, run_stage
from nox_cargo.stage import Option
from tests.unit.fake_session import FakeSession, Quit


def call(tmp_path: Path, body: Any, posargs: list[str] | None = None) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.nox-cargo]\n")
    session = cast(nox.Session, FakeSession(posargs or []))
    run_stage(session, "demo", body, parser("demo", "demo"), tmp_path)


def missing(project: Project, args: argparse.Namespace) -> None:
    raise Unavailable("no std for aarch64-unknown-linux-musl", "rustup target add it")


def test_unavailable_is_a_skip_locally(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(Quit) as info:
        call(tmp_path, missing)
    assert info.value.kind == "skip"
    assert "aarch64-unknown-linux-musl" in str(info.value)


@pytest.mark.parametrize("how", ["ci", "flag"])
def test_unavailable_fails_under_ci_or_strict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    if how == "ci":
        monkeypatch.setenv("CI", "true")
    else:
        monkeypatch.delenv("CI", raising=False)
    with pytest.raises(Quit) as info:
        call(tmp_path, missing, ["--strict"] if how == "flag" else [])
    assert info.value.kind == "error"
    assert "aarch64-unknown-linux-musl" in str(info.value)


def test_errors_fail_with_their_first_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(project: Project, args: argparse.Namespace) -> None:
        raise NoxCargoError("it broke\ndetails", "do the fix")

    with pytest.raises(Quit) as info:
        call(tmp_path, broken)
    assert (info.value.kind, str(info.value)) == ("error", "it broke")
    assert "Fix: do the fix" in capsys.readouterr().out


def test_unknown_flag_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(Quit) as info:
        call(tmp_path, missing, ["--frobnicate"])
    assert info.value.kind == "error"
    out = capsys.readouterr().out
    assert "--frobnicate" in out
    assert "usage:" in out


def test_config_overrides_reach_the_body(tmp_path: Path) -> None:
    seen: list[bool] = []

    def body(project: Project, args: argparse.Namespace) -> None:
        seen.append(project.config.lint.clippy_deny_warnings)

    call(tmp_path, body, ["-c", "lint.clippy-deny-warnings=false"])
    assert seen == [False]


def test_options_of_other_stages_are_left_to_them(tmp_path: Path) -> None:
    # nox hands `nox -s bench -- --base main` to bench's required build session as well.
    bench_options = (Option(("--base",), "", metavar="REF"), Option(("--quick",), ""))
    build_options = (Option(("--dry-run",), ""),)
    bench = parser("bench-demo", "demo")
    for option in bench_options:
        option.add_to(bench)
    build = parser("build-demo", "demo")
    for option in build_options:
        option.add_to(build)
    args, others = parse_posargs(
        build, ["--base", "main", "--dry-run", "--quick"], others=bench_options
    )
    assert args.dry_run is True
    assert others == ["--base", "main", "--quick"]
    own, none = parse_posargs(bench, ["--base", "main"], others=build_options)
    assert (own.base, none) == ("main", [])


def test_an_option_no_stage_knows_is_still_an_error() -> None:
    build = parser("build-demo2", "demo")
    with pytest.raises(UsageError, match="--bsae"):
        parse_posargs(build, ["--bsae", "main"], others=(Option(("--base",), "", metavar="R"),))


def test_every_lint_step_and_test_toolchain_has_its_description() -> None:
    from nox_cargo import cargo_test, lint
    from nox_cargo.sessions.cargo import LINT_DOCS, TEST_DOCS

    assert tuple(LINT_DOCS) == lint.STEPS
    assert tuple(TEST_DOCS) == cargo_test.TOOLCHAINS


def test_a_stage_that_passes_through_hands_unknown_flags_to_its_tool() -> None:
    # README: nox -s "test(toolchain=stable)" -- -E 'test(top)'
    from nox_cargo.config import Config
    from nox_cargo.pipeline import STAGES
    from nox_cargo.sessions.runner import parser_for
    from nox_cargo.stage import find

    stage = find(STAGES, "test")
    assert stage is not None
    test = parser_for(stage, Config(), "stable")
    args, others = parse_posargs(test, ["-E", "test(top)"])
    assert (args.passthrough, others) == (["-E", "test(top)"], [])
    args, _ = parse_posargs(test, ["--strict", "-c", "test.runner=cargo", "--", "--nocapture"])
    assert args.strict and args.config == ["test.runner=cargo"]
    assert args.passthrough == ["--nocapture"]
    args, _ = parse_posargs(test, ["--config=test.runner=cargo", "top", "--", "--exact"])
    assert args.passthrough == ["top", "--", "--exact"]  # README: cargo test top -- --exact


def test_other_stages_options_are_not_handed_to_the_test_runner() -> None:
    # Plain `nox -- --base main` gives `--base main` to the test sessions too.
    from nox_cargo.config import Config
    from nox_cargo.pipeline import STAGES
    from nox_cargo.sessions.runner import parser_for
    from nox_cargo.stage import find

    stage = find(STAGES, "test")
    assert stage is not None
    others = [o for s in STAGES if s is not stage for o in s.options]
    test = parser_for(stage, Config(), "stable")
    args, set_aside = parse_posargs(test, ["--base", "main", "-E", "test(top)"], others)
    assert args.passthrough == ["-E", "test(top)"]
    assert set_aside == ["--base", "main"]
