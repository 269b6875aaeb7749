"""bench for real: the launcher's peak RSS against programs of known size, the whole stage on a
weft built by `build(target=x86_64-gnu)`, `--base` through a git worktree, a small A/A + A/B run
of the gate, and bad input (baseline, ref, failing case) leaving every file as it was.

No timing is asserted except through the gate's own ratio logic; the A/B slowdown here is large
(the head spins as long again as the base's whole startup) so that the check cannot flake.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from benchmarks import calibration

from nox_cargo.bench import stats
from nox_cargo.bench.baseref import BaseRefError, StageBuilder
from nox_cargo.bench.compare import Gate
from nox_cargo.bench.launcher import Command, RunFailed, RunKind, build_launcher, launch
from nox_cargo.bench.measure import PreparedCase, Sampling, Side, measure
from nox_cargo.bench.results import BaselineError, load_baseline
from nox_cargo.bench.runner import BenchRegression, run_bench
from nox_cargo.config import BenchConfig
from nox_cargo.fsutil import locked
from nox_cargo.project import Project
from tests.conftest import require
from tests.integration.conftest import make_project, nox_env, run_nox

pytestmark = pytest.mark.integration

RUSTC = shutil.which("rustc") or "/usr/bin/rustc"
MIB = 1024
CONFIG = """
[[tool.nox-cargo.targets]]
id = "x86_64-gnu"
triple = "x86_64-unknown-linux-gnu"
static = true

[tool.nox-cargo.bench]
min-runs = 10
max-runs = 40
max-seconds = 5.0
warmup = 2

[[tool.nox-cargo.bench.cases]]
name = "startup"
args = ["--version"]

[[tool.nox-cargo.bench.cases]]
name = "stats"
args = ["stats", "{input}"]
input-kind = "text"
input-size = "200 KB"

[[tool.nox-cargo.bench.cases]]
name = "stdin-count"
args = ["count"]
input-kind = "text"
input-size = "50 KB"
stdin = true

[[tool.nox-cargo.bench.cases]]
name = "invocations"
args = ["--version"]
mode = "throughput"
invocations = 10
"""
# A gate no noise on a shared machine can trip: for tests of plumbing, not of statistics.
LENIENT = ["bench.noise-floor-percent=80", "bench.threshold-percent=90"]


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


@pytest.fixture(scope="session")
def launcher(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_launcher(RUSTC, tmp_path_factory.mktemp("launcher"))


@pytest.fixture(scope="session")
def built_weft(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A weft project (a git checkout) with the real build stage's dist/x86_64-gnu, built once
    and shared by the xdist workers through a lock."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    root = shared / "bench-weft"
    with locked(shared, ".bench-weft.lock"):
        done = root / "done"
        if not done.is_file():
            if root.exists():
                shutil.rmtree(root)
            project = make_project(root / "project", CONFIG)
            (project / ".gitignore").write_text("dist/\ntarget/\n.nox/\n")
            git(project, "init", "-q")
            git(project, "add", "-A")
            git(project, "commit", "-q", "-m", "weft")
            result = run_nox(project, "-s", "build(target=x86_64-gnu)")
            assert result.returncode == 0, result.stdout[-4000:]
            done.write_text("ok")
    return root / "project"


@pytest.fixture
def weft(built_weft: Path, tmp_path: Path) -> Path:
    """A private copy of the built project (own report dir): tests may write and compare."""
    copy = tmp_path / "project"
    shutil.copytree(built_weft, copy, ignore=shutil.ignore_patterns("target", ".nox"))
    return copy


def load(project: Path, *overrides: str) -> Project:
    return Project.load(project, environ=nox_env(), overrides=list(overrides))


def measure_rss_mib(launcher: Path, binary: Path, args: tuple[str, ...], work: Path) -> float:
    case = PreparedCase("rss", "latency", args, args, None, 0, 1)
    sampling = Sampling(warmup=1, min_runs=5, max_runs=5, max_seconds=60)
    series = measure(launcher, case, [Side("t", binary)], sampling, work)
    return stats.median(series[0]["maxrss_kib"]) / MIB


# -- accuracy --------------------------------------------------------------------------------


def test_peak_rss_of_a_64_mib_program_is_64_to_70_mib(launcher: Path, tmp_path: Path) -> None:
    toucher = calibration.toucher(RUSTC, 64, tmp_path / "touch64")
    rss = measure_rss_mib(launcher, toucher, (), tmp_path)
    assert 64 <= rss <= 70, f"peak RSS {rss:.2f} MiB"


def test_weft_version_peak_rss_is_under_4_mib(launcher: Path, built_weft: Path) -> None:
    weft = built_weft / "dist" / "x86_64-gnu" / "weft"
    rss = measure_rss_mib(launcher, weft, ("--version",), built_weft / "rss-work")
    assert rss < 4, f"peak RSS {rss:.2f} MiB"


def test_a_python_child_would_inherit_pythons_high_water_mark(launcher: Path) -> None:
    """Why the launcher exists: the same `weft --version` spawned from this Python process
    reports Python's peak RSS, far above what the launcher measures."""
    if sys.platform == "win32":
        pytest.skip("fork and wait4 are POSIX")
    ballast = bytearray(48 * 1024 * 1024)  # make this process's high-water mark obvious
    ballast[::4096] = b"x" * len(ballast[::4096])
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        os.execv("/bin/true", ["/bin/true"])
    _, _, usage = os.wait4(pid, 0)
    assert usage.ru_maxrss / MIB > 40
    del ballast


