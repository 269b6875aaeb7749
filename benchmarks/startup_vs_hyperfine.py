"""Does the bench stage read startup time right? `weft --version` measured by the stage's launcher
and by `hyperfine -N --export-json`, alternately in one run: the medians must agree within ±15 %.

The binary is the one the bench stage measures (the BuildManifest of `bench.target`, i.e.
`nox -s "build(target=x86_64-gnu)"` first), or `--binary PATH`. Rounds alternate the two tools so
that a change of load on the shared machine hits both alike; the figure compared is the median of
each tool's per-round medians.

    python benchmarks/startup_vs_hyperfine.py [--rounds 9] [--runs 200] [--binary PATH]

Exit status 0 when the medians agree within the tolerance.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from nox_cargo.bench import stats
from nox_cargo.bench.launcher import build_launcher
from nox_cargo.bench.measure import PreparedCase, Sampling, Side, measure
from nox_cargo.bench.runner import bench_target
from nox_cargo.manifest import BuildManifest
from nox_cargo.project import Project

REPO = Path(__file__).resolve().parent.parent


def hyperfine_median(binary: Path, args: list[str], runs: int, warmup: int) -> tuple[float, float]:
    """(median, min) in seconds from hyperfine's JSON export."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "hyperfine.json"
        done = subprocess.run(
            [
                "hyperfine",
                "-N",
                "--style",
                "none",
                "--warmup",
                str(warmup),
                "--runs",
                str(runs),
                "--export-json",
                str(out),
                " ".join([str(binary), *args]),
            ],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,  # hyperfine's outlier warnings: the load is the point here
            text=True,
        )
        if done.returncode != 0:
            raise SystemExit(f"hyperfine failed:\n{done.stderr}")
        result = json.loads(out.read_text())["results"][0]
    return float(result["median"]), float(result["min"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--runs", type=int, default=200, help="runs per tool per round")
    parser.add_argument("--binary", type=Path, help="default: the bench stage's head binary")
    parser.add_argument("--tolerance", type=float, default=0.15)
    args = parser.parse_args()
    if shutil.which("hyperfine") is None:
        print("hyperfine is not installed (Debian: apt-get install hyperfine)", file=sys.stderr)
        return 2

    project = Project.load(REPO)
    target_id = bench_target(project.config)
    manifest = BuildManifest.load(project.dist_dir, target_id)
    binary = args.binary or manifest.verified_path(project.dist_dir, project.config.binaries[0])
    launcher = build_launcher(
        manifest.toolchain_path or "rustc", project.report_dir / "bench" / "launcher"
    )
    argv = ["--version"]
    case = PreparedCase("startup", "latency", tuple(argv), tuple(argv), None, 0, 1)
    ours: list[float] = []
    theirs: list[float] = []
    print(f"binary: {binary} {' '.join(argv)}; {args.rounds} rounds x {args.runs} runs per tool")
    for round_no in range(args.rounds):
        sampling = Sampling(
            warmup=5, min_runs=args.runs, max_runs=args.runs, max_seconds=600, seed=round_no
        )
        series = measure(
            launcher, case, [Side("head", binary)], sampling, project.report_dir / "bench" / "work"
        )
        walls = series[0]["wall_ns"]
        our_median = stats.median(walls) * 1e-9
        their_median, their_min = hyperfine_median(binary, argv, args.runs, 5)
        ours.append(our_median)
        theirs.append(their_median)
        print(
            f"round {round_no + 1}: nox-cargo median {our_median * 1e3:.3f} ms "
            f"(min {min(walls) * 1e-6:.3f}, MAD {stats.mad(walls) * 1e-6:.3f}, peak RSS "
            f"{stats.median(series[0]['maxrss_kib']) / 1024:.2f} MiB)   hyperfine -N median "
            f"{their_median * 1e3:.3f} ms (min {their_min * 1e3:.3f})   ratio "
            f"{our_median / their_median:.3f}",
            flush=True,
        )
    a, b = statistics.median(ours), statistics.median(theirs)
    ratio = a / b
    ok = abs(ratio - 1) <= args.tolerance
    print(
        f"\nmedian of medians: nox-cargo {a * 1e3:.3f} ms, hyperfine -N {b * 1e3:.3f} ms, "
        f"ratio {ratio:.3f} ({'within' if ok else 'OUTSIDE'} ±{args.tolerance:.0%})"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
