"""What the bench report claims: figures that were measured, gates the run could resolve, Δ
explained, fast runs gated beside the median, the binaries measured from equal fresh copies."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

from nox_cargo import config as cfg
from nox_cargo.bench import report, stats
from nox_cargo.bench.compare import Gate, Row, evaluate
from nox_cargo.bench.measure import Side
from nox_cargo.bench.results import BenchRun, CaseResult, Subject
from nox_cargo.bench.staging import fresh_copies

GATE = Gate.from_config(cfg.BenchConfig())
FP = {"cpu": "Test CPU", "cores": "2", "kernel": "6.1", "arch": "x86_64", "rustc": "rustc 1.63"}


def run_of(
    base: dict[str, tuple[float, ...]] | None, head: dict[str, tuple[float, ...]]
) -> BenchRun:
    return BenchRun(
        created="2026-01-01T00:00:00+00:00",
        fingerprint=dict(FP),
        head=Subject("head", "abc123", "/bin/weft", 1000, "00"),
        cases=(CaseResult("startup", "latency", ("--version",), 0, 1, 2, head, base),),
        comparison="interleaved" if base else "none",
        base=Subject("base", "def456", "/tmp/base", 1000, "11") if base else None,
        base_fingerprint=dict(FP) if base else None,
        settings={"noise_floor_percent": 3.0, "threshold_percent": 5.0, "fresh_copies": True},
    )


def samples(
    walls_ms: list[float], user_us: list[float] | None = None, sys_us: list[float] | None = None
) -> dict[str, tuple[float, ...]]:
    n = len(walls_ms)
    return {
        "wall_ns": tuple(w * 1e6 for w in walls_ms),
        "user_us": tuple(user_us if user_us is not None else [w * 700 for w in walls_ms]),
        "sys_us": tuple(sys_us if sys_us is not None else [w * 200 for w in walls_ms]),
        "maxrss_kib": (2048.0,) * n,
    }


def row(rows: list[Row], prefix: str) -> Row:
    return next(r for r in rows if r.metric.startswith(prefix))


def quiet(rng: random.Random, ms: float, n: int = 300) -> list[float]:
    return [ms * (1 + rng.gauss(0, 0.005)) for _ in range(n)]


# -- CPU times: a tick-sampled split is not a figure ------------------------------------------


def tick_sampled(n: int, total_us: float, rng: random.Random) -> tuple[list[float], list[float]]:
    """What Linux reports for sub-tick runs: the exact total on one side, 0 on the other."""
    user, system = [], []
    for _ in range(n):
        if rng.random() < 0.67:
            user.append(total_us)
            system.append(0.0)
        else:
            user.append(0.0)
            system.append(total_us)
    return user, system


def test_a_quantized_cpu_split_is_not_shown_as_a_figure() -> None:
    rng = random.Random(5)
    walls = quiet(rng, 1.9)
    user, system = tick_sampled(len(walls), 1400.0, rng)
    run = run_of(None, samples(walls, user, system))
    rows = evaluate(run, GATE)
    text = report.markdown(run, rows)
    split = row(rows, "CPU time, user / system split")
    assert split.verdict == "not measured"
    assert "tick-sampled" in split.note
    # The exact sum is shown; no "0.000 ms" (a zero median of a quantized set) anywhere.
    assert abs(row(rows, "CPU time, user + system").head - 1.4) < 1e-9
    assert "0.000 ms" not in text
    assert "system CPU (median)" not in text
    cells = report.cells(split)
    assert cells[2:4] == ("—", "—")


def test_a_measured_cpu_split_is_shown() -> None:
    rng = random.Random(6)
    walls = quiet(rng, 30.0)
    run = run_of(None, samples(walls))
    rows = evaluate(run, GATE)
    assert row(rows, "user CPU (median)").head > 0
    assert row(rows, "system CPU (median)").head > 0
    assert not any(r.verdict == "not measured" for r in rows)


def test_quantized_detects_zero_heavy_sets_only() -> None:
    assert stats.quantized([0.0] * 10 + [1.0] * 90)
    assert not stats.quantized([1.0, 2.0, 3.0] * 40)
    assert not stats.quantized([])


# -- a run that cannot resolve the threshold does not say "unchanged" --------------------------


def test_a_noisy_identical_pair_is_not_gated_but_says_so() -> None:
    rng = random.Random(7)
    base = [1.0 * (1 + abs(rng.gauss(0, 0.3))) for _ in range(40)]
    head = [1.0 * (1 + abs(rng.gauss(0, 0.3))) for _ in range(40)]
    run = run_of(samples(base), samples(head))
    rows = evaluate(run, GATE)
    median = row(rows, "wall time (median")
    assert median.verdict == "too noisy"
    assert median.detectable is not None and median.detectable > GATE.threshold
    text = report.cells(median)[-1]
    assert text.startswith("not gated: too noisy (detects ≥ ")
    assert not median.failed


def test_a_quiet_identical_pair_is_unchanged_with_the_threshold_as_its_resolution() -> None:
    rng = random.Random(8)
    run = run_of(samples(quiet(rng, 1.0)), samples(quiet(rng, 1.0)))
    median = row(evaluate(run, GATE), "wall time (median")
    assert median.verdict == "unchanged"
    assert median.detectable == GATE.threshold


# -- fast runs: a fixed cost that load dilutes in the median -----------------------------------


def loaded(rng: random.Random, ms: float, n: int = 400) -> list[float]:
    """70 % of the runs hit by an independent burst of load (exponential, mean 1.5 ms)."""
    return [
        ms + (rng.expovariate(1 / 1.5) if rng.random() < 0.7 else 0.0) + rng.gauss(0, 0.01)
        for _ in range(n)
    ]


def test_the_fast_runs_row_sees_a_fixed_cost_that_load_blurs_in_the_median() -> None:
    rng = random.Random(3)
    run = run_of(samples(loaded(rng, 1.0)), samples(loaded(rng, 1.1)))
    rows = evaluate(run, GATE)
    median, fast = row(rows, "wall time (median"), row(rows, "wall time (fast runs")
    assert fast.verdict == "regression"
    assert fast.ratio is not None and 1.09 < fast.ratio < 1.11
    assert fast.ci is not None and median.ci is not None
    assert fast.ci[1] - fast.ci[0] < (median.ci[1] - median.ci[0]) / 3


def test_identical_loaded_pairs_pass_both_rows() -> None:
    for seed in range(10):
        rng = random.Random(100 + seed)
        run = run_of(samples(loaded(rng, 1.0)), samples(loaded(rng, 1.0)))
        assert not [r for r in evaluate(run, GATE, seed=seed) if r.failed]


# -- Δ is explained next to the figures ----------------------------------------------------------


def test_the_paired_delta_is_explained_when_it_differs_from_the_figures() -> None:
    # 40 % of the blocks ran quiet (1 ms both), 40 % loaded (3 ms both), and in 20 % only the head
    # run was hit: per pair the head is no slower in most blocks, yet its median is a loaded run.
    rng = random.Random(9)
    base, head = [], []
    for kind in [0] * 120 + [1] * 120 + [2] * 60:
        b = 3.0 if kind == 1 else 1.0
        h = 1.0 if kind == 0 else 3.0
        base.append(b * (1 + rng.gauss(0, 0.003)))
        head.append(h * (1 + rng.gauss(0, 0.003)))
    run = run_of(samples(base), samples(head))
    rows = evaluate(run, GATE)
    median = row(rows, "wall time (median")
    assert median.ratio is not None and abs(median.ratio - 1) < 0.01
    assert median.base is not None and median.head / median.base > 2.5
    text = report.markdown(run, rows)
    assert "¹ Δ is the paired estimate" in text
    assert "Here they differ by more than 2 points: startup, wall time (median ± MAD)" in text
    assert " ¹ |" in text


# -- labels and copies --------------------------------------------------------------------------


def test_a_dirty_ref_keeps_its_dirty_mark_in_the_heading() -> None:
    run = run_of(None, samples([1.0] * 5))
    dirty = replace(run, head=replace(run.head, ref="0123456789abcdef0123+dirty.5f3e0a1b2c3d"))
    assert "`0123456789ab+dirty.5f3e0a1b2c3d`" in report.heading(dirty)
    assert report.short_ref("0123456789abcdef") == "0123456789ab"


def test_fresh_copies_have_equal_path_lengths_and_the_same_bytes(tmp_path: Path) -> None:
    base = tmp_path / "somewhere" / "deep" / "weft"
    head = tmp_path / "dist" / "weft"
    for path, data in ((base, b"base bytes"), (head, b"head bytes!")):
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
        path.chmod(0o755)
    run_dir = tmp_path / "run"
    first = fresh_copies([Side("base", base), Side("head", head)], run_dir)
    assert [s.label for s in first] == ["base", "head"]
    assert len(str(first[0].binary)) == len(str(first[1].binary))
    assert first[0].binary.read_bytes() == b"base bytes"
    assert first[1].binary.stat().st_mode & 0o777 == 0o755
    keep = tmp_path / "old-copy"
    keep.hardlink_to(first[1].binary)
    head.write_bytes(b"new head")
    again = fresh_copies([Side("base", base), Side("head", head)], run_dir)
    assert again[1].binary.read_bytes() == b"new head"
    assert keep.read_bytes() == b"head bytes!"  # a new file, not the old one rewritten
    assert sorted(p.name for p in run_dir.iterdir()) == ["base", "head"]