def test_peak_rss_comes_from_forked_runs_not_spawned_ones(launcher: Path, tmp_path: Path) -> None:
    """Timed runs are posix_spawn'ed (a vfork: the child's peak includes the launcher's own,
    ~2 MB); the peak-RSS samples come from forked runs, which report the program's own."""
    true = shutil.which("true") or "/bin/true"
    order: list[tuple[int, RunKind]] = [(0, "m")] * 5 + [(0, "r")] * 5
    batch = launch(launcher, [Command((true,))], order, tmp_path)
    timed = [r.maxrss_kib for r in batch.records if order[r.seq][1] == "m"]
    forked = [r.maxrss_kib for r in batch.records if order[r.seq][1] == "r"]
    assert max(forked) < min(timed), (forked, timed)
    assert stats.median(forked) / MIB < 1.6, forked


def test_a_missing_command_is_named_not_started(launcher: Path, tmp_path: Path) -> None:
    with pytest.raises(RunFailed, match=r"could not be started \(exit 127"):
        launch(launcher, [Command(("no-such-command-nox-cargo",))], [(0, "m")] * 2, tmp_path)


def test_launcher_feeds_stdin_from_the_file_every_run(launcher: Path, tmp_path: Path) -> None:
    """`grep -q` succeeds only when it reads the needle: every run must see the whole file."""
    needle = tmp_path / "needle.txt"
    needle.write_text("hay\n" * 1000 + "needle\n")
    batch = launch(
        launcher, [Command(("grep", "-q", "needle"), needle)], [(0, "m")] * 5, tmp_path, jobs=2
    )
    assert [r.status for r in batch.records] == [0] * 5
    hay = tmp_path / "hay.txt"
    hay.write_text("hay\n")
    with pytest.raises(RunFailed, match="exited with status 1"):
        launch(launcher, [Command(("grep", "-q", "needle"), hay)], [(0, "m")], tmp_path)


# -- the stage -------------------------------------------------------------------------------


def test_bench_writes_every_output(weft: Path) -> None:
    _, rows = run_bench(load(weft))
    out = load(weft).report_dir / "bench"
    results = load_baseline(out / "results.json")
    assert results.comparison == "none"
    assert {c.name for c in results.cases} == {"startup", "stats", "stdin-count", "invocations"}
    stats_case = next(c for c in results.cases if c.name == "stats")
    assert stats_case.input_bytes > 190_000
    assert len(stats_case.head["wall_ns"]) >= 10
    assert (out / "bench.md").read_text().count("| startup |") >= 5
    ET.fromstring((out / "bench.svg").read_text())
    assert json.loads((out / "hyperfine.json").read_text())["results"][0]["times"]
    smaller = json.loads((out / "github-action-benchmark-smaller.json").read_text())
    bigger = json.loads((out / "github-action-benchmark-bigger.json").read_text())
    assert any(e["unit"] == "MiB" for e in smaller)
    assert any(e["unit"] == "MB/s" for e in bigger)
    assert any(r.metric.startswith("binary") and r.head > 0 for r in rows)


