"""Is the regression gate right? A/A comparisons (0 regressions wanted) and A/B comparisons
against a build ~10 % slower at startup (at least 90 % detected), on this machine, now, with
hyperfine's reading of the same pairs printed beside each one.

Two pairs (`--pair`):

- `ripgrep` (default): two real builds of a 27 MB dynamically linked binary (benchmarks/
  real_pair.py: ripgrep 14.1.1 from crates.io). A/A = the base commit built in a worktree (as
  `bench --base` builds it) vs the same commit built in the tree; A/B = the worktree base vs a
  head commit whose `main` busy-waits `slowdown` x the base's median startup, built in the tree.
- `spinner`: a tiny program compiled twice (benchmarks/calibration.SPINNER).

Every comparison is what `nox -s bench -- --base REF` does: fresh copies of both binaries, base
and head interleaved in random order in the same launcher batches, sampled until the 99 % CI is
tight enough, decided by the config's gate (`[tool.nox-cargo.bench]`: floor 3 %, threshold 5 %)
on the median and fast-runs rows. Right after it, hyperfine -N measures the same two files
(`--runs`, one command after the other, as hyperfine does); its verdict is "slower" when the
ratio of its medians is at least 1 + threshold. The startup medians of both tools are compared
per pair. A/A and A/B trials alternate, so a burst of load hits both kinds alike.

    python benchmarks/ab_gate.py [--pair ripgrep|spinner] [--trials 30] [--slowdown 0.10]

Exit status 0 when A/A gave no regression and A/B detected at least 90 % of the trials.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import calibration  # benchmarks/calibration.py, beside this script
import real_pair

from nox_cargo.bench.compare import Gate, Row
from nox_cargo.bench.launcher import build_launcher
from nox_cargo.bench.measure import Side
from nox_cargo.bench.runner import sampling_of
from nox_cargo.bench.staging import fresh_copies
from nox_cargo.project import Project

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Hyperfine:
    base_median: float  # seconds
    head_median: float

    @property
    def ratio(self) -> float:
        return self.head_median / self.base_median


def hyperfine(base: Path, head: Path, args: tuple[str, ...], runs: int) -> Hyperfine:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "hyperfine.json"
        subprocess.run(
            [
                "hyperfine", "-N", "--style", "none", "--warmup", "5", "--runs", str(runs),
                "--export-json", str(out),
                " ".join([str(base), *args]), " ".join([str(head), *args]),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        results = json.loads(out.read_text())["results"]
    return Hyperfine(float(results[0]["median"]), float(results[1]["median"]))


def wall_rows(rows: list[Row]) -> list[Row]:
    return [r for r in rows if r.metric.startswith("wall time (") and r.ratio is not None]


def pair_of(args: argparse.Namespace, work: Path, launcher: Path) -> tuple[Path, Path, Path]:
    """(base, A/A other, A/B head) for the chosen pair, the head calibrated to `slowdown`."""
    if args.pair == "spinner":
        base = calibration.spinner(args.rustc, 0, work / "spin-base")
        other = calibration.spinner(args.rustc, 0, work / "spin-base-again")
    else:
        base, other = real_pair.build_base_pair(work / "ripgrep")
    copy = fresh_copies([Side("base", base)], work / "calibrate")[0].binary
    median_ns = calibration.startup_median_ns(launcher, copy, work, runs=400, args=args.argv)
    spin_ns = int(median_ns * args.slowdown)
    if args.pair == "spinner":
        head = calibration.spinner(args.rustc, spin_ns, work / "spin-head")
    else:
        head = real_pair.build_head(work / "ripgrep", round(spin_ns / 1000))
    print(
        f"pair {args.pair}: base startup median {median_ns / 1e3:.1f} µs (fresh copy, 400 runs); "
        f"head spins {spin_ns / 1e3:.1f} µs (+{args.slowdown:.0%})\n"
        f"  base  {base} ({base.stat().st_size:,} B)\n  A/A   {other}\n  head  {head}",
        flush=True,
    )
    return base, other, head


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pair", choices=("ripgrep", "spinner"), default="ripgrep")
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--slowdown", type=float, default=0.10, help="head startup cost, relative")
    parser.add_argument("--rustc", default=shutil.which("rustc") or "/usr/bin/rustc")
    parser.add_argument("--max-seconds", type=float, default=20.0, help="per comparison")
    parser.add_argument("--hyperfine-runs", type=int, default=200)
    parser.add_argument(
        "--work",
        type=Path,
        default=REPO / "target" / "ab-gate",
        help="scratch dir (outside any Cargo workspace): builds, copies, the ripgrep checkout",
    )
    args = parser.parse_args()
    args.argv = ("--version",) if args.pair == "ripgrep" else ()
    if shutil.which("hyperfine") is None:
        print("hyperfine is not installed (Debian: apt-get install hyperfine)", file=sys.stderr)
        return 2

    project = Project.load(REPO)
    config = project.config.bench
    work = args.work.resolve()
    launcher = build_launcher(args.rustc, project.report_dir / "bench" / "launcher")
    base, other, head = pair_of(args, work, launcher)
    sampling = replace(sampling_of(config), max_seconds=args.max_seconds)
    gate = Gate.from_config(config)
    print(
        f"gate: whole 99 % CI above +{gate.floor:.0%} and ratio >= +{gate.threshold:.0%}, on the "
        f"median and fast-runs rows; sampling {sampling.min_runs}..{sampling.max_runs} pairs, "
        f"target CI ±{sampling.target_half_width:.1%}, ≤ {sampling.max_seconds:.0f} s",
        flush=True,
    )
    flagged = {"A/A": 0, "A/B": 0}
    hyperfine_flagged = {"A/A": 0, "A/B": 0}
    unearned = 0  # A/B trials that claimed to resolve the slowdown yet missed it
    parity: list[float] = []  # our base median / hyperfine's, per comparison
    durations: list[float] = []
    started = time.monotonic()
    for trial in range(args.trials):
        for kind, candidate in (("A/A", other), ("A/B", head)):
            sides = fresh_copies([Side("base", base), Side("head", candidate)], work / "run")
            trial_sampling = replace(sampling, seed=sampling.seed + 1000 * trial + len(kind))
            began = time.monotonic()
            rows = calibration.compare_binaries(
                launcher, sides[0].binary, sides[1].binary, args.argv, trial_sampling, gate, work
            )
            durations.append(time.monotonic() - began)
            theirs = hyperfine(sides[0].binary, sides[1].binary, args.argv, args.hyperfine_runs)
            walls = wall_rows(rows)
            median_row = walls[0]
            called = any(r.verdict == "regression" for r in walls)
            resolved = min(r.detectable or 1.0 for r in walls)
            assert median_row.base is not None
            parity.append(median_row.base * 1e-3 / theirs.base_median)
            flagged[kind] += called
            hyperfine_slower = theirs.ratio >= 1 + gate.threshold
            hyperfine_flagged[kind] += hyperfine_slower
            if kind == "A/B" and not called and resolved <= args.slowdown:
                unearned += 1
            cells = "  ".join(
                f"{'median' if r is median_row else 'p10'} {r.ratio or 0:.3f} "
                f"[{(r.ci or (0, 0))[0]:.3f}, {(r.ci or (0, 0))[1]:.3f}] {r.verdict}"
                for r in walls
            )
            runs = next((int(r.head) for r in rows if r.metric == "runs"), 0)
            print(
                f"{kind} #{trial + 1:2d}: {'REGRESSION' if called else 'pass      '}  {cells}  "
                f"detects ≥ {resolved:.1%}  ({runs} pairs, {durations[-1]:.1f} s)  |  hyperfine "
                f"{theirs.ratio:.3f} {'slower' if hyperfine_slower else 'same'}; base median "
                f"{median_row.base:.3f} ms vs hyperfine {theirs.base_median * 1e3:.3f} ms",
                flush=True,
            )
    minutes = (time.monotonic() - started) / 60
    n = args.trials
    print(
        f"\nA/A: {flagged['A/A']}/{n} reported as regressions (want 0); hyperfine called "
        f"{hyperfine_flagged['A/A']}/{n} slower\n"
        f"A/B (+{args.slowdown:.0%} startup): {flagged['A/B']}/{n} detected (want ≥ "
        f"{int(n * 0.9)}); hyperfine called {hyperfine_flagged['A/B']}/{n} slower\n"
        f"claims not earned (A/B said it resolves ≤ {args.slowdown:.0%} and missed): {unearned}\n"
        f"startup median, nox-cargo / hyperfine -N on the same files: median "
        f"{statistics.median(parity):.3f} (range {min(parity):.3f}..{max(parity):.3f})\n"
        f"one gated comparison: median {statistics.median(durations):.1f} s "
        f"(max {max(durations):.1f} s); all: {minutes:.1f} min"
    )
    ok = flagged["A/A"] == 0 and flagged["A/B"] >= n * 0.9 and unearned == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
