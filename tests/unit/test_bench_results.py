"""Bench results without measuring: baselines (good and bad), verdict rows, reports, exports."""

from __future__ import annotations

import json
import random
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from nox_cargo import config as cfg
from nox_cargo.bench import chart, exports, report
from nox_cargo.bench.compare import Gate, Row, evaluate, regressions, size_rows
from nox_cargo.bench.launcher import Command, parse_record, spec_text
from nox_cargo.bench.results import (
    BaselineError,
    BenchRun,
    CaseResult,
    SizeEntry,
    Subject,
    load_baseline,
)
from nox_cargo.bench.runner import bench_target, with_baseline
from nox_cargo.errors import ConfigError, NoxCargoError

FP = {"cpu": "Test CPU", "cores": "2", "kernel": "6.1", "arch": "x86_64", "rustc": "rustc 1.63"}
GATE = Gate.from_config(cfg.BenchConfig())


def series(
    rng: random.Random, wall_ms: float, n: int = 60, rss_kib: float = 1200
) -> dict[str, tuple[float, ...]]:
    return {
        "wall_ns": tuple(wall_ms * 1e6 * (1 + rng.gauss(0, 0.01)) for _ in range(n)),
        "user_us": tuple(wall_ms * 800 for _ in range(n)),
        "sys_us": tuple(wall_ms * 100 for _ in range(n)),
        "maxrss_kib": tuple(rss_kib for _ in range(n)),
    }


def make_run(
    base_ms: float | None = 1.0,
    head_ms: float = 1.0,
    base_rss: float = 1200,
    head_rss: float = 1200,
    comparison: str = "interleaved",
) -> BenchRun:
    rng = random.Random(1)
    base = series(rng, base_ms, rss_kib=base_rss) if base_ms is not None else None
    head = series(rng, head_ms, rss_kib=head_rss)
    throughput_head: dict[str, tuple[float, ...]] = {
        "batch_ns_seq": (1e8,) * 10,
        "batch_ns_par": (6e7,) * 10,
    }
    return BenchRun(
        created="2026-01-01T00:00:00+00:00",
        fingerprint=dict(FP),
        head=Subject("head", "abc123", "/bin/weft", 1000, "00"),
        cases=(
            CaseResult("startup", "latency", ("--version",), 0, 100, 2, head, base),
            CaseResult(
                "invocations",
                "throughput",
                ("--version",),
                0,
                100,
                2,
                throughput_head,
                dict(throughput_head) if base is not None else None,
            ),
        ),
        sizes=(SizeEntry("binary", "x86_64-gnu/weft", 1000, "m.json"),),
        comparison=comparison if base is not None else "none",
        base=Subject("base", "def456", "/tmp/base", 1000, "11") if base is not None else None,
        base_fingerprint=dict(FP) if base is not None else None,
        base_sizes=(SizeEntry("binary", "x86_64-gnu/weft", 1000, "base"),),
        settings={"noise_floor_percent": 3.0, "threshold_percent": 5.0},
    )


def verdict(rows: list[Row], metric_prefix: str, case: str = "startup") -> str:
    return next(r.verdict for r in rows if r.case == case and r.metric.startswith(metric_prefix))


# -- baselines ---------------------------------------------------------------------------------


