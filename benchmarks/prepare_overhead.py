"""Does a `prepare` command move the measured wall time? The same binary and arguments twice,
one copy with a no-op prepare (`true`) run before each of its runs, interleaved in random order
in the same launcher batches: the paired ratio (with prepare / without) should be 1 within its CI.

The binary is the bench stage's head binary (the BuildManifest of `bench.target`, i.e.
`nox -s "build(target=x86_64-gnu)"` first), or `--binary PATH`.

    python benchmarks/prepare_overhead.py [--rounds 5] [--runs 300] [--binary PATH] [--control]
        [-- ARGS...]

Prints each round's medians, minima and paired ratio with its 99 % CI, then the median ratio.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
from pathlib import Path

from nox_cargo.bench import stats
from nox_cargo.bench.launcher import TIMED, WARMUP, Command, RunKind, build_launcher, launch
from nox_cargo.bench.runner import bench_target
from nox_cargo.manifest import BuildManifest
from nox_cargo.project import Project

REPO = Path(__file__).resolve().parent.parent


def one_round(
    launcher: Path, argv: tuple[str, ...], runs: int, seed: int, work: Path, control: bool
) -> tuple[list[float], list[float]]:
    """(wall ns without prepare, wall ns with prepare), block-aligned; `control`: neither copy
    gets the prepare (an A/A check of the pairing itself)."""
    rng = random.Random(seed)
    commands = [Command(argv), Command(argv), Command(("true",))]
    order: list[tuple[int, RunKind]] = []
    for kind, blocks in ((WARMUP, 5), (TIMED, runs)):
        for _ in range(blocks):
            pair = [0, 1]
            rng.shuffle(pair)
            order.extend((i, kind) for i in pair)
    prepare = {} if control else {1: 2}
    batch = launch(launcher, commands, order, work, prepare=prepare, timeout=60)
    walls: list[list[float]] = [[], []]
    for record in sorted(batch.records, key=lambda r: r.seq):
        walls[record.cmd].append(float(record.wall_ns))
    return walls[0], walls[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=300, help="pairs per round")
    parser.add_argument("--binary", type=Path, help="default: the bench stage's head binary")
    parser.add_argument("--control", action="store_true", help="A/A: no prepare on either copy")
    parser.add_argument("args", nargs="*", default=["--version"], help="the binary's arguments")
    args = parser.parse_args()

    project = Project.load(REPO)
    rustc = "rustc"
    binary = args.binary
    if binary is None:
        manifest = BuildManifest.load(project.dist_dir, bench_target(project.config))
        binary = manifest.verified_path(project.dist_dir, project.config.binaries[0])
        rustc = manifest.toolchain_path or rustc
    launcher = build_launcher(rustc, project.report_dir / "bench" / "launcher")
    argv = (str(binary), *args.args)
    what = "control: no prepare on either copy" if args.control else "prepare = `true`"
    print(f"{' '.join(argv)}: {args.rounds} rounds x {args.runs} pairs, {what}")
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        for round_no in range(args.rounds):
            plain, prepared = one_round(
                launcher, argv, args.runs, round_no, Path(tmp), args.control
            )
            estimate = stats.bootstrap_ratio_ci(
                plain, prepared, random.Random(round_no), paired=True
            )
            ratios.append(estimate.ratio)
            print(
                f"round {round_no + 1}: without {stats.median(plain) * 1e-6:.3f} ms "
                f"(min {min(plain) * 1e-6:.3f}), with prepare {stats.median(prepared) * 1e-6:.3f}"
                f" ms (min {min(prepared) * 1e-6:.3f}); paired ratio {estimate.ratio:.4f} "
                f"[{estimate.low:.4f}, {estimate.high:.4f}]",
                flush=True,
            )
    print(f"\nmedian paired ratio over {args.rounds} rounds: {statistics.median(ratios):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
