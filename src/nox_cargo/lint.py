"""The lint steps: `cargo fmt`, `cargo clippy`, `cargo check` over the whole workspace, with the
project's compiler (its rustfmt and clippy components provisioned when missing)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from nox_cargo.build.compiler import cargo_for
from nox_cargo.console import get_console
from nox_cargo.diagnose import explain
from nox_cargo.errors import CommandFailed, UsageError
from nox_cargo.process import Watch, run
from nox_cargo.project import Project

# rustfmt --check: `Diff in /w/src/main.rs:12:` (or `Diff in /w/src/main.rs at line 12:`).
_FMT_HUNK = re.compile(r"^Diff in (?P<file>.+?)(?::\d+:| at line \d+:)\s*$")
# A nightly-only `#![feature]` (benches with `#![feature(test)]`) built by a stable toolchain.
NIGHTLY_FEATURE = "E0554"
NIGHTLY_HINT = (
    "`#![feature]` may not be used on the stable release channel (E0554): a target uses a "
    "nightly-only feature, most often benches with `#![feature(test)]`, which `--all-targets` "
    "compiles. Leave the benches out on stable: in [tool.nox-cargo.lint] set "
    '`check-args = ["--lib", "--bins", "--tests", "--examples"]` and '
    '`clippy-args = ["--lib", "--bins", "--tests", "--examples"]`.'
)

STEPS = ("fmt", "clippy", "check")
COMPONENTS = {"fmt": ("rustfmt",), "clippy": ("clippy",), "check": ()}

_FIX_HINTS = {
    "fmt": 'run `nox -s "lint(step=fmt)" -- --fix` to format the workspace.',
    "clippy": 'fix the lints shown above; `nox -s "lint(step=clippy)" -- --fix` applies the '
    "machine-applicable suggestions.",
    "check": "fix the compile errors shown above.",
}


def fmt_check_hint() -> str:
    """The fix line of a failed `cargo fmt --check`: the diff is shown, the command applies it."""
    return (
        "the diff above shows what cargo fmt would change; "
        'run `nox -s "lint(step=fmt)" -- --fix` to apply it.'
    )


def command(
    project: Project, step: str, fix: bool = False, cargo: Sequence[str] = ("cargo",)
) -> list[str]:
    """The exact cargo command line of one lint step (`cargo` = the compiler's cargo prefix)."""
    lint = project.config.lint
    if step == "fmt":
        return [*cargo, "fmt", "--all"] + ([] if fix else ["--", "--check"])
    if step == "clippy":
        argv = [*cargo, "clippy", "--workspace", *lint.clippy_args, *project.locked]
        if fix:
            argv += ["--fix", "--allow-dirty", "--allow-staged"]
        if lint.clippy_deny_warnings:
            argv += ["--", "-D", "warnings"]
        return argv
    if step == "check":
        if fix:
            raise UsageError("`--fix` applies to the fmt and clippy steps, not to check.", None)
        return [*cargo, "check", "--workspace", *lint.check_args, *project.locked]
    raise UsageError(f"Unknown lint step {step!r}.", f"use one of: {', '.join(STEPS)}.")


def fmt_summary(lines: list[str]) -> str:
    """`N hunks in M files` from rustfmt --check's output ("" when it printed no diff)."""
    files: dict[str, int] = {}
    for line in lines:
        if match := _FMT_HUNK.match(line):
            files[match["file"]] = files.get(match["file"], 0) + 1
    if not files:
        return ""
    hunks = sum(files.values())
    plural = "s" * (hunks != 1), "s" * (len(files) != 1)
    return f"{hunks} unformatted hunk{plural[0]} in {len(files)} file{plural[1]}"


def run_step(project: Project, step: str, fix: bool = False) -> None:
    command(project, step, fix)  # a bad step or flag fails before any toolchain work
    cargo = cargo_for(project, COMPONENTS[step], f"lint(step={step})")
    get_console().info(f"linting with {cargo.describe()}")
    argv = command(project, step, fix, cargo.prefix)
    seen: list[str] = []
    try:
        run(
            argv,
            cwd=project.workspace.root,
            env=cargo.env or None,
            hint=_FIX_HINTS[step],
            watch=Watch(seen.append),
        )
    except CommandFailed as exc:
        if step == "fmt" and not fix:
            summary = fmt_summary(seen)
            raise CommandFailed(
                exc.argv,
                exc.returncode,
                exc.tail + (f"\n{summary}" if summary else ""),
                fmt_check_hint(),
            ) from None
        if step in ("check", "clippy") and any(NIGHTLY_FEATURE in line for line in seen):
            raise CommandFailed(exc.argv, exc.returncode, exc.tail, NIGHTLY_HINT) from None
        raise explain(exc) from None
