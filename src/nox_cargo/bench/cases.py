"""From `[[bench.cases]]` to the commands that run: parameter scans, placeholders, inputs, the
working directory and the compared commands.

- A case with `parameters` becomes one case per combination of values (the cartesian product, in
  the order written), named `name[threads=2]` or `name[threads=2,size=big]`; `{threads}` is
  replaced in args, compare, prepare and cleanup.
- `{input}` is the input's absolute path: a generated file (`input-kind`) or a file or directory
  of the workspace (`input`, relative to the workspace root; a directory counts its total size).
- Runs start in the workspace root unless `bench.workdir` or the case's `workdir` (relative to
  the workspace root) says otherwise.
- A compared command's argv[0] is a name looked up on PATH, or (holding a `/`) a path relative to
  the workspace root. `--compare CMD` (shell words, split by shlex, never run through a shell)
  adds a command to every latency case whose placeholders it can fill.
"""

from __future__ import annotations

import itertools
import os
import shlex
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from nox_cargo.bench import inputs
from nox_cargo.bench.compare import shown
from nox_cargo.bench.measure import Compared, PreparedCase
from nox_cargo.config import BenchCase
from nox_cargo.config.model import PLACEHOLDER, placeholders
from nox_cargo.console import get_console
from nox_cargo.errors import ConfigError, UsageError


def expansions(case: BenchCase) -> list[tuple[str, dict[str, str]]]:
    """(name, parameter values) of every case a parameter scan makes; the case itself without."""
    if not case.parameters:
        return [(case.name, {})]
    names = list(case.parameters)
    out = []
    for values in itertools.product(*(case.parameters[n] for n in names)):
        chosen = dict(zip(names, values, strict=True))
        label = ",".join(f"{k}={v}" for k, v in chosen.items())
        out.append((f"{case.name}[{label}]", chosen))
    return out


def substitute(argv: Sequence[str], values: Mapping[str, str]) -> tuple[str, ...]:
    """Every `{name}` of `values` replaced, in one pass (a value holding `{x}` stays as it is);
    other braces are left alone."""
    return tuple(PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), arg) for arg in argv)


def parse_compare(text: str) -> tuple[str, ...]:
    """`--compare CMD`: shell words (quotes as a shell reads them), never run through a shell."""
    try:
        argv = tuple(shlex.split(text))
    except ValueError as exc:
        raise UsageError(
            f"--compare {text!r} is not a command line: {exc}.",
            "quote the command as a shell would, e.g. --compare 'wc -w {input}'.",
        ) from None
    if not argv:
        raise UsageError("--compare needs a command.", "e.g. --compare 'wc -w {input}'.")
    if any(c in a for a in argv for c in "\t\n\r\0"):
        raise UsageError(f"--compare {text!r} holds a tab or newline.", "use plain arguments.")
    return argv


def resolve_program(argv: Sequence[str], root: Path, case: str) -> tuple[str, ...]:
    """argv with argv[0] as an absolute path: from PATH, or relative to the workspace root."""
    program = argv[0]
    if "/" in program or os.sep in program:
        path = root / program
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ConfigError(
                f"Bench case `{case}` compares with `{shlex.join(argv)}`, but {path} is not an "
                "executable file.",
                "a program holding `/` is relative to the workspace root; give a name on PATH "
                "or a path that exists.",
            )
        return (str(path), *argv[1:])
    found = shutil.which(program)
    if found is None:
        raise ConfigError(
            f"Bench case `{case}` compares with `{shlex.join(argv)}`, but `{program}` is not on "
            "PATH.",
            f"install {program}, or name it by a path relative to the workspace root.",
        )
    return (found, *argv[1:])


@dataclass(frozen=True)
class Input:
    path: Path | None
    bytes: int


