"""Sampling: warm-up, interleaved runs in random order, and stopping when the CI is tight enough.

One or two "sides" (head alone, or base and head) are measured in the same launcher batches. For
latency cases each block holds one run of every side in a fresh random order, so block i gives a
pair (base[i], head[i]) measured side by side; rounds of blocks are added until the 99 % CI
half-width (of the head/base ratio when comparing, of the median otherwise) reaches the target,
or `max_runs` / `max_seconds` is hit. Throughput cases do the same with whole batches of
back-to-back invocations as the unit, sequentially and with one worker per core.
"""

from __future__ import annotations

import random
import shlex
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nox_cargo.bench import stats
from nox_cargo.bench.launcher import (
    MEMORY,
    TIMED,
    WARMUP,
    Batch,
    Command,
    RunFailed,
    RunKind,
    RunRecord,
    cpu_count,
    launch,
)
from nox_cargo.errors import CommandFailed
from nox_cargo.process import run

Series = dict[str, list[float]]
Progress = Callable[[int], None]  # called with the number of runs just completed

LATENCY_SERIES = ("wall_ns", "user_us", "sys_us", "maxrss_kib")
THROUGHPUT_SERIES = ("batch_ns_seq", "batch_ns_par")
MEMORY_RUNS = 10  # forked runs per side for peak RSS (nearly deterministic: few are enough)
THROUGHPUT_MIN_BATCHES = 8
THROUGHPUT_MAX_BATCHES = 30


@dataclass(frozen=True)
class Sampling:
    warmup: int = 5
    min_runs: int = 30
    max_runs: int = 400
    max_seconds: float = 60.0
    run_timeout: float = 60.0  # seconds one run may take (`bench.run-timeout`)
    target_half_width: float = 0.01  # relative
    seed: int = 0


@dataclass(frozen=True)
class Side:
    """One binary being measured: a label for reports and its path."""

    label: str
    binary: Path


@dataclass(frozen=True)
class Compared:
    """A command measured beside the binary for information (`compare`, `--compare`)."""

    template: tuple[str, ...]  # as configured, placeholders kept (what results record)
    argv: tuple[str, ...]  # placeholders replaced, argv[0] resolved to a path


@dataclass(frozen=True)
class PreparedCase:
    name: str
    mode: str  # latency | throughput
    args: tuple[str, ...]  # with {input} substituted
    template_args: tuple[str, ...]  # as configured (what results record and compare)
    stdin: Path | None
    input_bytes: int
    invocations: int
    compare: tuple[Compared, ...] = ()
    prepare: tuple[str, ...] = ()  # run before each run of each command, untimed
    cleanup: tuple[str, ...] = ()  # run once per command after all its runs
    cwd: Path | None = None  # where runs start; None: the launcher's scratch dir
    parameters: dict[str, str] = field(default_factory=dict)  # this expansion's values

    def command(self, side: Side) -> Command:
        return Command((str(side.binary), *self.args), self.stdin)

    def commands(self, sides: Sequence[Side]) -> list[Command]:
        """Every measured command, sides first, then the compared ones."""
        return [
            *(self.command(s) for s in sides),
            *(Command(c.argv, self.stdin) for c in self.compare),
        ]

    def label(self, index: int, sides: Sequence[Side]) -> str:
        """How a launcher error names command `index` of `commands` (+ the prepare command)."""
        if index < len(sides):
            return f"`{sides[index].label}` in case `{self.name}`"
        if index < len(sides) + len(self.compare):
            return (
                f"`{self.compare[index - len(sides)].template[0]}` (compared) in case `{self.name}`"
            )
        return f"of case `{self.name}`"


def case_rng(seed: int, name: str) -> random.Random:
    return random.Random(seed * 1_000_003 + zlib.crc32(name.encode()))


def _precision(per_side: Sequence[Sequence[float]], rng: random.Random) -> float:
    """The stop criterion: relative CI half-width of the ratio (two sides) or the median."""
    if len(per_side) == 2:
        estimate = stats.bootstrap_ratio_ci(
            per_side[0], per_side[1], rng, paired=True, resamples=400
        )
        return estimate.half_width
    return stats.relative_half_width(per_side[0], rng, resamples=400)


def measure(
    launcher: Path,
    case: PreparedCase,
    sides: Sequence[Side],
    sampling: Sampling,
    workdir: Path,
    progress: Progress | None = None,
) -> list[Series]:
    """The samples of one case, per side and then per compared command, measured the way its
    mode says; then the case's cleanup, once per command."""
    job = _Job(launcher, case, sides, sampling, workdir, progress)
    series = _throughput(job) if case.mode == "throughput" else _latency(job)
    if case.cleanup:
        for command in case.commands(sides):
            cleanup(case, command)
    return series


def cleanup(case: PreparedCase, after: Command) -> None:
    """Run the case's cleanup command (untimed, in the case's directory); a failure names it."""
    try:
        run(case.cleanup, cwd=case.cwd, capture=True, quiet=True)
    except CommandFailed as exc:
        raise RunFailed(
            f"The cleanup command of case `{case.name}` ({shlex.join(case.cleanup)}), run after "
            f"{shlex.join(after.argv)}, exited with status {exc.returncode}."
            + (f"\nIts output ends with:\n{exc.tail}" if exc.tail.strip() else ""),
            "fix the case's `cleanup` in `bench.cases`; run it by hand to see why.",
        ) from None


