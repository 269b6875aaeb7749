"""Benchmark: what a pipeline costs when nothing changed, side by side with what it wraps.

Makes a scratch project around a fresh copy of examples/weft (this repository's [tool.nox-cargo]
config, its Dockerfile, a git commit), then in one run:

1. plain `nox` on it, first run (cold) and second run (nothing changed);
2. (a) one code line of weft-core changed (ONE_LINE), plain `nox` again, then (b) a comment-only
   change to the same file (a line appended: no code line moves), plain `nox` again: for each,
   which sessions ran (and why), which were reused (`cached:`), and which staged binaries came
   out with other bytes (the later stages are keyed on those bytes, not on the build re-running);
3. on that warm tree, alternating in random order, N rounds each:
   `nox -s "lint(step=clippy)"` vs the same `cargo clippy` command in the workspace,
   `nox -s "lint(step=clippy)"` vs `nox -l`, and `nox -l` vs `python -c "import nox"`.

Every time is taken around spawn/wait of the process on a monotonic clock; CPU time (user + sys
of the child, from wait4) is shown beside it because it moves less on a loaded machine. Medians
of N; ratios and differences of the medians. The machine's load average is printed before and
after: on a shared machine, read the differences, not the absolute times. nox-cargo's modules
are byte-compiled first (`compileall`), as an installed package is: with PYTHONDONTWRITEBYTECODE
set and no `__pycache__`, every process would compile them from source (about 40 ms).

    python benchmarks/pipeline.py [-n 7] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WEFT = REPO / "examples" / "weft"
NOXFILE = "import nox_cargo\n\nnox_cargo.register()\n"
# A code line of weft-core (not a comment): the stages that compile it must run again.
ONE_LINE = (
    "crates/weft-core/src/stats.rs",
    "pub fn normalize_word",
    "#[inline(never)]\npub fn normalize_word",
)


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float
    code: int
    output: str


def run(argv: Sequence[str], cwd: Path, env: dict[str, str]) -> Timing:
    start = time.monotonic()
    proc = subprocess.Popen(
        list(argv), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    out, _ = proc.communicate()
    wall = time.monotonic() - start
    # communicate() reaped the child: its rusage is in RUSAGE_CHILDREN; take it by difference.
    return Timing(wall, 0.0, proc.returncode, out)


def timed(argv: Sequence[str], cwd: Path, env: dict[str, str]) -> Timing:
    """Wall and CPU (user+sys) of one process tree, measured around spawn/wait."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    timing = run(argv, cwd, env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Timing(timing.wall, cpu, timing.code, timing.output)


def make_project(root: Path) -> Path:
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    start = text.index("[tool.nox-cargo]")
    end = text.index("\n[tool.", start + 1)
    while text[end + 1 :].startswith("[tool.nox-cargo"):
        end = text.index("\n[tool.", end + 1)
    config = text[start:end].replace('workspace = "examples/weft"', 'workspace = "weft"')
    root.mkdir(parents=True)
    shutil.copytree(WEFT, root / "weft", ignore=shutil.ignore_patterns("target"))
    shutil.copy(REPO / "Dockerfile", root / "Dockerfile")
    (root / "noxfile.py").write_text(NOXFILE)
    (root / "pyproject.toml").write_text(config + "\n")
    (root / ".gitignore").write_text("/dist/\n/weft/target/\n")
    git = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.com"}
    git |= {"GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.com"}
    for argv in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "b"]):
        subprocess.run(argv, cwd=root, env=git, check=True, capture_output=True)
    return root


def staged_binaries(root: Path) -> dict[str, str]:
    """sha256 of every binary the build stages staged, by `<target>/<name>`."""
    found = {}
    for manifest in sorted((root / "dist").glob("*/build-manifest.json")):
        for artifact in json.loads(manifest.read_text(encoding="utf-8"))["artifacts"]:
            found[f"{manifest.parent.name}/{artifact['name']}"] = artifact["sha256"]
    return found


REASONS: dict[str, str] = {}  # session → why its recorded result was not reused (last log read)


