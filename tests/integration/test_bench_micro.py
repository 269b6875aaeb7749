"""`cargo bench` in the bench stage, for real: a small workspace made here with a criterion 0.5
benchmark (crates.io, `default-features = false`, toolchain pinned to 1.95.0), built by the real
build stage; its estimates must reach bench.md and results.json, and a head whose benchmark does
10x the work of `--base HEAD~1` must fail the gate (non-zero exit) while the unchanged one passes,
base and head run in interleaved rounds, and the base's benchmarks are not built again by the
next gated run.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from nox_cargo.bench.results import load_baseline
from nox_cargo.bench.runner import run_bench
from nox_cargo.errors import CommandFailed
from nox_cargo.project import Project
from tests.integration.conftest import NOXFILE, nox_env, run_nox
from tests.integration.test_bench import LENIENT, git

pytestmark = pytest.mark.integration

TOOLCHAIN = "1.95.0"
CONFIG = """\
[tool.nox-cargo]
workspace = "ws"
binaries = ["tiny"]

[[tool.nox-cargo.targets]]
id = "x86_64-gnu"
triple = "x86_64-unknown-linux-gnu"
static = true

[tool.nox-cargo.bench]
min-runs = 10
max-runs = 20
max-seconds = 3.0
warmup = 1
cases = [{ name = "startup", args = ["--version"] }]
# criterion's defaults (3 s warm-up, 5 s measurement per benchmark) made short for a test
cargo-bench-args = [
    "--", "--warm-up-time", "0.3", "--measurement-time", "0.5", "--sample-size", "50",
]
cargo-bench-rounds = 5
"""
CARGO_TOML = """\
[package]
name = "tiny"
version = "0.1.0"
edition = "2021"

[dev-dependencies]
criterion = { version = "0.5", default-features = false }

[[bench]]
name = "work"
harness = false
"""
LIB = """\
/// A loop the optimizer cannot fold: its cost grows linearly with `n`.
pub fn work(n: u64) -> u64 {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for i in 0..n {
        x = (x.rotate_left(5) ^ i).wrapping_mul(0x0100_0000_01B3);
    }
    x
}
"""
MAIN = 'fn main() {\n    println!("tiny {}", env!("CARGO_PKG_VERSION"));\n}\n'
BENCH = """\
use criterion::{black_box, criterion_group, criterion_main, Criterion};