def test_save_then_baseline_is_a_cross_run_comparison(weft: Path) -> None:
    saved = weft / "baseline.json"
    run_bench(load(weft), save_path=saved)
    # Two runs minutes apart on a crowded machine differ by whatever the load did in between
    # (here once 6.5x): make the saved base 1000x slower, so that no load can turn this
    # comparison into a regression; what is checked is the kind of comparison, not the verdict.
    document = json.loads(saved.read_text())
    for case in document["cases"]:
        for key in ("wall_ns", "batch_ns_seq", "batch_ns_par"):
            if key in case["head"]:
                case["head"][key] = [t * 1000 for t in case["head"][key]]
    saved.write_text(json.dumps(document))
    run, rows = run_bench(load(weft, *LENIENT), baseline_path=saved)
    assert run.comparison == "baseline"
    wall = next(r for r in rows if r.case == "startup" and r.metric.startswith("wall time (med"))
    # Same machine: a verdict, never "inconclusive".
    assert wall.verdict == "improvement" and wall.ci_is_ratio and wall.base is not None
    assert "cross-run" in wall.note
    assert "saved baseline" in (load(weft).report_dir / "bench" / "bench.md").read_text()


def test_a_regression_fails_with_the_table_and_still_writes_the_report(weft: Path) -> None:
    saved = weft / "baseline.json"
    run_bench(load(weft), save_path=saved)
    document = json.loads(saved.read_text())
    startup = next(c for c in document["cases"] if c["name"] == "startup")
    # "was 100x faster": no load on a shared machine can hide that, across runs
    startup["head"]["wall_ns"] = [t / 100 for t in startup["head"]["wall_ns"]]
    saved.write_text(json.dumps(document))
    with pytest.raises(BenchRegression) as info:  # lenient: only the doctored case can trip it
        run_bench(load(weft, *LENIENT), baseline_path=saved)
    assert "| startup | wall time (median ± MAD) |" in info.value.message
    assert "❌ regression" in info.value.message
    report = load(weft).report_dir / "bench"
    table = (report / "bench.md").read_text()
    assert "regression(s)**" in table
    assert any(
        line.startswith("| startup | wall time (median") and "❌ regression" in line
        for line in table.splitlines()
    )
    assert load_baseline(report / "results.json").comparison == "baseline"


def test_base_ref_is_built_in_a_worktree_and_measured_interleaved(weft: Path) -> None:
    run, rows = run_bench(load(weft, *LENIENT), base_ref="HEAD")
    assert run.comparison == "interleaved"
    assert run.base is not None and run.base.ref == git(weft, "rev-parse", "HEAD").strip()
    for case in run.cases:
        assert case.base is not None
        first = next(iter(case.head))
        assert len(case.base[first]) == len(case.head[first])  # pairs
    assert not any(r.failed for r in rows)
    worktrees = git(weft, "worktree", "list").strip().splitlines()
    assert len(worktrees) == 1, worktrees  # the base worktree is gone again


@dataclass
class CountingBuilder:
    """The stage's own base builder, counting the builds it really runs."""

    inner: StageBuilder
    builds: int = 0

    def key(self) -> str:
        return self.inner.key()

    def build(self, workspace: Path, target_dir: Path) -> Path:
        self.builds += 1
        return self.inner.build(workspace, target_dir)


def test_a_second_gated_run_reuses_the_base_build_and_a_dirty_head_says_so(weft: Path) -> None:
    project = load(weft, *LENIENT, "bench.max-seconds=2", "bench.min-runs=10")
    builder = CountingBuilder(StageBuilder(project, "x86_64-gnu", "weft"))
    commit = git(weft, "rev-parse", "HEAD").strip()
    first, _ = run_bench(project, base_ref="HEAD", builder=builder)
    assert first.head.ref == commit
    (weft / "scratch.txt").write_text("an untracked change\n")
    second, _ = run_bench(project, base_ref="HEAD", builder=builder)
    assert builder.builds == 1  # cached by commit + build plan
    assert second.head.ref.startswith(commit + "+dirty.")
    report = (project.report_dir / "bench" / "bench.md").read_text(encoding="utf-8")
    assert f"`{commit[:12]}+dirty." in report
    (weft / "scratch.txt").write_text("another change\n")
    third, _ = run_bench(project, base_ref="HEAD", builder=builder)
    assert third.head.ref != second.head.ref  # the label names the changes, not just "dirty"


# -- bad input: a clear error naming the culprit, nothing overwritten ---------------------------


def snapshot(directory: Path) -> dict[str, bytes]:
    if not directory.exists():
        return {}
    return {str(p): p.read_bytes() for p in sorted(directory.rglob("*.json")) if p.is_file()}