def sessions_of(output: str) -> tuple[list[str], list[str], list[str]]:
    """(sessions that did their work, sessions whose recorded result was reused, sessions
    skipped) in a nox log; the no-op parents (`lint`, `build`) are left out."""
    ran, cached = [], []
    REASONS.clear()
    current = None
    for line in output.splitlines():
        match = re.match(r"nox > Running session (\S+)", line)
        if match:
            current = match.group(1)
            ran.append(current)
        elif current and "cached: unchanged since" in line:
            cached.append(current)
        elif current and line.startswith("nox-cargo: cache: ") and line.endswith("; running"):
            REASONS[current] = line.removeprefix("nox-cargo: cache: ").removesuffix("; running")
    skipped = re.findall(r"^nox > \* (\S+): skipped", output, flags=re.MULTILINE)
    parents = {s for s in ran if "(" not in s and any(o.startswith(s + "(") for o in ran)}
    worked = [s for s in ran if s not in cached and s not in skipped and s not in parents]
    return [f"{s} [{REASONS[s]}]" if s in REASONS else s for s in worked], cached, skipped


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def compare(
    label: str,
    a: tuple[str, list[str]],
    b: tuple[str, list[str]],
    n: int,
    cwd: Path,
    env: dict[str, str],
) -> None:
    samples: dict[str, list[Timing]] = {a[0]: [], b[0]: []}
    order = [a, b] * n
    random.Random(20261202).shuffle(order)
    for _, argv in [a, b]:  # one warm-up each
        timed(argv, cwd, env)
    for name, argv in order:
        done = timed(argv, cwd, env)
        if done.code != 0:
            print(done.output[-2000:])
            raise SystemExit(f"{name} failed")
        samples[name].append(done)
    wall = {k: median([t.wall for t in v]) for k, v in samples.items()}
    cpu = {k: median([t.cpu for t in v]) for k, v in samples.items()}
    print(f"\n{label} (medians of {n}, alternating in random order)")
    for name in samples:
        print(f"  {name:<42} wall {wall[name]:6.3f} s   cpu {cpu[name]:6.3f} s")
    x, y = a[0], b[0]
    print(
        f"  difference: wall {wall[x] - wall[y]:+.3f} s (ratio {wall[x] / wall[y]:.2f}), "
        f"cpu {cpu[x] - cpu[y]:+.3f} s (ratio {cpu[x] / max(cpu[y], 1e-9):.2f})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=7, help="rounds of each side-by-side pair")
    parser.add_argument("--keep", action="store_true", help="keep the scratch project")
    options = parser.parse_args()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CI", "GITHUB_ACTIONS", "CARGO_TARGET_DIR") and not k.startswith("NOX_CARGO")
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    # Byte-compiled like an installed package (see the docstring); nothing else is written.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "src")], check=True)
    print(f"load average before: {os.getloadavg()}, {os.cpu_count()} CPUs")
    scratch = Path(tempfile.mkdtemp(prefix="nox-cargo-pipeline-"))
    try:
        root = make_project(scratch / "project")
        nox = [sys.executable, "-m", "nox", "-f", str(root / "noxfile.py")]
        first = timed(nox, root, env)
        second = timed(nox, root, env)
        ran, cached, skipped = sessions_of(second.output)
        for label, done in (("first run: ", first), ("second run:", second)):
            print(
                f"plain nox, {label} {done.wall:7.1f} s wall, {done.cpu:6.1f} s cpu "
                f"(exit {done.code})"
            )
        print(
            f"  second run: {len(cached)} sessions reused, {len(skipped)} skipped (this machine "
            f"cannot), ran again: {', '.join(ran) or 'none'}"
        )

        path, old, new = ONE_LINE
        source = root / "weft" / path
        for what, change in (
            ("(a) one code line of weft-core changed", lambda text: text.replace(old, new, 1)),
            ("(b) a comment appended to weft-core", lambda text: text + "// a comment\n"),
        ):
            before = staged_binaries(root)
            source.write_text(change(source.read_text()))
            done = timed(nox, root, env)
            ran, cached, skipped = sessions_of(done.output)
            after = staged_binaries(root)
            differ = [name for name in after if before.get(name) != after[name]]
            print(f"\n{what}: plain nox {done.wall:.1f} s wall (exit {done.code})")
            print(f"  ran again: {', '.join(ran)}")
            print(f"  reused:    {', '.join(cached) or 'none'}")
            print(f"  staged binaries with other bytes: {', '.join(differ) or 'none'}")

        weft = root / "weft"
        clippy = ["cargo", "clippy", "--workspace", "--locked", "--", "-D", "warnings"]
        compare(
            "nox-cargo vs the cargo command it runs (warm tree, nothing changed)",
            ('nox -s "lint(step=clippy)"', [*nox, "-s", "lint(step=clippy)"]),
            ("cargo clippy --workspace --locked -- -D warnings", clippy),
            options.n,
            weft,
            env,
        )
        compare(
            "a cached session vs listing the sessions (nox-cargo's own per-session cost)",
            ('nox -s "lint(step=clippy)"', [*nox, "-s", "lint(step=clippy)"]),
            ("nox -l", [*nox, "-l"]),
            options.n,
            root,
            env,
        )
        compare(
            "listing the sessions vs importing nox",
            ("nox -l", [*nox, "-l"]),
            ('python -c "import nox"', [sys.executable, "-c", "import nox"]),
            options.n,
            root,
            env,
        )
    finally:
        print(f"\nload average after: {os.getloadavg()}")
        if options.keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
