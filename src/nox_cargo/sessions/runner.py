"""How a stage session runs: its posargs parsed, skip-or-fail, errors, the job summary.

A session body is `(project, args) -> None`. It raises `Unavailable` for what this machine cannot
do (skipped here, failed under CI or --strict) and `NoxCargoError` for everything else; both end
as one paragraph with the fix, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import nox

from nox_cargo.config import Config
from nox_cargo.console import Event, get_console
from nox_cargo.errors import NoxCargoError, Unavailable, UsageError
from nox_cargo.project import Project
from nox_cargo.stage import Option, Stage

if TYPE_CHECKING:
    from nox_cargo.cache.inputs import Inputs
    from nox_cargo.cache.runs import StageCache
    from nox_cargo.cache.store import Entry

# A stage body with its parameter value already bound: (project, parsed options) -> anything.
BoundBody = Callable[[Project, argparse.Namespace], object]


@dataclass(frozen=True)
class Cached:
    """A session whose result is cached: the stage's inputs, its value, the options that always
    run (their `dest`)."""

    inputs: Inputs
    value: str
    always_run: tuple[str, ...] = ()


class ArgumentParser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so a bad flag ends in `session.error`."""

    passes_through = False  # a stage's remaining arguments go to its tool (see split_passthrough)

    def error(self, message: str) -> NoReturn:
        raise UsageError(
            f"{message}\n{self.format_usage().strip()}",
            f"`{self.prog} --help` lists this stage's options.",
        )

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if status:
            raise UsageError(message or "invalid arguments", None)
        raise _HelpShown(message or "")


class _HelpShown(Exception):
    """`-- --help` printed the usage: the session ends successfully without running."""


def parser(session_name: str, description: str) -> ArgumentParser:
    """A parser with the options every stage accepts."""
    p = ArgumentParser(
        prog=f'nox -s "{session_name}" --', description=description, allow_abbrev=False
    )
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
    p.add_argument(
        "--debug",
        action="store_true",
        help=f"show the traceback of an unexpected error (also: {DEBUG_ENV}=1)",
    )
    p.add_argument(
        "--fresh",
        action="store_true",
        help="run even when the inputs are unchanged since a recorded run (-c cache=false: "
        "neither reuse nor record)",
    )
    p.add_argument(
        "--provision",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="install what the stage needs (rustup, PyPI, crates.io) or only say what is "
        "missing; default: the config's `provision` (auto)",
    )
    return p


def parser_for(stage: Stage, config: Config, value: str) -> ArgumentParser:
    """The parser of one session of `stage`: its description is the session's `nox -l` line."""
    p = parser(stage.session(value), stage.description(config, value))
    groups: dict[str, argparse._MutuallyExclusiveGroup] = {}
    for option in stage.options:
        if option.group and option.group not in groups:
            groups[option.group] = p.add_mutually_exclusive_group()
        option.add_to(groups[option.group] if option.group else p)
    if stage.passthrough:
        p.add_argument("passthrough", nargs=argparse.REMAINDER, help=stage.passthrough)
        p.passes_through = True
    return p


def split_passthrough(
    argparser: ArgumentParser, posargs: Sequence[str], others: Sequence[Option] = ()
) -> tuple[list[str], list[str], list[str]]:
    """(own options, other stages' options, the tool's arguments): the tool's start at the first
    token that is neither this stage's option nor another stage's (`nox -- --base main` hands
    `--base` to every stage), or after a `--`.

    argparse alone cannot do it: `-E 'test(top)'` looks like an unknown option to it, not like the
    start of nextest's arguments.
    """
    own = {flag: action.nargs != 0 for flag, action in argparser._option_string_actions.items()}
    foreign = {
        flag: option.metavar is not None
        for option in others
        for flag in option.flags
        if flag not in own
    }
    tokens = list(posargs)
    mine: list[str] = []
    theirs: list[str] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token == "--":
            return mine, theirs, tokens[index + 1 :]
        flag = token.split("=", 1)[0]
        known = own if flag in own else foreign
        if not token.startswith("-") or flag not in known:
            return mine, theirs, tokens[index:]
        width = 2 if known[flag] and "=" not in token else 1
        (mine if known is own else theirs).extend(tokens[index : index + width])
        index += width
    return mine, theirs, []


