"""Benchmark: a second `build(target=x86_64-gnu)` with no source change recompiles nothing.

Copies examples/weft without its target/ dir into a scratch project (a noxfile, a pyproject with
the x86_64-gnu target, a git commit for SOURCE_DATE_EPOCH), then runs
`nox -s "build(target=x86_64-gnu)"` twice and reports, for each run, the wall time of the whole
session (nox start to exit, measured around spawn/wait on a monotonic clock), cargo's own time
(the build manifest's duration_seconds) and how many `Compiling` lines cargo printed.

    python benchmarks/rebuild.py [--target x86_64-gnu] [--keep]

Exits 1 when the second run compiled anything or failed. One pair of runs on a shared machine:
the ratio is indicative, not a statistic (and no test asserts on it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WEFT = REPO / "examples" / "weft"
PYPROJECT = """\
[tool.nox-cargo]
workspace = "weft"
binaries = ["weft"]

[[tool.nox-cargo.targets]]
id = "x86_64-gnu"
triple = "x86_64-unknown-linux-gnu"
static = true
"""


def make_project(root: Path) -> None:
    shutil.copytree(WEFT, root / "weft", ignore=shutil.ignore_patterns("target"))
    (root / "noxfile.py").write_text("import nox_cargo\n\nnox_cargo.register()\n")
    (root / "pyproject.toml").write_text(PYPROJECT)
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com"}
    env |= {"GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
    for argv in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "bench"]):
        subprocess.run(argv, cwd=root, env=env, check=True, capture_output=True)


def build_once(root: Path, target: str) -> tuple[float, float, int, int, str]:
    """(wall seconds, cargo seconds, Compiling lines, exit code, output) of one session run."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "CARGO_TARGET_DIR")}
    argv = [sys.executable, "-m", "nox", "-f", str(root / "noxfile.py")]
    # --fresh: the stage cache would reuse the first result; this measures cargo's own rebuild.
    argv += ["-s", f"build(target={target})", "--", "--fresh"]
    start = time.monotonic()
    done = subprocess.run(
        argv,
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    wall = time.monotonic() - start
    compiling = sum(1 for line in done.stdout.splitlines() if line.strip().startswith("Compiling "))
    manifest = root / "dist" / target / "build-manifest.json"
    cargo = json.loads(manifest.read_text())["duration_seconds"] if manifest.is_file() else 0.0
    return wall, float(cargo), compiling, done.returncode, done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="x86_64-gnu")
    parser.add_argument("--keep", action="store_true", help="keep the scratch project")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="nox-cargo-rebuild-"))
    try:
        make_project(scratch)
        first = build_once(scratch, args.target)
        second = build_once(scratch, args.target)
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    for label, (_, _, _, code, output) in (("first", first), ("second", second)):
        if code != 0:
            print(output[-3000:])
            print(f"the {label} build failed (exit {code})", file=sys.stderr)
            return 1
    print(f"build(target={args.target}) on a fresh copy of examples/weft (scratch: {scratch})")
    print(f"{'run':<8}{'session wall':>14}{'cargo':>10}{'Compiling lines':>18}")
    for label, (wall, cargo, compiling, _, _) in (("first", first), ("second", second)):
        print(f"{label:<8}{wall:>13.2f}s{cargo:>9.2f}s{compiling:>18}")
    print(
        f"ratio second/first: session {second[0] / first[0]:.3f}, cargo {second[1] / first[1]:.3f}"
    )
    if second[2]:
        print("FAIL: the second build recompiled something", file=sys.stderr)
        return 1
    print("OK: the second build compiled nothing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
