"""The native launcher that spawns measured runs, and the one place that talks to it.

Why native: a child forked from Python inherits Python's peak-RSS high-water mark at exec, so a
1 MB binary reads as ~14 MB, and Python's own spawn path adds jitter to the wall time. The
launcher (launcher.rs beside this file, std only) is compiled by the workspace's own rustc,
cached under the report dir by source hash + `rustc -vV`, and runs a list of commands in a given
order, printing wall ns / user µs / sys µs / ru_maxrss / exit status for every run. Timed runs
are posix_spawn'ed (the child runs at once, as under hyperfine); peak-memory runs are forked (a
spawned child's peak includes the launcher's own); launcher.rs says why in numbers.

This module is the measurement harness's one exception to "every subprocess goes through
nox_cargo.process.run": it must stream the launcher's lines as runs finish (progress bars) and
must not add a second layer of timing around it.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import os
import shlex
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from nox_cargo.errors import NoxCargoError, ToolchainError, Unavailable
from nox_cargo.fsutil import locked
from nox_cargo.process import run


class RunFailed(NoxCargoError):
    """A benchmarked command exited non-zero (or could not be started)."""


def launcher_source() -> bytes:
    return importlib.resources.files("nox_cargo.bench").joinpath("launcher.rs").read_bytes()


def build_launcher(rustc: Path | str, cache_dir: Path) -> Path:
    """Compile launcher.rs with `rustc` (once per source + rustc version) and return its path."""
    if os.name != "posix":
        raise Unavailable(
            "bench measures with a fork/wait4 launcher, which needs a POSIX host (Linux, macOS).",
            "run the bench session on a Linux or macOS runner.",
        )
    source = launcher_source()
    version = run([rustc, "-vV"], capture=True, quiet=True).stdout
    key = hashlib.sha256(source + b"\0" + version.encode()).hexdigest()[:16]
    exe = cache_dir / f"launcher-{key}"
    if exe.is_file():
        return exe
    with locked(cache_dir, ".launcher.lock"):
        if exe.is_file():
            return exe
        with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".launcher-build-") as tmp:
            src = Path(tmp) / "launcher.rs"
            src.write_bytes(source)
            out = Path(tmp) / "launcher"
            run(
                [rustc, "-O", "-C", "strip=symbols", "--edition", "2018", src, "-o", out],
                capture=True,
                hint="the bench launcher is plain std Rust; check that this rustc builds "
                "host binaries (`rustc -vV`).",
            )
            out.replace(exe)  # same directory: atomic
    return exe


@dataclass(frozen=True)
class Command:
    """One benchmarked command: argv[0] is a path or a name looked up on PATH."""

    argv: tuple[str, ...]
    stdin: Path | None = None

    def shown(self) -> str:
        return shlex.join(self.argv) + (f" < {self.stdin}" if self.stdin else "")


# What a run in the launcher's order is for.
RunKind = Literal["m", "w", "r"]
TIMED: RunKind = "m"  # wall time and CPU are samples
WARMUP: RunKind = "w"  # run and checked, not reported
MEMORY: RunKind = "r"  # forked; its peak RSS is a sample, its wall time is not


@dataclass(frozen=True)
class RunRecord:
    seq: int
    cmd: int
    wall_ns: int
    user_us: int
    sys_us: int
    maxrss_kib: int
    status: int


@dataclass(frozen=True)
class Batch:
    records: tuple[RunRecord, ...]  # measured runs, in order of completion
    total_ns: int  # wall time of the whole batch, warm-ups included


TIMED_OUT = -1  # the status the launcher reports for a run it killed at its timeout


def spec_text(
    commands: Sequence[Command],
    order: Sequence[tuple[int, RunKind]],
    jobs: int,
    timeout: float | None = None,
    prepare: Mapping[int, int] | None = None,
) -> str:
    """The launcher's spec; `prepare` maps a command's index to the index of the command run,
    untimed, before each of its runs."""
    lines = [f"jobs\t{jobs}"]
    if timeout is not None:
        lines.append(f"timeout\t{max(1, round(timeout * 1000))}")
    for command in commands:
        for part in (*command.argv, str(command.stdin or "")):
            if any(c in part for c in "\t\n\r\0"):
                raise NoxCargoError(
                    f"Cannot benchmark {command.shown()!r}: an argument holds a tab, newline or "
                    "NUL.",
                    "use plain arguments in `bench.cases`.",
                )
        lines.append(
            "\t".join(["cmd", str(command.stdin) if command.stdin else "-", *command.argv])
        )
    for cmd, prep in sorted((prepare or {}).items()):
        if not (0 <= cmd < len(commands) and 0 <= prep < len(commands)):
            raise ValueError(f"prepare {cmd} -> {prep}: no such command")
        lines.append(f"prepare\t{cmd}\t{prep}")
    lines.extend(f"run\t{i}\t{kind}" for i, kind in order)
    return "\n".join(lines) + "\n"


def parse_record(line: str) -> RunRecord:
    fields = line.split("\t")
    if len(fields) != 7:
        raise ValueError(line)
    seq, cmd, wall, user, sys_, rss, status = (int(f) for f in fields)
    return RunRecord(seq, cmd, wall, user, sys_, rss, status)


def launch(
    launcher: Path,
    commands: Sequence[Command],
    order: Sequence[tuple[int, RunKind]],
    workdir: Path,
    jobs: int = 1,
    on_record: Callable[[RunRecord], None] | None = None,
    label: Callable[[int], str] | None = None,
    timeout: float | None = None,
    prepare: Mapping[int, int] | None = None,
    cwd: Path | None = None,
) -> Batch:
    """Run `order` ((command index, run kind) pairs) through the launcher.

    The spec and stderr live in a temporary directory under `workdir`; the runs start in `cwd`
    (default: `workdir`). `prepare` maps a command to one run before each of its runs, untimed
    (see spec_text). A run that exits non-zero stops the batch and raises RunFailed naming the
    command, its exit status and the tail of its stderr. A run still going after `timeout`
    seconds is killed with its process group (`bench.run-timeout`) and fails the same way.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=workdir, prefix=".launch-") as tmp:
        spec = Path(tmp) / "spec.tsv"
        spec.write_text(spec_text(commands, order, jobs, timeout, prepare), encoding="utf-8")
        stderr_path = Path(tmp) / "stderr"
        records: list[RunRecord] = []
        total = 0
        with stderr_path.open("wb") as err:
            try:
                proc = subprocess.Popen(
                    [str(launcher), str(spec)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=err,
                    text=True,
                    cwd=cwd or workdir,
                )
            except OSError as exc:
                raise ToolchainError(
                    f"Cannot start the bench launcher {launcher}: {exc.strerror}.",
                    f"delete {launcher.parent} so that it is rebuilt.",
                ) from None
            assert proc.stdout is not None
            for line in proc.stdout:
                text = line.rstrip("\n")
                if text.startswith("total\t"):
                    total = int(text.split("\t")[1])
                    continue
                record = parse_record(text)
                records.append(record)
                if on_record is not None:
                    on_record(record)
            code = proc.wait()
        stderr = stderr_path.read_text(encoding="utf-8", errors="replace")
    if code == 3:
        bad = next(r for r in reversed(records) if r.status != 0)
        command = commands[bad.cmd]
        who = label(bad.cmd) if label else command.shown()
        kind = "prepare" if bad.cmd in (prepare or {}).values() else "benchmarked"
        tail = "\n".join(stderr.strip().splitlines()[-15:])
        if bad.status == TIMED_OUT:
            raise RunFailed(
                f"The {kind} command {who} ({command.shown()}) did not finish within "
                f"`bench.run-timeout` ({timeout} s); it was killed with its process group."
                + (f"\nIts stderr ends with:\n{tail}" if tail else ""),
                "a benchmark run must end on its own: check the case's `args` (does it wait for "
                "stdin or a server?) and run the command by hand, or raise `bench.run-timeout` "
                "if one run really takes that long.",
            )
        what = (
            "could not be started (exit 127: not found or not executable)"
            if bad.status == 127
            else f"killed by signal {bad.status - 128}"
            if bad.status > 128
            else f"exited with status {bad.status}"
        )
        raise RunFailed(
            f"The {kind} command {who} ({command.shown()}) {what}."
            + (f"\nIts stderr ends with:\n{tail}" if tail else ""),
            f"a benchmark case must succeed: fix its `{'prepare' if kind == 'prepare' else 'args'}`"
            " in `bench.cases` or the binary; run the command by hand to see why.",
        )
    if code != 0:
        raise NoxCargoError(
            f"The bench launcher {launcher} failed (exit {code}): {stderr.strip()[-500:]}",
            f"delete {launcher.parent} so that it is rebuilt, and report the bug if it stays.",
        )
    return Batch(tuple(records), total)


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
