"""The one function through which every subprocess runs: shown, timed, and explained on failure."""

from __future__ import annotations

import contextlib
import os
import queue
import shlex
import signal
import subprocess
import sys
import threading
import time
import typing
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from nox_cargo.console import Console, get_console
from nox_cargo.errors import CommandFailed, NoxCargoError, ToolchainError

TAIL_LINES = 40


class TimedOut(NoxCargoError):
    """A streamed command went silent for its idle timeout and was killed, with its children."""

    def __init__(self, argv: Sequence[str], seconds: float, tail: str) -> None:
        self.argv = tuple(argv)
        self.seconds = seconds
        self.tail = tail
        super().__init__(
            f"`{shlex.join(self.argv)}` printed nothing for {seconds:g}s and was stopped.", None
        )


@dataclass(frozen=True)
class Watch:
    """Line-by-line watching of a streamed command (not with `capture`).

    `on_line` sees every output line; once `armed` has returned true for a line, the command is
    killed (its whole process group) when no line arrives for `idle_seconds`.
    """

    on_line: Callable[[str], None] = lambda line: None
    idle_seconds: float | None = None
    armed: Callable[[str], bool] = lambda line: True


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
    watch: Watch | None = None,
    inherit_env: bool = True,
) -> Completed:
    """Run `argv` (never through a shell).

    `env` entries are added to the current environment (or are the whole environment when
    `inherit_env` is false: a rehearsed CI job sees only what a runner would give it). With
    `capture`, stdout and stderr are returned and not echoed; otherwise both stream to the
    console as they come (merged), and the last lines are kept for the error. `quiet` hides the
    command line (for probes such as `rustc -vV` that `doctor` runs by the dozen). A non-zero
    exit raises `CommandFailed` with the command and its output tail, unless `check` is false.
    `watch` (streamed runs only) sees each line and may stop a command that went silent:
    `TimedOut`.
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
            out, err, code, tail = _stream(args, cwd, full_env, stdin, con, watch or Watch())
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
    watch: Watch,
) -> tuple[str, str, int, str]:
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    lines: queue.Queue[str | None] = queue.Queue()
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
        # Its own process group, so a timeout stops cargo and the test binary it runs.
        start_new_session=watch.idle_seconds is not None and sys.platform != "win32",
    ) as proc:
        if stdin is not None and proc.stdin is not None:
            proc.stdin.write(stdin)
            proc.stdin.close()
        assert proc.stdout is not None
        reader = threading.Thread(target=_read_lines, args=(proc.stdout, lines), daemon=True)
        reader.start()
        armed = False
        while True:
            try:
                line = lines.get(timeout=watch.idle_seconds if armed else None)
            except queue.Empty:
                _kill(proc)
                reader.join(timeout=5)
                assert watch.idle_seconds is not None
                raise TimedOut(args, watch.idle_seconds, "\n".join(tail)) from None
            if line is None:
                break
            con.output_line(line)
            tail.append(line)
            watch.on_line(line)
            armed = armed or (watch.idle_seconds is not None and watch.armed(line))
        code = proc.wait()
    return "", "", code, "\n".join(tail)


def _read_lines(stream: typing.IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)


def _kill(proc: subprocess.Popen[str]) -> None:
    """Stop the command and everything it started."""
    if sys.platform != "win32":
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    else:
        proc.kill()
    proc.wait()