def parse_posargs(
    argparser: ArgumentParser, posargs: Sequence[str], others: Sequence[Option] = ()
) -> tuple[argparse.Namespace, list[str]]:
    """This stage's options, and the options of other stages (`others`) it was handed.

    nox gives a call's posargs to every session it runs, the sessions pulled in by `requires=`
    included: `nox -s bench -- --base main` hands `--base main` to `build(...)` too. An option that
    some other stage declares is set aside (and returned); one that no stage knows is an error.
    """
    if argparser.passes_through:
        mine, theirs, passthrough = split_passthrough(argparser, posargs, others)
        args = argparser.parse_args(mine)
        args.passthrough = passthrough
        return args, theirs
    args, rest = argparser.parse_known_args(list(posargs))
    if not rest:
        return args, []
    foreign = ArgumentParser(add_help=False, allow_abbrev=False)
    seen: set[str] = set()
    for index, option in enumerate(others):
        flags = [flag for flag in option.flags if flag not in seen]
        if not flags:
            continue
        seen.update(flags)
        if option.metavar is None:
            foreign.add_argument(*flags, dest=f"_{index}", action="store_true")
        else:
            foreign.add_argument(*flags, dest=f"_{index}", nargs=option.nargs)
    _, unknown = foreign.parse_known_args(rest)
    if unknown:
        argparser.error(f"unrecognized arguments: {' '.join(unknown)}")
    return args, rest


# Stages that only report (doctor shows a missing pin instead of installing it), and provision,
# which installs the pin itself whatever the policy.
_NO_PROVISIONING = frozenset({"doctor", "workflows", "provision"})


def run_stage(
    session: nox.Session,
    name: str,
    body: BoundBody,
    argparser: ArgumentParser,
    root: Path | None = None,
    others: Sequence[Option] = (),
    cached: Cached | None = None,
) -> None:
    """Parse posargs, load the project, reuse a recorded result or run `body`, and turn the
    outcome into nox's verdict."""
    console = get_console()
    started = time.monotonic()
    args = _parsed(session, name, argparser, others)
    if args is None:
        return  # argparse's help action has printed the text already
    project: Project | None = None
    cache: StageCache | None = None
    events: list[Event] = []
    replayed: Entry | None = None
    try:
        overrides = list(args.config)
        if args.provision is not None:
            overrides.append(f"provision={'auto' if args.provision else 'never'}")
        project = Project.load(root or Path.cwd(), overrides=overrides, strict=args.strict)
        # The step's output folds on GitHub Actions; its verdict (below) prints outside the fold.
        with console.group(name):
            if name not in _NO_PROVISIONING:
                _ensure_pinned(project)  # rustup's proxies need the pinned toolchain for cargo
            cache = _open_cache(project, name, cached, args)
            replayed = cache.lookup() if cache else None
            if replayed is not None:
                _replay(name, replayed)
            else:
                with console.recording() as events:
                    try:
                        body(project, args)
                    finally:
                        if cached is not None:
                            _keep_cargo_warm(project)
    except Unavailable as exc:
        if cache is not None:
            cache.forget()
        _skip_or_fail(session, name, exc, project.strict if project else bool(args.strict))
    except NoxCargoError as exc:
        if cache is not None:
            cache.record("failed", events, exc.message, exc.hint)
        console.error(exc.message, exc.hint, title=name)
        console.summary(f"❌ `{name}` failed: {exc.message.splitlines()[0]}")
        session.error(_headline(exc.message))
    except Exception as exc:
        report = bug_report(exc, args.debug or debug_requested())
        console.error(report.message, report.hint, title=name)
        console.summary(f"❌ `{name}` failed: nox-cargo hit a bug ({type(exc).__name__})")
        session.error(f"nox-cargo hit a bug ({type(exc).__name__})")
    if replayed is not None:
        _verdict_of(session, replayed)  # outside the try: nox's quit is an Exception too
        return
    if cache is not None:
        cache.record("passed", events)
    console.summary(f"✅ `{name}` passed in {time.monotonic() - started:.1f}s")


def _parsed(
    session: nox.Session, name: str, argparser: ArgumentParser, others: Sequence[Option]
) -> argparse.Namespace | None:
    """The session's options (None after `--help`); a bad flag ends the session."""
    console = get_console()
    try:
        args, others_args = parse_posargs(argparser, session.posargs, others)
    except _HelpShown:
        return None
    except UsageError as exc:
        console.error(exc.message, exc.hint)
        session.error(f"bad arguments for {name}")
    if others_args:
        console.info(
            f"{name} leaves {' '.join(others_args)} to the session of this call they belong to"
        )
    return args