@dataclass(frozen=True)
class _Job:
    launcher: Path
    case: PreparedCase
    sides: Sequence[Side]
    sampling: Sampling
    workdir: Path
    progress: Progress | None

    def start(self) -> tuple[random.Random, list[Command]]:
        """A fresh random order for this case (seeded by its name), and each measured command."""
        return case_rng(self.sampling.seed, self.case.name), self.case.commands(self.sides)

    def launch(
        self,
        commands: Sequence[Command],
        order: Sequence[tuple[int, RunKind]],
        jobs: int = 1,
        label: Callable[[int], str] | None = None,
    ) -> Batch:
        """One launcher batch in the case's directory; the case's prepare command (if any) runs
        before every run of every command."""
        prepare: dict[int, int] = {}
        if self.case.prepare:
            prepare = dict.fromkeys(range(len(commands)), len(commands))
            commands = [*commands, Command(self.case.prepare)]
        return launch(
            self.launcher,
            commands,
            order,
            self.workdir,
            jobs=jobs,
            on_record=_ticker(self.progress),
            label=label or (lambda i: self.case.label(i, self.sides)),
            timeout=self.sampling.run_timeout,
            prepare=prepare,
            cwd=self.case.cwd,
        )


def _latency(job: _Job) -> list[Series]:
    """Per side: wall_ns, user_us, sys_us, maxrss_kib, index-aligned across sides (pairs)."""
    sides, sampling = job.sides, job.sampling
    rng, commands = job.start()
    series: list[Series] = [{k: [] for k in LATENCY_SERIES} for _ in commands]
    started = time.monotonic()
    first = True
    done = 0
    round_size = sampling.min_runs
    while True:
        order: list[tuple[int, RunKind]] = []
        if first:
            for _ in range(sampling.warmup):
                order.extend((i, WARMUP) for i in _shuffled(len(commands), rng))
            for _ in range(MEMORY_RUNS):
                order.extend((i, MEMORY) for i in _shuffled(len(commands), rng))
        for _ in range(round_size):
            order.extend((i, TIMED) for i in _shuffled(len(commands), rng))
        batch = job.launch(commands, order)
        _collect(batch, order, series)
        done += round_size
        first = False
        if done >= sampling.max_runs or time.monotonic() - started > sampling.max_seconds:
            break
        if done >= sampling.min_runs:
            # The stop rule looks at the sides (head, base) only: compared commands are info.
            walls = [s["wall_ns"] for s in series[: len(sides)]]
            if _precision(walls, rng) <= sampling.target_half_width:
                break
        round_size = min(sampling.max_runs - done, max(done // 2, 10))
        # Keep within the time budget: a round may not start what it cannot finish.
        per_block = (time.monotonic() - started) / done
        remaining = sampling.max_seconds - (time.monotonic() - started)
        round_size = max(1, min(round_size, int(remaining / per_block)))
    return series


def _shuffled(n: int, rng: random.Random) -> list[int]:
    items = list(range(n))
    rng.shuffle(items)
    return items


def _ticker(progress: Progress | None) -> Callable[[RunRecord], None] | None:
    if progress is None:
        return None
    return lambda _record: progress(1)


def _collect(batch: Batch, order: Sequence[tuple[int, RunKind]], series: list[Series]) -> None:
    """Timed runs give wall and CPU samples (index-aligned pairs), memory runs peak RSS."""
    # Sequential batches finish in order; sorting by seq keeps block i of every side aligned.
    for record in sorted(batch.records, key=lambda r: r.seq):
        side = series[record.cmd]
        if order[record.seq][1] == MEMORY:
            side["maxrss_kib"].append(float(record.maxrss_kib))
            continue
        side["wall_ns"].append(float(record.wall_ns))
        side["user_us"].append(float(record.user_us))
        side["sys_us"].append(float(record.sys_us))


def _throughput(job: _Job) -> list[Series]:
    """Per side: wall ns of each batch of `invocations` back-to-back runs, 1 and N workers."""
    case, sides, sampling = job.case, job.sides, job.sampling
    rng, commands = job.start()
    workers = cpu_count()
    series: list[Series] = [{k: [] for k in THROUGHPUT_SERIES} for _ in sides]
    started = time.monotonic()

    def one_batch(i: int, jobs: int, kind: RunKind) -> int:
        batch = job.launch(
            [commands[i]],
            [(0, kind)] * case.invocations,
            jobs=jobs,
            label=lambda _i: case.label(i, sides),
        )
        return batch.total_ns

    for i in range(len(sides)):  # warm-up batch, discarded
        one_batch(i, 1, WARMUP)
    blocks = 0
    while True:
        for key, jobs in (("batch_ns_seq", 1), ("batch_ns_par", workers)):
            for i in _shuffled(len(sides), rng):
                series[i][key].append(float(one_batch(i, jobs, TIMED)))
        blocks += 1
        if blocks >= THROUGHPUT_MAX_BATCHES or time.monotonic() - started > sampling.max_seconds:
            break
        if blocks >= THROUGHPUT_MIN_BATCHES:
            seq = [s["batch_ns_seq"] for s in series]
            if _precision(seq, rng) <= sampling.target_half_width:
                break
    return series


def expected_runs(case: PreparedCase, sides: int, sampling: Sampling) -> int:
    """Upper bound of runs, for the progress bar's total."""
    if case.mode == "throughput":
        return sides * case.invocations * (1 + 2 * THROUGHPUT_MAX_BATCHES)
    return (sides + len(case.compare)) * (sampling.max_runs + MEMORY_RUNS)
