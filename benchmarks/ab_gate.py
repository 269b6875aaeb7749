"""Is the regression gate right? 30 A/A comparisons (0 regressions wanted) and 30 A/B comparisons
against a build ~10 % slower at startup (at least 27 detections wanted), on this machine, now.

The A/B pair is a tiny Rust program compiled twice (nox_cargo.bench.calibration.SPINNER): the head
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
import sys
import time
from dataclasses import replace
from pathlib import Path

from nox_cargo.bench import calibration
from nox_cargo.bench.compare import Gate
from nox_cargo.bench.launcher import Command, build_launcher, launch
from nox_cargo.bench.runner import sampling_of
from nox_cargo.project import Project

REPO = Path(__file__).resolve().parent.parent


def old_method_flags(launcher: Path, binary: Path, work: Path) -> bool:
    """The replaced pipeline's rule on an identical pair: sequential blocks of 10, means, +10 %."""
    order = [(0, True)] * 10 + [(1, True)] * 10
    batch = launch(launcher, [Command((str(binary),)), Command((str(binary),))], order, work)
    a = [r.wall_ns for r in batch.records if r.cmd == 0]
    b = [r.wall_ns for r in batch.records if r.cmd == 1]
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
    old_flags = sum(old_method_flags(launcher, base, work) for _ in range(args.trials))
    minutes = (time.monotonic() - started) / 60
    print(
        f"\nA/A: {aa_regressions}/{args.trials} reported as regressions (want 0)\n"
        f"A/B (+{args.slowdown:.0%} startup): {ab_detected}/{args.trials} detected "
        f"(want ≥ {int(args.trials * 0.9)})\n"
        f"for contrast, the old method (10 runs of A, then 10 of the same A, means, +10 % flags): "
        f"{old_flags}/{args.trials} false regressions (with this launcher's exact timer)\n"
        f"{minutes:.1f} min"
    )
    return 0 if aa_regressions == 0 and ab_detected >= args.trials * 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())
