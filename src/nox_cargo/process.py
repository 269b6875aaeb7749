"""The one function through which every subprocess runs: shown, timed, and explained on failure."""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from nox_cargo.console import Console, get_console
from nox_cargo.errors import CommandFailed, ToolchainError

TAIL_LINES = 40


@dataclass(frozen=True)
class Completed:
    """The outcome of one command."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    capture: bool = False,
    check: bool = True,
    quiet: bool = False,
    hint: str | None = None,
    stdin: str | None = None,
    console: Console | None = None,
    inherit_env: bool = True,
) -> Completed:
    """Run `argv` (never through a shell).

    `env` entries are added to the current environment (or are the whole environment when
    `inherit_env` is false: a rehearsed CI job sees only what a runner would give it). With
    `capture`, stdout and stderr are returned and not echoed; otherwise both stream to the
    console as they come (merged), and the last lines are kept for the error. `quiet` hides the
    command line (for probes such as `rustc -vV` that `doctor` runs by the dozen). A non-zero
    exit raises `CommandFailed` with the command and its output tail, unless `check` is false.
    """
    con = console or get_console()
    args = tuple(os.fspath(a) for a in argv)
    full_env = dict(os.environ) if inherit_env else {}
    if env:
        full_env.update(env)
    if not quiet:
        con.command(args, cwd=cwd, env=env if inherit_env else None)
    start = time.monotonic()
    try:
        if capture:
            proc = subprocess.run(
                args,
                cwd=cwd,
                env=full_env,
                input=stdin,
                capture_output=True,
                text=True,
                errors="replace",
                check=False,
            )
            out, err, code = proc.stdout, proc.stderr, proc.returncode
            tail_source = err if err.strip() else out
            tail = "\n".join(tail_source.splitlines()[-TAIL_LINES:])
        else:
            out, err, code, tail = _stream(args, cwd, full_env, stdin, con)
    except FileNotFoundError as exc:
        raise ToolchainError(
            f"`{args[0]}` is not installed or not on PATH (needed for `{shlex.join(args)}`).",
            hint
            or f"install `{Path(args[0]).name}` and run again; `nox -s doctor` shows what is here.",
        ) from exc
    seconds = time.monotonic() - start
    if check and code != 0:
        raise CommandFailed(args, code, tail, hint)
    return Completed(args, code, out, err, seconds)


def _stream(
    args: tuple[str, ...],
    cwd: Path | None,
    env: dict[str, str],
    stdin: str | None,
    con: Console,
) -> tuple[str, str, int, str]:
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    with subprocess.Popen(
        args,
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE if stdin is not None else None,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        bufsize=1,
    ) as proc:
        if stdin is not None and proc.stdin is not None:
            proc.stdin.write(stdin)
            proc.stdin.close()
        assert proc.stdout is not None
        for line in proc.stdout:
            con.output_line(line.rstrip("\n"))
            tail.append(line.rstrip("\n"))
        code = proc.wait()
    return "", "", code, "\n".join(tail)