def test_baseline_round_trip(tmp_path: Path) -> None:
    run = make_run()
    path = tmp_path / "base.json"
    run.save(path)
    assert load_baseline(path) == run
    document = json.loads(path.read_text())
    assert document["schema_version"] == 1
    assert len(document["cases"][0]["head"]["wall_ns"]) == 60  # every sample is kept


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "corrupt or truncated"),
        (None, "corrupt or truncated"),  # truncated: first half of a valid file
        ('{"kind": "build", "schema_version": 1}', "not a nox-cargo bench result"),
        ("[1, 2]", "not a nox-cargo bench result"),
        ('{"kind": "nox-cargo-bench", "schema_version": 99}', "schema_version 99"),
        ('{"kind": "nox-cargo-bench", "schema_version": 1, "cases": []}', "expected structure"),
        (b"\xff\xfe\x00bad", "Cannot read"),
    ],
)
def test_bad_baselines_name_the_file(
    tmp_path: Path, content: str | bytes | None, expected: str
) -> None:
    path = tmp_path / "baseline.json"
    if content is None:
        text = make_run().to_json()
        path.write_text(text[: len(text) // 2])
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(BaselineError) as info:
        load_baseline(path)
    assert expected in info.value.message
    assert str(path) in info.value.message
    assert "--save" in (info.value.hint or "")


def test_baseline_with_a_non_number_sample(tmp_path: Path) -> None:
    document = json.loads(make_run().to_json())
    document["cases"][0]["head"]["wall_ns"][3] = "fast"
    path = tmp_path / "b.json"
    path.write_text(json.dumps(document))
    with pytest.raises(BaselineError, match="non-number"):
        load_baseline(path)


def test_missing_baseline(tmp_path: Path) -> None:
    with pytest.raises(BaselineError, match="does not exist"):
        load_baseline(tmp_path / "nope.json")


# -- verdicts ----------------------------------------------------------------------------------


def test_identical_runs_do_not_regress() -> None:
    rows = evaluate(make_run(), GATE)
    assert regressions(rows) == []
    assert verdict(rows, "wall time (median") == "unchanged"


def test_slower_head_regresses_and_faster_improves() -> None:
    rows = evaluate(make_run(head_ms=1.2), GATE)
    assert verdict(rows, "wall time (median") == "regression"
    assert [r.metric for r in regressions(rows)] == [
        "wall time (median ± MAD)",
        "wall time (fast runs: 10th percentile)",
    ]
    rows = evaluate(make_run(head_ms=0.8), GATE)
    assert verdict(rows, "wall time (median") == "improvement"


def test_rss_gate_is_max_of_five_percent_and_one_mib() -> None:
    # +900 KiB on 1.2 MiB is +75 %, but under the 1 MiB floor
    assert verdict(evaluate(make_run(head_rss=2100), GATE), "peak RSS") == "unchanged"
    assert verdict(evaluate(make_run(head_rss=2300), GATE), "peak RSS") == "regression"
    # on 100 MiB the 5 % rule is the larger: +4 MiB passes, +6 MiB fails
    big = 100 * 1024
    assert verdict(evaluate(make_run(base_rss=big, head_rss=big + 4096), GATE), "peak") == (
        "unchanged"
    )
    assert verdict(evaluate(make_run(base_rss=big, head_rss=big + 6144), GATE), "peak") == (
        "regression"
    )


def test_other_machine_is_inconclusive_not_a_failure() -> None:
    run = replace(
        make_run(head_ms=1.5, head_rss=9000, comparison="baseline"),
        base_fingerprint={**FP, "cpu": "Other CPU"},
    )
    rows = evaluate(run, GATE)
    assert verdict(rows, "wall time (median") == "inconclusive"
    assert verdict(rows, "peak RSS") == "inconclusive"
    assert regressions(rows) == []


def test_cross_run_comparison_is_labelled() -> None:
    rows = evaluate(make_run(comparison="baseline"), GATE)
    row = next(r for r in rows if r.metric.startswith("wall time (median"))
    assert "cross-run" in row.note


def test_size_gates_are_exact() -> None:
    gate = replace(GATE, size_fraction=0.01, binary_budget=1500)
    base = [SizeEntry("binary", "w", 1000, "")]
    assert size_rows([SizeEntry("binary", "w", 1010, "")], base, gate)[0].verdict == "unchanged"
    assert size_rows([SizeEntry("binary", "w", 1011, "")], base, gate)[0].verdict == "regression"
    assert size_rows([SizeEntry("binary", "w", 1501, "")], None, gate)[0].verdict == "over budget"
    assert size_rows([SizeEntry("wasm-gzip", "m", 10**9, "")], None, gate)[0].verdict == "measured"


def test_throughput_rows_are_bigger_is_better() -> None:
    rows = evaluate(make_run(), GATE)
    row = next(r for r in rows if r.metric.startswith("invocations/s (sequential"))
    assert row.better == "bigger"
    assert row.head == pytest.approx(100 / 0.1)


def test_with_baseline_matches_cases_by_name_and_arguments(tmp_path: Path) -> None:
    saved = make_run(base_ms=None, head_ms=1.0)
    now = make_run(base_ms=None, head_ms=1.3)
    changed = replace(now, cases=(replace(now.cases[0], args=("--help",)), now.cases[1]))
    combined = with_baseline(changed, saved, tmp_path / "b.json")
    assert combined.comparison == "baseline"
    assert combined.cases[0].base is None  # other arguments: not compared
    assert combined.cases[1].base == saved.cases[1].head


# -- outputs -----------------------------------------------------------------------------------


def test_markdown_table_has_every_column_and_the_verdict() -> None:
    run = make_run(head_ms=1.2)
    text = report.markdown(run, evaluate(run, GATE))
    assert "| case | metric | base | head | Δ | CI (99 %) | verdict |" in text
    assert "2 regression(s)" in text  # the median row and the fast-runs row
    assert "❌ regression" in text
    assert "+20." in text or "+19." in text


def test_github_action_benchmark_format() -> None:
    smaller, bigger = exports.github_action_benchmark(evaluate(make_run(), GATE))
    assert all(set(e) >= {"name", "unit", "value"} for e in smaller + bigger)
    assert any(e["unit"] == "/s" for e in bigger)
    assert any(e["unit"] == "ms" for e in smaller)
    json.dumps(smaller + bigger)


def test_hyperfine_export_format() -> None:
    data = exports.hyperfine(make_run())
    first = data["results"][0]
    assert {"command", "mean", "stddev", "median", "user", "system", "min", "max", "times"} <= set(
        first
    )
    assert first["median"] == pytest.approx(1e-3, rel=0.05)  # seconds, as hyperfine writes


def test_chart_is_valid_svg_with_both_sides() -> None:
    text = chart.svg(make_run())
    root = ET.fromstring(text)
    assert root.tag.endswith("svg")
    assert "base (n=60)" in text and "head (n=60)" in text


# -- launcher protocol and config --------------------------------------------------------------


def test_launcher_spec_and_records() -> None:
    text = spec_text(
        [Command(("/bin/weft", "--version")), Command(("/bin/weft", "stats"), Path("/in.txt"))],
        [(0, "w"), (1, "r"), (1, "m")],
        jobs=2,
    )
    assert text.splitlines() == [
        "jobs\t2",
        "cmd\t-\t/bin/weft\t--version",
        "cmd\t/in.txt\t/bin/weft\tstats",
        "run\t0\tw",
        "run\t1\tr",
        "run\t1\tm",
    ]
    assert parse_record("3\t1\t812345\t700\t12\t1880\t0").maxrss_kib == 1880
    with pytest.raises(NoxCargoError):
        spec_text([Command(("/bin/x", "a\tb"))], [], 1)


def test_bench_target_defaults_to_the_host_triple() -> None:
    config = cfg.load(
        cfg.ConfigSource(
            {"targets": [{"id": "x86_64-gnu", "triple": "x86_64-unknown-linux-gnu"}]}, "t", Path()
        ),
        {},
    )
    assert bench_target(config, "x86_64-unknown-linux-gnu") == "x86_64-gnu"
    with pytest.raises(ConfigError, match="builds for this host"):
        bench_target(config, "riscv64gc-unknown-linux-gnu")


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ({"name": "Bad Name"}, "not a valid case name"),
        ({"name": "x", "args": ["{input}"]}, "needs an `input-kind`"),
        ({"name": "x", "input-kind": "text"}, "size above 0"),
        ({"name": "x", "invocations": 0}, "at least 1"),
    ],
)
def test_bad_cases_are_config_errors(case: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        cfg.load(cfg.ConfigSource({"bench": {"cases": [case]}}, "pyproject.toml", Path()), {})