def _skip_or_fail(session: nox.Session, name: str, exc: Unavailable, strict: bool) -> NoReturn:
    """What this machine cannot do: skipped here, a failure under CI or --strict."""
    console = get_console()
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


def _ensure_pinned(project: Project) -> None:
    from nox_cargo.build.compiler import ensure_pinned  # provisioning: not imported at `nox -l`

    ensure_pinned(project)


def _open_cache(
    project: Project, name: str, cached: Cached | None, args: argparse.Namespace
) -> StageCache | None:
    if cached is None:
        return None
    from nox_cargo.cache.runs import StageCache

    return StageCache.open(
        project, cached.inputs, name, cached.value, vars(args), cached.always_run
    )


def _keep_cargo_warm(project: Project) -> None:
    from nox_cargo.cargo_warm import settle_mtimes

    # A workspace that cannot be loaded: the body has said why.
    with contextlib.suppress(NoxCargoError):
        settle_mtimes(project.dist_dir, project.workspace.root, project.environ)


def _replay(name: str, entry: Entry) -> None:
    """A recorded result: its figures, then its verdict, marked as cached."""
    console = get_console()
    console.info(
        f"cached: unchanged since {entry.since()} (ran {entry.seconds:.1f}s then; "
        f'`nox -s "{name}" -- --fresh` runs it again)'
    )
    console.replay(entry.events)
    if entry.verdict == "failed":
        console.error(entry.message, entry.hint, title=name)
        console.summary(f"❌ `{name}` failed (cached): {entry.message.splitlines()[0]}")
        return
    console.summary(f"✅ `{name}` passed (cached, unchanged since {entry.since()})")


def _verdict_of(session: nox.Session, entry: Entry) -> None:
    if entry.verdict == "failed":
        session.error(f"cached: {_headline(entry.message)}")


DEBUG_ENV = "NOX_CARGO_DEBUG"


def issues_url() -> str:
    """Where to file a bug: the package's `Issues`/`Repository` project URL when it declares one."""
    import importlib.metadata

    try:
        urls = importlib.metadata.metadata("nox-cargo").get_all("Project-URL") or []
    except importlib.metadata.PackageNotFoundError:
        urls = []
    by_label = {u.split(",", 1)[0].strip().lower(): u.split(",", 1)[-1].strip() for u in urls}
    for label in ("issues", "bug tracker", "repository", "source", "homepage"):
        if label in by_label:
            url: str = by_label[label]
            return url + ("/issues" if label in ("repository", "source") else "")
    return "the issue tracker of the repository nox-cargo came from"


def debug_requested(environ: Mapping[str, str] | None = None) -> bool:
    """`NOX_CARGO_DEBUG=1` (or any true-ish value) asks for tracebacks of unexpected errors."""
    value = (os.environ if environ is None else environ).get(DEBUG_ENV, "")
    return value.strip().lower() not in ("", "0", "false", "no", "off")


def bug_report(exc: BaseException, debug: bool) -> NoxCargoError:
    """The short report of an exception nox-cargo did not expect: a bug, and where to file it.

    The traceback is part of the report only under `--debug` / NOX_CARGO_DEBUG=1.
    """
    from nox_cargo import __version__

    detail = str(exc).splitlines()[0] if str(exc) else ""
    message = (
        f"This is a bug in nox-cargo {__version__}, not a problem with your input: "
        f"{type(exc).__name__}" + (f": {detail}" if detail else "") + "."
    )
    if debug:
        trace = "".join(traceback.format_exception(exc)).rstrip()
        message += f"\n{trace}"
        hint = f"please file it at {issues_url()} with the command you ran and the traceback above."
    else:
        hint = (
            f"please file it at {issues_url()} with the command you ran; rerun with "
            f"{DEBUG_ENV}=1 (or `-- --debug`) to include the traceback."
        )
    return NoxCargoError(message, hint)


def _headline(message: str) -> str:
    """The first line, for nox's own verdict line (which adds its own full stop)."""
    return message.splitlines()[0].rstrip(".")
