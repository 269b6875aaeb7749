"""Does a compared command's ratio agree with hyperfine's summary? `weft stats FILE` with
`wc -w FILE` compared, measured by the bench stage's launcher (interleaved, paired ratio with its
CI) and by `hyperfine -N` (its "N times faster than" summary: a ratio of means), alternately in
rounds on one corpus.

    python benchmarks/compare_vs_hyperfine.py --binary PATH --input FILE [--rounds 3] [--runs 200]

Prints each round's two ratios (wc time / weft time) and their medians over the rounds.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from nox_cargo.bench.compare import compared_rows
from nox_cargo.bench.launcher import build_launcher
from nox_cargo.bench.measure import Compared, PreparedCase, Sampling, Side, measure
from nox_cargo.bench.results import CaseResult, ComparedResult


def hyperfine_ratios(commands: list[str], runs: int) -> tuple[float, float, float]:
    """commands[1] / commands[0] from hyperfine's JSON export: ratio of means (its summary), of
    medians and of minima."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "h.json"
        subprocess.run(
            [
                *("hyperfine", "-N", "--style", "none", "--warmup", "5", "--runs", str(runs)),
                *("--export-json", str(out), *commands),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        first, second = json.loads(out.read_text())["results"]
    mean, median, least = (float(second[k]) / float(first[k]) for k in ("mean", "median", "min"))
    return mean, median, least


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", type=Path, required=True, help="a built weft")
    parser.add_argument("--input", type=Path, required=True, help="a text file")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    wc = shutil.which("wc")
    if wc is None or shutil.which("hyperfine") is None:
        print("needs wc and hyperfine on PATH", file=sys.stderr)
        return 2
    corpus = str(args.input.resolve())
    with tempfile.TemporaryDirectory() as tmp:
        launcher = build_launcher("rustc", Path(tmp))
        case = PreparedCase(
            "words",
            "latency",
            ("stats", corpus),
            ("stats", "{input}"),
            None,
            args.input.stat().st_size,
            1,
            compare=(Compared(("wc", "-w", "{input}"), (wc, "-w", corpus)),),
        )
        ours, theirs = [], []
        for round_no in range(args.rounds):
            sampling = Sampling(
                warmup=5, min_runs=args.runs, max_runs=args.runs, max_seconds=600, seed=round_no
            )
            head, other = measure(launcher, case, [Side("head", args.binary)], sampling, Path(tmp))
            result = CaseResult(
                "words",
                "latency",
                case.template_args,
                case.input_bytes,
                1,
                1,
                {k: tuple(v) for k, v in head.items()},
                compared=(ComparedResult(("wc",), {k: tuple(v) for k, v in other.items()}),),
            )
            (row,) = compared_rows(result, "weft", random.Random(round_no))
            assert row.ratio is not None
            mean, median, least = hyperfine_ratios(
                [f"{args.binary} stats {corpus}", f"{wc} -w {corpus}"], args.runs
            )
            theirs.append(median)
            ours.append(row.ratio)
            print(
                f"round {round_no + 1}: nox-cargo {row.note} (ratio of minima "
                f"{min(other['wall_ns']) / min(head['wall_ns']):.3f}); hyperfine -N wc/weft: "
                f"means {mean:.3f}, medians {median:.3f}, minima {least:.3f}",
                flush=True,
            )
    print(
        f"\nmedian over rounds of the wc/weft ratio: nox-cargo (paired) "
        f"{statistics.median(ours):.3f}, hyperfine -N (ratio of medians) "
        f"{statistics.median(theirs):.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