fn bench(c: &mut Criterion) {
    c.bench_function("work", |b| b.iter(|| tiny::work(black_box(N))));
    let mut group = c.benchmark_group("group");
    group.bench_function("fixed", |b| b.iter(|| tiny::work(black_box(500))));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
"""


def set_work(project: Path, n: int) -> None:
    (project / "ws" / "benches" / "work.rs").write_text(f"const N: u64 = {n};\n{BENCH}")


def make_tiny(project: Path) -> Path:
    """A git checkout of the small workspace: HEAD~1 benches work(2000), HEAD work(20000)."""
    ws = project / "ws"
    (ws / "src").mkdir(parents=True)
    (ws / "benches").mkdir()
    (project / "noxfile.py").write_text(NOXFILE)
    (project / "pyproject.toml").write_text(CONFIG)
    (project / ".gitignore").write_text("dist/\ntarget/\n.nox/\n")
    (ws / "Cargo.toml").write_text(CARGO_TOML)
    (ws / "rust-toolchain.toml").write_text(f'[toolchain]\nchannel = "{TOOLCHAIN}"\n')
    (ws / "src" / "lib.rs").write_text(LIB)
    (ws / "src" / "main.rs").write_text(MAIN)
    set_work(project, 2000)
    subprocess.run(
        ["cargo", f"+{TOOLCHAIN}", "generate-lockfile"], cwd=ws, env=nox_env(), check=True
    )
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "base: work(2000)")
    # 10x: under the whole suite on 2 cores, 3x read +166 % [+57 %, +364 %] in 5 rounds, inside
    # the lenient gate's 80 % floor; the signal must clear the noise of a crowded machine.
    set_work(project, 20000)
    git(project, "commit", "-q", "-am", "head: 10x the work")
    done = run_nox(project, "-s", "build(target=x86_64-gnu)")
    assert done.returncode == 0, done.stdout[-4000:]
    return project


def bench_file(project: Path, name: str) -> Path:
    return Project.load(project, environ=nox_env()).report_dir / "bench" / name


def table_line(project: Path, prefix: str) -> str:
    table = bench_file(project, "bench.md").read_text()
    return next(x for x in table.splitlines() if x.startswith(prefix))


def test_criterion_estimates_reach_the_report_results_and_the_gate(tmp_path: Path) -> None:
    """One test, two phases on one workspace (criterion is compiled once: about a minute)."""
    tiny = make_tiny(tmp_path / "project")
    # -- head only: the estimates in results.json and bench.md ----------------------------------
    project = Project.load(tiny, environ=nox_env())
    run, rows = run_bench(project)
    assert [m.id for m in run.micro] == ["group/fixed", "work"]
    work = next(m for m in run.micro if m.id == "work")
    assert work.head is not None and work.base is None
    assert work.head.low_ns <= work.head.median_ns <= work.head.high_ns
    assert len(work.head.samples_ns) >= 10
    fixed = next(m for m in run.micro if m.id == "group/fixed").head
    assert fixed is not None and fixed.median_ns < work.head.median_ns  # 500 vs 20000 rounds
    assert load_baseline(bench_file(tiny, "results.json")).micro == run.micro
    line = table_line(tiny, "| work | time/iter")
    assert "criterion median" in line and "95 % CI" in line and "| measured |" in line, line
    assert any(r.case == "group/fixed" and r.verdict == "measured" for r in rows)
    assert run.settings["cargo_bench"]["ran"] is True
    # read from this run's own criterion home, not from a stale target/criterion
    assert str(bench_file(tiny, "criterion") / "head") in work.head.source
    # -- gated: HEAD does 10x the work of HEAD~1 -> a regression, non-zero exit ------------------
    args = ["-s", "bench", "--", "--base", "HEAD~1"]
    for option in LENIENT:  # only a large change can trip the gate on a crowded machine
        args += ["-c", option]
    done = run_nox(tiny, *args)
    out = done.stdout
    assert done.returncode != 0, out[-4000:]
    assert "regressed" in out and "Traceback" not in out, out[-4000:]
    assert "the base's benchmarks" in out and "built in a worktree" in out, out[-4000:]
    assert "round 5/5" in out
    results = load_baseline(bench_file(tiny, "results.json"))
    work = next(m for m in results.micro if m.id == "work")
    assert len(work.rounds) == 5
    ratios = sorted(h.median_ns / b.median_ns for b, h in work.rounds)
    assert 5.0 < ratios[2] < 20.0, ratios  # the median round: 20000 vs 2000 rounds of work
    line = table_line(tiny, "| work | time/iter")
    assert "❌ regression" in line and "interleaved: 5 rounds" in line, line
    assert "regression" not in table_line(tiny, "| group/fixed |")  # unchanged code, not flagged
    # -- a second gated run against the same base: the base's benchmarks are not built again ---
    again = run_nox(tiny, *args)
    assert again.returncode != 0, again.stdout[-4000:]
    assert "from the cache (commit, compiler, arguments)" in again.stdout, again.stdout[-4000:]
    assert "base-worktree" not in again.stdout
    assert "❌ regression" in table_line(tiny, "| work | time/iter")
    # -- a benchmark that does not compile: the command is named and nothing is replaced -------
    before = bench_file(tiny, "results.json").read_bytes()
    (tiny / "ws" / "benches" / "work.rs").write_text("fn main() { this is not rust }\n")
    with pytest.raises(CommandFailed) as info:
        run_bench(Project.load(tiny, environ=nox_env()))
    assert "bench --locked -p tiny --bench work" in info.value.message, info.value.message
    assert "cargo bench" in (info.value.hint or "")
    assert bench_file(tiny, "results.json").read_bytes() == before