@pytest.fixture
def measured(weft: Path) -> Path:
    """A project that has a previous result and a saved file that must survive bad runs."""
    run_bench(load(weft))
    (weft / "keep.json").write_text("previous save")
    return weft


@pytest.mark.parametrize("defect", ["corrupt", "truncated", "wrong-schema"])
def test_bad_baseline_changes_nothing(measured: Path, defect: str) -> None:
    report = load(measured).report_dir / "bench"
    good = (report / "results.json").read_text()
    bad = measured / "base.json"
    bad.write_text(
        {
            "corrupt": "this is not json",
            "truncated": good[: len(good) // 3],
            "wrong-schema": good.replace('"schema_version": 1', '"schema_version": 7'),
        }[defect]
    )
    before = snapshot(report)
    with pytest.raises(BaselineError) as info:
        run_bench(load(measured), baseline_path=bad, save_path=measured / "keep.json")
    assert str(bad) in info.value.message
    assert snapshot(report) == before
    assert (measured / "keep.json").read_text() == "previous save"


def test_unknown_base_ref_changes_nothing(measured: Path) -> None:
    report = load(measured).report_dir / "bench"
    before = snapshot(report)
    with pytest.raises(BaseRefError) as info:
        run_bench(load(measured), base_ref="no-such-branch", save_path=measured / "keep.json")
    assert "'no-such-branch' does not exist" in info.value.message
    assert snapshot(report) == before
    assert (measured / "keep.json").read_text() == "previous save"


def test_failing_case_names_it_and_changes_nothing(measured: Path) -> None:
    pyproject = measured / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text()
        + '\n[[tool.nox-cargo.bench.cases]]\nname = "broken"\nargs = ["frobnicate"]\n'
    )
    report = load(measured).report_dir / "bench"
    before = snapshot(report)
    with pytest.raises(RunFailed) as info:
        run_bench(load(measured), save_path=measured / "keep.json")
    assert "case `broken`" in info.value.message
    assert "exited with status 2" in info.value.message
    assert "unknown command: frobnicate" in info.value.message  # weft's own stderr
    assert snapshot(report) == before
    assert (measured / "keep.json").read_text() == "previous save"


def test_nox_bench_runs_after_its_build_and_fails_cleanly_on_a_corrupt_baseline(
    weft: Path,
) -> None:
    done = run_nox(weft, "-s", "bench", "--", "-c", "bench.save=saved.json")
    assert done.returncode == 0, done.stdout[-3000:]
    assert "Running session build(target=x86_64-gnu)" in done.stdout  # requires= the build
    assert "no regression" in done.stdout
    assert load_baseline(weft / "saved.json").comparison == "none"
    (weft / "bad.json").write_text('{"kind": "nox-cargo-bench", "schema_version": 1, "cas')
    # nox hands posargs to the prerequisite build too: the config key is the form that works.
    done = run_nox(weft, "-s", "bench", "--", "-c", "bench.baseline=bad.json")
    assert done.returncode != 0
    assert "bad.json is corrupt or truncated" in done.stdout, done.stdout[-3000:]
    assert "Traceback" not in done.stdout


# -- the gate, small: 3 A/A without a regression, 3 A/B with a big slowdown detected ------------


def test_gate_small_aa_and_ab(launcher: Path, tmp_path: Path) -> None:
    base = calibration.spinner(RUSTC, 0, tmp_path / "base")
    startup = calibration.startup_median_ns(launcher, base, tmp_path, runs=100)
    require(startup > 0, "the launcher measured nothing")
    head = calibration.spinner(RUSTC, int(startup), tmp_path / "head")  # ~2x the startup
    gate = Gate.from_config(BenchConfig())
    sampling = Sampling(warmup=3, min_runs=30, max_runs=150, max_seconds=10)
    aa, ab = [], []
    for trial in range(3):
        trial_sampling = replace(sampling, seed=trial)
        rows = calibration.compare_binaries(
            launcher, base, base, (), trial_sampling, gate, tmp_path
        )
        aa.append(calibration.wall_row(rows).verdict)
        rows = calibration.compare_binaries(
            launcher, base, head, (), trial_sampling, gate, tmp_path
        )
        ab.append(calibration.wall_row(rows).verdict)
    assert aa.count("regression") == 0, aa
    assert ab.count("regression") >= 2, ab
