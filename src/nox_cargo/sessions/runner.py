"""What every stage session shares: argument parsing, skip-or-fail, errors, the job summary.

A session body is `(project, args) -> None`. It raises `Unavailable` for what this machine cannot
do (skipped here, failed under CI or --strict) and `NoxCargoError` for everything else; both end
as one paragraph with the fix, never a traceback.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

import nox

from nox_cargo.console import get_console
from nox_cargo.errors import NoxCargoError, Unavailable, UsageError
from nox_cargo.project import Project

Body = Callable[[Project, argparse.Namespace], object]


class ArgumentParser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so a bad flag ends in `session.error`."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(
            f"{message}\n{self.format_usage().strip()}",
            f"see `nox --usage {self.prog}`, or the README.",
        )

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if status:
            raise UsageError(message or "invalid arguments", None)
        raise _HelpShown(message or "")


class _HelpShown(Exception):
    """`-- --help` printed the usage: the session ends successfully without running."""


# Every stage's parser, so a stage can tell another stage's option from a typo (see parse_posargs).
_PARSERS: list[ArgumentParser] = []


def parser(session_name: str, description: str) -> ArgumentParser:
    """A parser with the options every stage accepts."""
    p = ArgumentParser(
        prog=f'nox -s "{session_name}" --', description=description, allow_abbrev=False
    )
    _PARSERS.append(p)
    p.add_argument(
        "--strict",
        action="store_true",
        help="fail instead of skipping what this machine cannot do (implied when CI is set)",
    )
    p.add_argument(
        "-c",
        "--config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key for this run, e.g. -c lint.clippy-deny-warnings=false",
    )
    return p


def parse_posargs(
    argparser: ArgumentParser, posargs: Sequence[str]
) -> tuple[argparse.Namespace, list[str]]:
    """This stage's options, and the options of other stages it was handed.

    nox gives a call's posargs to every session it runs, the sessions pulled in by `requires=`
    included: `nox -s bench -- --base main` hands `--base main` to `build(...)` too. An option that
    some other stage declares is set aside (and returned); one that no stage knows is an error.
    """
    args, rest = argparser.parse_known_args(list(posargs))
    if not rest:
        return args, []
    foreign = ArgumentParser(add_help=False, allow_abbrev=False)
    seen: set[str] = set()
    for index, other in enumerate(p for p in _PARSERS if p is not argparser):
        for action in other._actions:
            strings = [s for s in action.option_strings if s not in seen]
            if not strings or isinstance(action, argparse._HelpAction):
                continue
            seen.update(strings)
            dest = f"_{index}_{action.dest}"
            if action.nargs == 0:
                foreign.add_argument(*strings, dest=dest, action="store_true")
            else:
                foreign.add_argument(*strings, dest=dest, nargs=action.nargs)
    _, unknown = foreign.parse_known_args(rest)
    if unknown:
        argparser.error(f"unrecognized arguments: {' '.join(unknown)}")
    return args, rest


def run_stage(
    session: nox.Session,
    name: str,
    body: Body,
    argparser: ArgumentParser,
    root: Path | None = None,
) -> None:
    """Parse posargs, load the project, run `body`, and turn the outcome into nox's verdict."""
    console = get_console()
    started = time.monotonic()
    try:
        args, others = parse_posargs(argparser, session.posargs)
    except _HelpShown:
        argparser.print_help()
        return
    except UsageError as exc:
        console.error(exc.message, exc.hint)
        session.error(f"bad arguments for {name}")
    if others:
        console.info(f"{name} leaves {' '.join(others)} to the session of this call they belong to")
    project: Project | None = None
    try:
        project = Project.load(root or Path.cwd(), overrides=args.config, strict=args.strict)
        # The step's output folds on GitHub Actions; its verdict (below) prints outside the fold.
        with console.group(name):
            body(project, args)
    except Unavailable as exc:
        strict = project.strict if project else bool(args.strict)
        if strict:
            console.error(
                exc.message + " (not skipped: CI or --strict turns every skip into a failure)",
                exc.hint,
                title=name,
            )
            console.summary(f"❌ `{name}` failed: {exc.message}")
            session.error(_headline(exc.message))
        console.skip(exc.message, exc.hint)
        console.summary(f"⏭️ `{name}` skipped: {exc.message} Fix: {exc.hint}")
        # nox repeats the reason in its own line; the paragraph above already has all of it.
        session.skip(_headline(exc.message))
    except NoxCargoError as exc:
        console.error(exc.message, exc.hint, title=name)
        console.summary(f"❌ `{name}` failed: {exc.message.splitlines()[0]}")
        session.error(_headline(exc.message))
    console.summary(f"✅ `{name}` passed in {time.monotonic() - started:.1f}s")


def _headline(message: str) -> str:
    """The first line, for nox's own verdict line (which adds its own full stop)."""
    return message.splitlines()[0].rstrip(".")


Define = Callable[[nox.Session], None]


def define_matrix(
    name: str,
    key: str,
    values: Sequence[str],
    doc: str,
    make_body: Callable[[str], Define],
    requires: Callable[[str], list[str]] | None = None,
    describe: Callable[[str], str] | None = None,
) -> list[str]:
    """Register `name(key=value)` for each value, plus `name`, which runs all of them.

    nox's `requires=` can only be templated by python version, so a per-value dependency (package
    needs *its* build) needs one session per value; the parent is what nox builds for a
    parametrized session anyway: a no-op that requires every child.
    """
    children = []
    for value in values:
        child = f"{name}({key}={value})"
        func = make_body(value)
        func.__doc__ = describe(value) if describe else f"{doc} ({key}={value})."
        func.__name__ = f"{name}_{key}_{value}".replace("-", "_").replace(".", "_")
        add_session(func, child, requires=requires(value) if requires else None)
        children.append(child)

    def parent(session: nox.Session) -> None:
        pass

    parent.__doc__ = f"{doc}: every {key} ({', '.join(values)})."
    add_session(parent, name, requires=children)
    return children


def add_session(
    func: Define,
    name: str,
    requires: list[str] | None = None,
    default: bool = True,
) -> None:
    """Register a cargo-driving session: no virtualenv, tools run as installed."""
    nox.session(name=name, venv_backend="none", requires=requires, default=default)(func)


def define_stage_matrix(
    project: Project,
    name: str,
    key: str,
    docs: dict[str, str],
    doc: str,
    options: Callable[[ArgumentParser], None],
    call: Callable[[Project, argparse.Namespace, str], object],
    requires: Callable[[str], list[str]] | None = None,
) -> list[str]:
    """`define_matrix` for the common case: one parser per value (its description is the value's
    line in `docs`, its extra options from `options`) and a body that calls `call(project, args,
    value)` through `run_stage`."""

    def make(value: str) -> Define:
        child = f"{name}({key}={value})"
        argparser = parser(child, docs[value])
        options(argparser)

        def body(session: nox.Session) -> None:
            run_stage(
                session, child, lambda proj, args: call(proj, args, value), argparser, project.root
            )

        return body

    return define_matrix(
        name, key, list(docs), doc, make, requires=requires, describe=docs.__getitem__
    )
