"""Is the regression gate right? 30 A/A comparisons (0 regressions wanted) and 30 A/B comparisons
against a build ~10 % slower at startup (at least 27 detections wanted), on this machine, now.

The A/B pair is a tiny Rust program compiled twice (benchmarks.calibration.SPINNER): the head
busy-waits on the monotonic clock for `slowdown` times the base's measured median startup. Every
comparison is what `nox -s bench -- --base REF` does: base and head interleaved in random order in
the same launcher batches, sampled until the 99 % CI is tight enough, decided by the
floor/threshold rule of the config (`[tool.nox-cargo.bench]`, defaults 3 % / 5 %).
A/A and A/B trials alternate, so a burst of load on the shared machine hits both kinds alike.

    python benchmarks/ab_gate.py [--trials 30] [--slowdown 0.10]

Exit status 0 when A/A gave no regression and A/B detected at least 90 % of the trials.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import calibration  # benchmarks/calibration.py, beside this script

from nox_cargo.bench.compare import Gate
from nox_cargo.bench.launcher import build_launcher
from nox_cargo.bench.runner import sampling_of
from nox_cargo.project import Project

REPO = Path(__file__).resolve().parent.parent


OLD_PIPELINE = 's=$(date +%s%N); "$0" >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000000 ))'


def old_pipeline_flags(binary: Path) -> bool:
    """The replaced pipeline on an identical pair: `date +%s%N` around each run in a shell,
    integer milliseconds, 10 runs of A then 10 of B, means compared, +10 % flags."""

    def sample() -> float:
        done = subprocess.run(
            ["sh", "-c", OLD_PIPELINE, str(binary)], capture_output=True, text=True, check=True
        )
        return float(done.stdout.strip())

    a = [sample() for _ in range(10)]
    b = [sample() for _ in range(10)]
    return statistics.fmean(b) > 1.10 * statistics.fmean(a)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--slowdown", type=float, default=0.10, help="head startup cost, relative")
    parser.add_argument("--rustc", default=shutil.which("rustc") or "/usr/bin/rustc")
    parser.add_argument("--max-seconds", type=float, default=20.0, help="per comparison")
    args = parser.parse_args()

    project = Project.load(REPO)
    config = project.config.bench
    work = project.report_dir / "ab-gate"
    launcher = build_launcher(args.rustc, project.report_dir / "bench" / "launcher")
    base = calibration.spinner(args.rustc, 0, work / "spin-base")
    median_ns = calibration.startup_median_ns(launcher, base, work, runs=400)
    spin_ns = int(median_ns * args.slowdown)
    head = calibration.spinner(args.rustc, spin_ns, work / "spin-head")
    check_ns = calibration.startup_median_ns(launcher, head, work, runs=400, seed=1)
    print(
        f"base startup median {median_ns / 1e3:.1f} µs; head spins {spin_ns / 1e3:.1f} µs "
        f"(+{args.slowdown:.0%}); head measured alone, in a separate block: "
        f"{check_ns / 1e3:.1f} µs "
        f"(+{(check_ns / median_ns - 1) * 100:.1f} %)"
    )
    sampling = replace(sampling_of(config), max_seconds=args.max_seconds)
    gate = Gate.from_config(config)
    print(
        f"gate: whole 99 % CI above +{gate.floor:.0%} and ratio >= +{gate.threshold:.0%}; "
        f"sampling {sampling.min_runs}..{sampling.max_runs} pairs, target CI "
        f"±{sampling.target_half_width:.1%}, ≤ {sampling.max_seconds:.0f} s"
    )
    aa_regressions = 0
    ab_detected = 0
    started = time.monotonic()
    for trial in range(args.trials):
        for kind, other in (("A/A", base), ("A/B", head)):
            trial_sampling = replace(sampling, seed=sampling.seed + 1000 * trial + len(kind))
            rows = calibration.compare_binaries(
                launcher, base, other, (), trial_sampling, gate, work
            )
            row = calibration.wall_row(rows)
            assert row.ci is not None and row.base is not None
            runs = next((r.head for r in rows if r.metric == "runs"), 0)
            print(
                f"{kind} #{trial + 1:2d}: base {row.base * 1e3:7.1f} µs  head "
                f"{row.head * 1e3:7.1f} µs  ratio {row.ratio or 0:.3f}  CI "
                f"[{row.ci[0]:.3f}, {row.ci[1]:.3f}]  detects ≥ {(row.detectable or 0):.1%}  "
                f"{row.verdict}" + (f"  ({int(runs)} pairs)" if runs else ""),
                flush=True,
            )
            if kind == "A/A" and row.verdict == "regression":
                aa_regressions += 1
            if kind == "A/B" and row.verdict == "regression":
                ab_detected += 1
    old_flags = sum(old_pipeline_flags(base) for _ in range(args.trials))
    minutes = (time.monotonic() - started) / 60
    print(
        f"\nA/A: {aa_regressions}/{args.trials} reported as regressions (want 0)\n"
        f"A/B (+{args.slowdown:.0%} startup): {ab_detected}/{args.trials} detected "
        f"(want ≥ {int(args.trials * 0.9)})\n"
        f"for contrast, the old pipeline on A/A (date +%s%N in a shell, integer ms, 10 runs of A "
        f"then 10 of A, means, +10 % flags): {old_flags}/{args.trials} false regressions\n"
        f"{minutes:.1f} min"
    )
    return 0 if aa_regressions == 0 and ab_detected >= args.trials * 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())
