"""Does the history alert fire on a real slowdown, and only then? A series of real results.

A copy of examples/weft (one target, `startup` and `invocations` cases) is saved into a series
`--runs` times with `nox -s bench -- --save bench-history/main.jsonl`; then weft's `main` gets a
busy-wait of `--spin-us` µs, is committed and rebuilt, and one more run is saved. Every run but
the last must not alert; the last must alert on `startup` (and on `invocations`, whose runs pay
the same delay). The trend chart is copied out (and rendered to PNG when rsvg-convert exists).

    python benchmarks/history_trend.py [--runs 6] [--spin-us 150] [--out DIR]

Exit status 0 when the alerts came exactly where the slowdown is.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from calibration import git, with_spin  # benchmarks/calibration.py, beside this script

REPO = Path(__file__).resolve().parent.parent
CONFIG = """
[[tool.nox-cargo.targets]]
id = "x86_64-gnu"
triple = "x86_64-unknown-linux-gnu"
static = true

[tool.nox-cargo.bench]
max-seconds = 10.0

[[tool.nox-cargo.bench.cases]]
name = "startup"
args = ["--version"]

[[tool.nox-cargo.bench.cases]]
name = "invocations"
args = ["--version"]
mode = "throughput"
invocations = 50
"""


def bench(root: Path) -> tuple[float, str]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "nox", "-s", "bench", "--", "--save", "bench-history/main.jsonl"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"nox -s bench failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return time.monotonic() - started, done.stdout + done.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=6, help="results saved before the slowdown")
    parser.add_argument("--spin-us", type=int, default=150)
    parser.add_argument("--out", type=Path, default=Path("history-trend"))
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="history-trend-")) / "project"
    root.mkdir(parents=True)
    shutil.copytree(
        REPO / "examples" / "weft", root / "weft", ignore=shutil.ignore_patterns("target")
    )
    (root / "noxfile.py").write_text("import nox_cargo\n\nnox_cargo.register()\n")
    (root / "pyproject.toml").write_text(
        f'[tool.nox-cargo]\nworkspace = "weft"\nbinaries = ["weft"]\n{CONFIG}'
    )
    (root / ".gitignore").write_text("dist/\ntarget/\n.nox/\nbench-history/\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "weft")
    report = root / "weft" / "target" / "nox-cargo" / "bench"
    wrong: list[str] = []
    for index in range(args.runs + 1):
        if index == args.runs:
            main_rs = root / "weft" / "crates" / "weft" / "src" / "main.rs"
            main_rs.write_text(with_spin(main_rs.read_text(), args.spin_us))
            git(root, "commit", "-qam", f"a {args.spin_us} µs busy-wait in main")
        seconds, output = bench(root)
        alerted = "history alert:" in output
        expected = index == args.runs
        print(f"run {index + 1}: {seconds:.0f} s, alert: {alerted}", flush=True)
        if alerted != expected:
            wrong.append(f"run {index + 1}: alert {alerted}, expected {expected}")
    markdown = (report / "bench.md").read_text()
    print(markdown[markdown.index("### History") :])
    args.out.mkdir(parents=True, exist_ok=True)
    shutil.copy2(report / "bench-trend.svg", args.out / "bench-trend.svg")
    shutil.copy2(root / "bench-history" / "main.jsonl", args.out / "main.jsonl")
    if shutil.which("rsvg-convert"):
        subprocess.run(
            [
                "rsvg-convert",
                "-o",
                str(args.out / "bench-trend.png"),
                str(args.out / "bench-trend.svg"),
            ],
            check=True,
        )
    print(f"chart and series: {args.out}")
    for line in wrong:
        print(f"WRONG: {line}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
