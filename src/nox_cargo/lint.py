"""The lint steps: `cargo fmt`, `cargo clippy`, `cargo check` over the whole workspace."""

from __future__ import annotations

from nox_cargo.diagnose import explain
from nox_cargo.errors import CommandFailed, UsageError
from nox_cargo.process import run
from nox_cargo.project import Project

STEPS = ("fmt", "clippy", "check")

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


def command(project: Project, step: str, fix: bool = False) -> list[str]:
    """The exact cargo command line of one lint step."""
    lint = project.config.lint
    if step == "fmt":
        return ["cargo", "fmt", "--all"] + ([] if fix else ["--", "--check"])
    if step == "clippy":
        argv = ["cargo", "clippy", "--workspace", *lint.clippy_args, *project.locked]
        if fix:
            argv += ["--fix", "--allow-dirty", "--allow-staged"]
        if lint.clippy_deny_warnings:
            argv += ["--", "-D", "warnings"]
        return argv
    if step == "check":
        if fix:
            raise UsageError("`--fix` applies to the fmt and clippy steps, not to check.", None)
        return ["cargo", "check", "--workspace", *lint.check_args, *project.locked]
    raise UsageError(f"Unknown lint step {step!r}.", f"use one of: {', '.join(STEPS)}.")


def run_step(project: Project, step: str, fix: bool = False) -> None:
    argv = command(project, step, fix)
    try:
        run(argv, cwd=project.workspace.root, hint=_FIX_HINTS[step])
    except CommandFailed as exc:
        if step == "fmt" and not fix:
            raise CommandFailed(exc.argv, exc.returncode, exc.tail, fmt_check_hint()) from None
        raise explain(exc) from None