def _directory_bytes(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            file = Path(dirpath) / name
            if file.is_file() and not file.is_symlink():
                total += file.stat().st_size
    return total


def case_input(case: BenchCase, root: Path, input_dir: Path, seed: int) -> Input:
    """The case's input: generated once, or a workspace file or directory (checked here)."""
    if case.input is not None:
        path = root / case.input
        if not path.exists():
            raise ConfigError(
                f"Bench case `{case.name}`: its input `{case.input}` does not exist ({path}).",
                "`input` is relative to the workspace root; fix the path or create the corpus.",
            )
        if path.is_dir():
            if case.stdin:
                raise ConfigError(
                    f"Bench case `{case.name}`: its input `{case.input}` is a directory, which "
                    "cannot be fed on stdin.",
                    "give a file as `input`, or set `stdin = false` and pass `{input}` in args.",
                )
            return Input(path.resolve(), _directory_bytes(path))
        return Input(path.resolve(), path.stat().st_size)
    if case.input_kind == "none":
        return Input(None, 0)
    get_console().info(
        f"case {case.name}: input {case.input_kind}, {case.input_size.human()} "
        f"(generated once, seed {seed})"
    )
    path = inputs.input_file(input_dir, case.input_kind, int(case.input_size), seed)
    return Input(path, path.stat().st_size)


def case_workdir(case: BenchCase, root: Path, default: Path | None) -> Path:
    """Where the case's runs start; a missing directory names the key that set it."""
    relative = case.workdir or default
    if relative is None:
        return root
    path = (root / relative).resolve()
    if not path.is_dir():
        key = f"workdir of case `{case.name}`" if case.workdir else "bench.workdir"
        raise ConfigError(
            f"The bench {key} `{relative}` is not a directory ({path}).",
            "it is relative to the workspace root; create it or fix the path.",
        )
    return path


def _extra(
    case: BenchCase, commands: Sequence[tuple[str, ...]], known: set[str]
) -> Iterator[tuple[str, ...]]:
    """The `--compare` commands that fit this case: latency, placeholders it can fill."""
    if case.mode != "latency":
        return
    for command in commands:
        missing = [p for p in placeholders(command) if p not in known]
        if missing:
            get_console().info(
                f"case {case.name}: `--compare {shown(command)}` not added "
                f"(no {', '.join('{' + m + '}' for m in missing)} here)"
            )
            continue
        yield command


def prepare_cases(
    cases: Sequence[BenchCase],
    input_dir: Path,
    seed: int,
    root: Path,
    workdir: Path | None = None,
    compare: Sequence[tuple[str, ...]] = (),
) -> list[PreparedCase]:
    """Every case as it runs; every input, directory and program is checked here, before the
    first run. `root` is the workspace root, `workdir` is `bench.workdir`, `compare` are the
    `--compare` commands."""
    prepared = []
    used: set[tuple[str, ...]] = set()
    for case in cases:
        given = case_input(case, root, input_dir, seed)
        cwd = case_workdir(case, root, workdir)
        known = {*case.parameters, *(("input",) if given.path else ())}
        extra = list(_extra(case, compare, known))
        used.update(extra)
        for name, chosen in expansions(case):
            values = {**chosen, **({"input": str(given.path)} if given.path else {})}
            prepared.append(
                PreparedCase(
                    name=name,
                    mode=case.mode,
                    args=substitute(case.args, values),
                    template_args=substitute(case.args, chosen),
                    stdin=given.path if case.stdin else None,
                    input_bytes=given.bytes,
                    invocations=case.invocations,
                    compare=tuple(
                        Compared(c, resolve_program(substitute(c, values), root, name))
                        for c in (*case.compare, *extra)
                    ),
                    prepare=substitute(case.prepare, values),
                    cleanup=substitute(case.cleanup, values),
                    cwd=cwd,
                    parameters=chosen,
                )
            )
    for command in compare:
        if command not in used:
            raise UsageError(
                f"`--compare {shown(command)}` fits no latency case: its placeholders "
                f"({', '.join('{' + p + '}' for p in placeholders(command))}) are not all known "
                "in any of them.",
                "use {input} only with cases that have an input, and parameter names only with "
                "cases that declare them.",
            )
    return prepared
