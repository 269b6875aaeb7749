"""`cargo bench` results without running cargo: criterion's files (fixtures written by a real
criterion 0.5.1 run), which targets run, the rows and the gate's maths, results.json, bad files."""

from __future__ import annotations

import json
import math
import random
import shutil
import statistics
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from nox_cargo import config as cfg
from nox_cargo.bench import criterion, exports, micro_interleave, report
from nox_cargo.bench.cargo_bench import Selection, commands, from_saved, merge, select
from nox_cargo.bench.compare import Gate, regressions
from nox_cargo.bench.micro_compare import (
    combined_ratio,
    micro_rows,
    ratio_estimate,
    rounds_ratio,
    rows_of,
    unit_of,
)
from nox_cargo.bench.results import (
    BaselineError,
    BenchRun,
    CaseResult,
    MicroEstimate,
    MicroResult,
    Subject,
    load_baseline,
)
from nox_cargo.build.compiler import Cargo
from nox_cargo.errors import NoxCargoError
from nox_cargo.project import Project
from nox_cargo.workspace import Package, Workspace, parse_metadata

FIXTURES = Path(__file__).parent.parent / "fixtures" / "criterion"
GATE = Gate.from_config(cfg.BenchConfig())
FP = {"cpu": "Test CPU", "cores": "2", "kernel": "6.1", "arch": "x86_64", "rustc": "rustc 1.95"}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A private copy of the criterion fixture tree (tests may damage it)."""
    copy = tmp_path / "criterion"
    shutil.copytree(FIXTURES, copy)
    return copy


def scaled(estimate: MicroEstimate, factor: float) -> MicroEstimate:
    return replace(
        estimate,
        median_ns=estimate.median_ns * factor,
        low_ns=estimate.low_ns * factor,
        high_ns=estimate.high_ns * factor,
        samples_ns=tuple(s * factor for s in estimate.samples_ns),
    )


# -- criterion's files -------------------------------------------------------------------------


def test_reads_criterions_ids_median_interval_and_samples(home: Path) -> None:
    found = criterion.read_home(home, "fix")
    assert list(found) == ["sum 1000", "sum/100"]  # full_id, not the directory name
    e = found["sum/100"]
    assert e.median_ns == pytest.approx(2.461409191493647)
    assert (e.low_ns, e.high_ns, e.confidence) == pytest.approx(
        (2.0676671857400692, 2.693243320673681, 0.95)
    )
    assert len(e.samples_ns) == 100
    # criterion's median is the median of times/iters: our samples reproduce it exactly
    assert statistics.median(e.samples_ns) == pytest.approx(e.median_ns, rel=1e-12)
    assert e.source.endswith("sum/100/new/estimates.json")


def test_per_iteration_divides_each_sample() -> None:
    assert criterion.per_iteration({"iters": [2.0, 4.0], "times": [10.0, 30.0]}) == (5.0, 7.5)
    with pytest.raises(ValueError, match=r"iters\[0\] is 0"):
        criterion.per_iteration({"iters": [0.0], "times": [1.0]})
    with pytest.raises(ValueError, match="same length"):
        criterion.per_iteration({"iters": [1.0], "times": []})


def test_only_new_results_are_read(home: Path) -> None:
    """`base/` (criterion's saved baseline) and `change/` are not this run's results."""
    for name in ("base", "my-baseline"):
        shutil.copytree(home / "sum" / "100" / "new", home / "sum" / "100" / name)
    assert list(criterion.read_home(home, "fix")) == ["sum 1000", "sum/100"]
    assert criterion.read_home(home / "absent", "fix") == {}


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: p.write_text(p.read_text()[:100]), "is corrupt or truncated"),
        (lambda p: p.write_text('{"mean": {}}'), "no key 'median'"),
        (lambda p: p.unlink(), "is missing"),
        (
            lambda p: p.write_text(
                p.read_text().replace('"point_estimate":2.46', '"point_estimate":-2.46')
            ),
            "negative",
        ),
    ],
    ids=["truncated", "no-median", "missing", "negative"],
)
def test_a_bad_estimates_file_is_named_with_the_fix(home: Path, damage: Any, message: str) -> None:
    estimates = home / "sum" / "100" / "new" / "estimates.json"
    damage(estimates)
    with pytest.raises(criterion.CriterionError) as info:
        criterion.read_home(home, "re-run the stage")
    assert str(estimates) in info.value.message
    assert message in info.value.message
    assert info.value.hint == "re-run the stage"


def test_a_bad_sample_file_is_named(home: Path) -> None:
    sample = home / "sum 1000" / "new" / "sample.json"
    sample.write_text('{"iters": [1.0, 0.0], "times": [3.0, 4.0]}')
    with pytest.raises(criterion.CriterionError, match=r"sample\.json.*iters\[1\] is 0"):
        criterion.read_home(home, "fix")


def test_two_benchmarks_with_one_id_are_refused(home: Path) -> None:
    shutil.copytree(home / "sum" / "100", home / "other")
    with pytest.raises(criterion.CriterionError, match="Two criterion benchmarks have the id"):
        criterion.read_home(home, "fix")


# -- which benches run -------------------------------------------------------------------------


def package(name: str, benches: tuple[str, ...], dev: tuple[str, ...]) -> Package:
    return Package(name, "0.1.0", Path(name), None, (), None, None, (), "", benches, dev)


def workspace(*members: Package) -> Workspace:
    return Workspace(Path("/ws"), Path("/ws/target"), members, {})


def test_auto_runs_the_benches_of_members_with_criterion_or_divan() -> None:
    ws = workspace(
        package("core", ("parse", "eval"), ("criterion", "proptest")),
        package("cli", ("startup",), ("divan",)),
        package("old", ("libtest",), ()),  # #[bench] on nightly: not ours to run
        package("plain", (), ("criterion",)),
    )
    chosen = select(ws, "auto")
    assert chosen.targets == {"core": ("parse", "eval"), "cli": ("startup",)}
    assert chosen.divan == ("cli",)
    assert select(ws, "always").targets["old"] == ("libtest",)
    assert select(ws, "never").targets == {}


def test_auto_without_benches_says_why_and_always_is_an_error() -> None:
    ws = workspace(package("core", (), ("criterion",)))
    assert "no member has a [[bench]] target" in select(ws, "auto").reason
    with pytest.raises(NoxCargoError, match=r"bench\.cargo-bench = always"):
        select(ws, "always")


def test_commands_use_the_projects_cargo_one_per_member() -> None:
    config = cfg.BenchConfig(cargo_bench_args=("--", "--warm-up-time", "0.5"))
    project = cast(
        Project, SimpleNamespace(config=SimpleNamespace(bench=config), locked=["--locked"])
    )
    cargo = Cargo(("cargo", "+1.95.0"), {}, cast(Any, None), "default")
    selection = Selection({"core": ("parse", "eval"), "cli": ("startup",)})
    assert commands(project, cargo, selection) == [
        ["cargo", "+1.95.0", "bench", "--locked", "-p", "core", "--bench", "parse", "--bench",
         "eval", "--", "--warm-up-time", "0.5"],
        ["cargo", "+1.95.0", "bench", "--locked", "-p", "cli", "--bench", "startup", "--",
         "--warm-up-time", "0.5"],
    ]  # fmt: skip


def test_cargo_metadata_gives_bench_targets_and_dev_dependencies() -> None:
    data = {
        "workspace_members": ["core 0.1.0"],
        "workspace_root": "/ws",
        "target_directory": "/ws/target",
        "packages": [
            {
                "id": "core 0.1.0",
                "name": "core",
                "version": "0.1.0",
                "manifest_path": "/ws/core/Cargo.toml",
                "targets": [
                    {"name": "core", "kind": ["lib"]},
                    {"name": "parse", "kind": ["bench"]},
                ],
                "dependencies": [
                    {"name": "serde", "kind": None},
                    {"name": "criterion", "kind": "dev"},
                    {"name": "cc", "kind": "build"},
                ],
            }
        ],
    }
    (core,) = parse_metadata(data).members
    assert core.benches == ("parse",)
    assert core.dev_dependencies == ("criterion",)


# -- rows and the gate -------------------------------------------------------------------------


def estimates(home: Path) -> dict[str, MicroEstimate]:
    return criterion.read_home(home, "fix")


def test_head_only_rows_show_criterions_median_and_interval(home: Path) -> None:
    (row, _) = micro_rows(merge(estimates(home), None), GATE, compared=False)
    assert row.case == "sum 1000"
    assert row.unit == "ns" and row.head == pytest.approx(2.74576928378251)
    assert row.ci == pytest.approx((2.3056166876586297, 3.269122660872139))
    assert "criterion median" in row.metric and "95 % CI" in row.metric
    cells = report.cells(row)
    assert cells[3] == "2.746 ns" and cells[5] == "[2.306 ns, 3.269 ns]"


def test_three_times_the_work_is_a_regression_and_the_same_is_not(home: Path) -> None:
    base = estimates(home)
    slower = {k: scaled(v, 3.0) for k, v in base.items()}
    rows = micro_rows(merge(slower, base), GATE, compared=True)
    assert [r.verdict for r in rows] == ["regression", "regression"]
    assert all(r.ratio == pytest.approx(3.0) and r.ci_is_ratio for r in rows)
    assert all(r.ci is not None and r.ci[0] > 1.03 for r in rows)
    assert "cross-run" in rows[0].note and "not interleaved" in rows[0].note
    assert len(regressions(rows)) == 2
    same = micro_rows(merge(base, base), GATE, compared=True)
    # The fixtures are noisy: the same code is not called, and the rows say what they resolve.
    assert [r.verdict for r in same] == ["too noisy", "too noisy"]
    faster = micro_rows(merge(base, slower), GATE, compared=True)
    assert [r.verdict for r in faster] == ["improvement", "improvement"]


def test_a_small_change_inside_criterions_noise_is_not_called(home: Path) -> None:
    """These fixtures are noisy (±20 %): +6 % cannot be told apart, and the row says so."""
    base = estimates(home)
    rows = micro_rows(merge({k: scaled(v, 1.06) for k, v in base.items()}, base), GATE, True)
    assert [r.verdict for r in rows] == ["too noisy", "too noisy"]
    assert all(r.detectable is not None and r.detectable > 0.1 for r in rows)


def test_bootstrap_on_samples_is_the_ratio_of_criterions_medians(home: Path) -> None:
    base = estimates(home)["sum/100"]
    head = scaled(base, 2.0)
    estimate = ratio_estimate(base, head, random.Random(0))
    assert not estimate.paired and estimate.ratio == pytest.approx(2.0)
    assert estimate.low < 2.0 < estimate.high


def test_without_samples_both_intervals_are_combined_in_log_space() -> None:
    base = MicroEstimate(100.0, 90.0, 110.0, 0.95)
    head = MicroEstimate(100.0, 90.0, 110.0, 0.95)
    half = math.log(100 / 90) / 1.959964 * 2.575829  # the wider side, rescaled to 99 %
    width = math.hypot(half, half)
    estimate = combined_ratio(base, head)
    assert estimate.ratio == 1.0
    assert (estimate.low, estimate.high) == pytest.approx(
        (math.exp(-width), math.exp(width)), rel=1e-5
    )
    assert ratio_estimate(base, scaled(head, 3.0), random.Random(0)).ratio == pytest.approx(3.0)
    assert micro_rows(merge({"x": scaled(head, 3.0)}, {"x": base}), GATE, True)[0].failed


def test_a_benchmark_on_one_side_only_is_listed_not_gated(home: Path) -> None:
    e = estimates(home)
    rows = micro_rows(merge({"new": e["sum/100"]}, {"gone": e["sum 1000"]}), GATE, True)
    assert [(r.case, r.verdict) for r in rows] == [
        ("gone", "base only, not gated"),
        ("new", "head only, not gated"),
    ]
    assert not regressions(rows)
    gone = report.cells(rows[0])
    assert gone[3] == "—" and "nan" not in " ".join(gone).lower()
    smaller, _ = exports.github_action_benchmark(rows)
    assert [s["name"] for s in smaller] == ["new — time/iter (criterion median)"]


@pytest.mark.parametrize(
    ("ns", "unit"), [(3.2, "ns"), (999.0, "ns"), (1500.0, "µs"), (2.5e6, "ms")]
)
def test_units(ns: float, unit: str) -> None:
    assert unit_of(ns)[0] == unit


# -- results.json and baselines ----------------------------------------------------------------


def run_with(micro: tuple[MicroResult, ...], comparison: str = "none") -> BenchRun:
    case = CaseResult("startup", "latency", ("--version",), 0, 1, 2, {"wall_ns": (1.0, 2.0)})
    return BenchRun(
        created="2026-01-01T00:00:00+00:00",
        fingerprint=dict(FP),
        head=Subject("head", "abc", "/bin/x", 1, "00"),
        cases=(case,),
        comparison=comparison,
        base_fingerprint=dict(FP) if comparison != "none" else None,
        settings={"cargo_bench": {"ran": True, "note": "ran core (parse)"}},
        micro=micro,
    )


def test_micro_results_round_trip_through_results_json(home: Path, tmp_path: Path) -> None:
    run = run_with(merge(estimates(home), None))
    run.save(tmp_path / "r.json")
    again = load_baseline(tmp_path / "r.json")
    assert again.micro == run.micro
    assert json.loads((tmp_path / "r.json").read_text())["schema_version"] == 1


def test_a_result_without_micro_still_loads(tmp_path: Path) -> None:
    document = json.loads(run_with(()).to_json())
    del document["micro"]
    (tmp_path / "old.json").write_text(json.dumps(document))
    assert load_baseline(tmp_path / "old.json").micro == ()


def test_a_negative_micro_estimate_in_a_baseline_is_refused(home: Path, tmp_path: Path) -> None:
    document = json.loads(run_with(merge(estimates(home), None)).to_json())
    document["micro"][0]["head"]["median_ns"] = -1.0
    (tmp_path / "bad.json").write_text(json.dumps(document))
    with pytest.raises(BaselineError, match="negative"):
        load_baseline(tmp_path / "bad.json")


def test_baseline_micro_results_become_the_base(home: Path) -> None:
    e = estimates(home)
    saved = merge({"sum/100": e["sum/100"], "gone": e["sum 1000"]}, None)
    now = merge({"sum/100": scaled(e["sum/100"], 3.0)}, None)
    merged = from_saved(now, saved)
    assert [(m.id, m.head is not None, m.base is not None) for m in merged] == [
        ("gone", False, True),
        ("sum/100", True, True),
    ]
    rows = rows_of(run_with(merged, "baseline"), GATE)
    assert [r.verdict for r in rows] == ["base only, not gated", "regression"]
    other = replace(run_with(merged, "baseline"), base_fingerprint={**FP, "cpu": "Other"})
    assert rows_of(other, GATE)[1].verdict == "inconclusive"


def test_a_corrupt_cached_base_manifest_names_the_directory(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text('[{"member": "core", "bench": "parse", "fi')
    with pytest.raises(BaselineError) as info:
        micro_interleave.load_manifest(manifest)
    assert str(manifest) in info.value.message and str(tmp_path) in (info.value.hint or "")
    manifest.write_text('[{"member": "core", "bench": "parse", "file": "core--parse"}]')
    with pytest.raises(BaselineError, match="core--parse is missing"):
        micro_interleave.load_manifest(manifest)
    (tmp_path / "core--parse").write_bytes(b"\x7fELF")
    (exe,) = micro_interleave.load_manifest(manifest)
    assert (exe.member, exe.bench, exe.path) == ("core", "parse", tmp_path / "core--parse")


# -- interleaved rounds (`--base`) ---------------------------------------------------------------


def drifting_rounds(
    base: MicroEstimate, factor: float, drift: tuple[float, ...] = (1.0, 1.4, 0.8, 1.25, 1.0)
) -> tuple[tuple[MicroEstimate, MicroEstimate], ...]:
    """Rounds in which the machine's speed changes by up to 40 % between rounds; within a round
    base and head see the same speed."""
    return tuple((scaled(base, d), scaled(base, d * factor)) for d in drift)


def from_rounds(name: str, rounds: tuple[tuple[MicroEstimate, MicroEstimate], ...]) -> MicroResult:
    return MicroResult(name, "criterion", rounds[-1][1], rounds[-1][0], rounds)


def test_rounds_cancel_the_machines_drift(home: Path) -> None:
    base = estimates(home)["sum/100"]
    slow = from_rounds("x", drifting_rounds(base, 3.0))
    same = from_rounds("y", drifting_rounds(base, 1.0))
    rows = micro_rows([slow, same], GATE, compared=True)
    assert [r.verdict for r in rows] == ["regression", "too noisy"]
    assert rows[0].ratio == pytest.approx(3.0) and rows[1].ratio == pytest.approx(1.0)
    assert rows[0].ci is not None and rows[0].ci[0] > 2.0
    assert "interleaved: 5 rounds" in rows[0].note
    # head and base columns: the median of the rounds' medians
    assert rows[1].base == pytest.approx(rows[1].head)


def test_round_to_round_disagreement_widens_the_interval(home: Path) -> None:
    """If base and head do not move together, the rounds disagree and the interval says so."""
    base = estimates(home)["sum/100"]
    steady = drifting_rounds(base, 1.0, (1.0,) * 5)
    wild = tuple(
        (b, scaled(h, d)) for (b, h), d in zip(steady, (1.0, 1.4, 0.8, 1.25, 1.0), strict=True)
    )
    narrow = rounds_ratio(steady, random.Random(0))
    wide = rounds_ratio(wild, random.Random(0))
    assert wide.high - wide.low > 2 * (narrow.high - narrow.low)
    assert wide.paired and wide.n_base == 5


def test_rounds_round_trip_through_results_json(home: Path, tmp_path: Path) -> None:
    base = estimates(home)["sum/100"]
    rounds = drifting_rounds(base, 2.0)
    run = run_with((from_rounds("x", rounds),))
    run.save(tmp_path / "r.json")
    assert load_baseline(tmp_path / "r.json").micro[0].rounds == rounds


def test_bench_executables_from_cargos_json_messages() -> None:
    lines = [
        json.dumps({"reason": "compiler-artifact", "target": {"kind": ["lib"], "name": "core"},
                    "executable": None}),
        json.dumps({"reason": "compiler-artifact", "target": {"kind": ["bench"], "name": "parse"},
                    "executable": "/t/release/deps/parse-1a2b"}),
        json.dumps({"reason": "compiler-artifact", "target": {"kind": ["bench"], "name": "other"},
                    "executable": "/t/release/deps/other-3c4d"}),
        json.dumps({"reason": "build-finished", "success": True}),
        "   Compiling core v0.1.0",
    ]  # fmt: skip
    found = micro_interleave.parse_artifacts("\n".join(lines), ["parse"])
    assert found == {"parse": Path("/t/release/deps/parse-1a2b")}


def test_cargo_and_harness_arguments_split_at_the_double_dash() -> None:
    split = micro_interleave.split_args
    assert split(["--features", "x", "--", "--warm-up-time", "1"]) == (
        ["--features", "x"],
        ["--warm-up-time", "1"],
    )
    assert split(["--features", "x"]) == (["--features", "x"], [])
