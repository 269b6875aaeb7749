"""Bench history without measuring: the series file (append, torn and corrupt lines), the alert
rule, the trend chart and the report's history section, on synthetic results."""

from __future__ import annotations

import json
import random
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from nox_cargo import config as cfg
from nox_cargo.bench import history, report, series, trend_chart
from nox_cargo.bench.compare import Gate, evaluate
from nox_cargo.bench.history import AlertRule, Point, judge
from nox_cargo.bench.results import (
    BaselineError,
    BenchRun,
    CaseResult,
    MicroEstimate,
    MicroResult,
    Subject,
)
from nox_cargo.bench.runner import BenchRegression, gate, write_outputs
from nox_cargo.errors import ConfigError

FP = {"cpu": "Test CPU", "cores": "2", "kernel": "6.1", "arch": "x86_64", "rustc": "rustc 1.63"}
SVG = "{http://www.w3.org/2000/svg}"


def result(
    index: int,
    wall_ms: float = 1.0,
    rate: float = 1000.0,
    fp: dict[str, str] | None = None,
    args: tuple[str, ...] = ("--version",),
    seed: int = 0,
) -> BenchRun:
    """Result `index` of a series: 60 startup samples around `wall_ms` (1 % noise) and 10
    throughput batches of 100 invocations at `rate` invocations/s."""
    rng = random.Random(seed * 1000 + index)
    wall = tuple(wall_ms * 1e6 * (1 + rng.gauss(0, 0.01)) for _ in range(60))
    batch = 100 / rate * 1e9
    return BenchRun(
        created=f"2026-01-{index + 1:02d}T08:{index:02d}:00+00:00",
        fingerprint=dict(fp or FP),
        head=Subject("head", f"{index:07x}" + "0" * 33, "/bin/weft", 1000, "00"),
        cases=(
            CaseResult(
                "startup",
                "latency",
                args,
                0,
                100,
                2,
                {
                    "wall_ns": wall,
                    "user_us": (800.0,) * 60,
                    "sys_us": (100.0,) * 60,
                    "maxrss_kib": (1200.0,) * 60,
                },
            ),
            CaseResult(
                "invocations",
                "throughput",
                ("--version",),
                0,
                100,
                2,
                {"batch_ns_seq": (batch,) * 10, "batch_ns_par": (batch / 2,) * 10},
            ),
        ),
        settings={"noise_floor_percent": 3.0, "threshold_percent": 5.0},
    )


# -- the series file ---------------------------------------------------------------------------


def test_save_appends_one_line_per_result_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "bench-history" / "main.jsonl"
    for index in range(3):
        written = series.save(path, result(index))
    assert len(written.runs) == 3
    lines = path.read_text().splitlines()
    assert len(lines) == 3 and all(json.loads(line)["kind"] == "nox-cargo-bench" for line in lines)
    read = series.read(path)
    assert read.runs == (result(0), result(1), result(2))
    assert read.notes == () and read.dropped == ()
    assert series.last(path) == result(2)


def test_existing_lines_are_kept_verbatim(tmp_path: Path) -> None:
    """A field this version does not know (a newer writer's) survives an append."""
    path = tmp_path / "s.jsonl"
    document = json.loads(result(0).to_json_line())
    document["from_the_future"] = {"kept": True}
    first = json.dumps(document, separators=(",", ":"))
    path.write_text(first + "\n")
    series.save(path, result(1))
    assert path.read_text().splitlines()[0] == first


def test_a_single_document_json_file_is_a_series_of_one(tmp_path: Path) -> None:
    path = tmp_path / "bench-main.json"
    result(0).save(path)  # what --save FILE.json has always written: pretty, one document
    assert series.read(path).runs == (result(0),)
    series.save(path, result(1))  # a .json path stays one document, rewritten
    assert json.loads(path.read_text())["head"]["ref"].startswith("0000001")
    assert series.read(path).runs == (result(1),)


def test_a_torn_last_line_is_dropped_with_a_note_and_the_next_save_heals(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    series.save(path, result(0))
    series.save(path, result(1))
    torn = result(2).to_json_line()
    path.write_text(path.read_text() + torn[: len(torn) // 2])  # a copy cut short
    read = series.read(path)
    assert read.runs == (result(0), result(1))
    assert len(read.dropped) == 1 and "torn last line 3" in read.dropped[0]
    series.save(path, result(3))
    assert [json.loads(line)["head"]["ref"][:7] for line in path.read_text().splitlines()] == [
        "0000000",
        "0000001",
        "0000003",
    ]


@pytest.mark.parametrize("newline", [True, False])
def test_a_corrupt_line_is_an_error_naming_file_and_line(tmp_path: Path, newline: bool) -> None:
    path = tmp_path / "s.jsonl"
    good = result(0).to_json_line()
    # A middle line is never a torn write; a last line ending in a newline was written whole.
    text = good + "{broken\n" + good if newline else good + good + "{broken\n"
    path.write_text(text)
    with pytest.raises(BaselineError) as info:
        series.read(path)
    line = 2 if newline else 3
    assert f"Line {line} of the series {path} is not valid JSON" in info.value.message
    assert f"sed -i '{line}d' {path}" in (info.value.hint or "")


def test_a_foreign_line_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(result(0).to_json_line() + '{"kind": "build", "schema_version": 1}\n')
    with pytest.raises(BaselineError, match=r"Line 2 of the series .* not a nox-cargo bench"):
        series.read(path)


def test_missing_and_empty(tmp_path: Path) -> None:
    missing = tmp_path / "none.jsonl"
    assert series.read(missing, missing_ok=True).runs == ()
    with pytest.raises(BaselineError, match="does not exist"):
        series.last(missing)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(BaselineError, match="holds no result") as info:
        series.last(empty)
    assert "--save" in (info.value.hint or "")


def test_a_corrupt_series_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(result(0).to_json_line() + "nonsense\n" + result(1).to_json_line())
    before = path.read_bytes()
    with pytest.raises(BaselineError):
        series.save(path, result(2))
    assert path.read_bytes() == before


# -- the alert rule ----------------------------------------------------------------------------


def points(values: list[float]) -> list[Point]:
    return [
        Point(f"{i:07x}", "2026-01-01T00:00:00", v, v * 0.99, v * 1.01)
        for i, v in enumerate(values)
    ]


RULE = AlertRule(percent=10.0, window=10)


def test_a_clear_slowdown_on_a_quiet_series_alerts() -> None:
    alert = judge(points([1.00, 1.01, 0.99, 1.00, 1.02, 0.99, 1.20]), "smaller", RULE)
    assert alert.status == "alert"
    assert alert.reference == pytest.approx(1.0, abs=0.006)
    assert alert.change == pytest.approx(0.2, abs=0.01)
    assert alert.limit == pytest.approx(1.1, abs=0.01)


def test_a_change_under_the_percent_does_not_alert() -> None:
    alert = judge(points([1.00, 1.01, 0.99, 1.00, 1.02, 0.99, 1.08]), "smaller", RULE)
    assert alert.status == "ok"


def test_a_noisy_flat_series_does_not_alert_on_its_noise() -> None:
    """±15 % wander: a +25 % point is within 3 x MAD of the window, so no alert — the same
    point on a quiet series would."""
    noisy = [1.00, 1.18, 0.85, 1.15, 0.88, 1.00, 1.20, 0.84, 1.12, 0.90]
    alert = judge(points([*noisy, 1.25]), "smaller", RULE)
    assert alert.status == "ok"
    assert alert.limit is not None and alert.limit > 1.25
    assert judge(points([1.0] * 10 + [1.25]), "smaller", RULE).status == "alert"


def test_a_jump_the_window_already_had_does_not_alert() -> None:
    """Medians of one unchanged binary on a busy shared machine (measured here, ms): the 0.844
    run was load, and so is a later 0.812; the MAD alone (0.049 ms) would have alerted."""
    alert = judge(points([0.640, 0.651, 0.844, 0.708, 0.640, 0.812]), "smaller", RULE)
    assert alert.status == "ok" and alert.noisy
    assert alert.limit == pytest.approx(0.844)


def test_a_step_alerts_once_not_on_every_result_after_it() -> None:
    step = [1.0, 1.01, 0.99, 1.0, 1.0, 1.01, 0.99, 1.0, 1.0, 1.3]
    assert judge(points(step), "smaller", RULE).status == "alert"
    assert judge(points([*step, 1.3]), "smaller", RULE).status == "ok"
    assert judge(points([*step, 1.6]), "smaller", RULE).status == "alert"  # a second step


def test_fewer_than_five_earlier_results_give_no_rule() -> None:
    alert = judge(points([1.0, 1.0, 1.0, 1.0, 3.0]), "smaller", RULE)
    assert alert.status == "no rule"
    assert alert.message == "no alert rule: 4 earlier result(s), 5 needed"


def test_throughput_alerts_when_it_drops_and_not_when_it_rises() -> None:
    base = [1000.0, 1005.0, 995.0, 1000.0, 1002.0]
    assert judge(points([*base, 800.0]), "bigger", RULE).status == "alert"
    assert judge(points([*base, 1300.0]), "bigger", RULE).status == "ok"
    assert judge(points([*base, 1300.0]), "smaller", RULE).status == "alert"


def test_the_window_is_the_last_n_before_the_last() -> None:
    """An old slow era outside the window does not shift the reference."""
    values = [2.0] * 10 + [1.0] * 10 + [1.05]
    alert = judge(points(values), "smaller", RULE)
    assert alert.reference == 1.0 and alert.window == 10 and alert.status == "ok"


# -- trends ------------------------------------------------------------------------------------


def test_only_the_same_machine_and_case_shape_join_a_line() -> None:
    prior = [result(i) for i in range(6)]
    prior.insert(2, result(10, fp={**FP, "cpu": "Other CPU"}))
    prior.insert(4, result(11, args=("--help",)))
    trends = history.trends(prior, result(20), RULE, length=20)
    startup = next(t for t in trends if t.case == "startup")
    assert len(startup.points) == 7  # 6 comparable + this run
    assert startup.left_out == (
        "1 result(s) measured on another machine (cpu, cores, kernel or arch differ)",
        "1 result(s) with other arguments, input size, mode or batch size",
    )
    invocations = next(t for t in trends if t.case == "invocations")
    assert len(invocations.points) == 8  # the --help change was to startup only
    assert invocations.unit == "/s" and invocations.better == "bigger"
    assert invocations.points[-1].value == pytest.approx(1000.0)


def test_history_length_limits_what_is_drawn_not_what_is_judged() -> None:
    prior = [result(i) for i in range(30)]
    (startup, _) = history.trends(prior, result(30), RULE, length=20)
    assert len(startup.points) == 31 and len(startup.drawn) == 20
    assert startup.drawn[-1].ref.startswith(f"{30:07x}")
    assert startup.alert.window == 10


def test_point_labels_are_short_sha_and_date() -> None:
    (startup, _) = history.trends([], result(3), RULE)
    assert startup.points[-1].label == "0000003 01-04 08:03"
    dirty = replace(result(3), head=Subject("head", "abcdef0123+dirty", "/b", 1, "0"))
    assert history.point(dirty, dirty.cases[0]).label.startswith("abcdef0+dirty")


# -- chart and report --------------------------------------------------------------------------


def alerting_series(tmp_path: Path) -> tuple[list[BenchRun], BenchRun]:
    """Six saved results at 1.0 ms, then one at 1.3 ms: it breaks the rule."""
    path = tmp_path / "bench-history" / "main.jsonl"
    for index in range(6):
        series.save(path, result(index, seed=1))
    return list(series.read(path).runs), result(6, wall_ms=1.3, seed=1)


def test_trend_svg_is_xml_with_one_panel_per_case_and_the_alert_marked(tmp_path: Path) -> None:
    prior, current = alerting_series(tmp_path)
    trends = history.trends(prior, current, RULE)
    root = ET.fromstring(trend_chart.svg(trends))
    panels = root.findall(f"{SVG}g")
    assert [p.get("class") for p in panels] == ["panel", "panel"]
    startup, invocations = panels
    assert startup.findall(f"{SVG}circle[@class='alert']")
    assert not invocations.findall(f"{SVG}circle[@class='alert']")
    assert startup.findall(f"{SVG}line[@class='alert-limit']")
    assert startup.findall(f"{SVG}polygon[@class='ci']")
    texts = ["".join(t.itertext()) for t in startup.iter(f"{SVG}text")]
    assert any("ALERT" in t for t in texts)
    assert "0000006 01-07 08:06" in texts


def test_the_alert_appears_in_bench_md(tmp_path: Path) -> None:
    prior, current = alerting_series(tmp_path)
    trends = history.trends(prior, current, RULE)
    rows = evaluate(current, Gate.from_config(cfg.BenchConfig()))
    out = write_outputs(tmp_path / "bench", current, rows, trends)
    text = out.markdown.read_text()
    assert "### History" in text
    warning = "> 🔔 **startup** (wall time (median)): the last result alerts: +29.8 % worse than"
    assert warning in text
    assert "alerts beyond 1.1 ms, the largest of 10 %, 3 x MAD" in text
    section = text.split("### History")[1]
    row = next(line for line in section.splitlines() if line.startswith("| startup | wall time"))
    assert "🔔 **alert**" in row and "7 of 7" in row
    assert "no alert" not in text.split("### History")[0]
    ET.fromstring(out.trend.read_text())
    # Without a series there is no history section, and no stale chart is left behind.
    out = write_outputs(tmp_path / "bench", current, rows)
    assert "### History" not in out.markdown.read_text()
    assert not out.trend.exists()


def test_too_few_results_say_so_in_the_report() -> None:
    trends = history.trends([result(0), result(1)], result(2), RULE)
    text = report.history_markdown(trends)
    assert "no alert rule: 2 earlier result(s), 5 needed" in text
    assert "[!WARNING]" not in text


def test_an_alert_warns_by_default_and_fails_with_fail_on_alert(tmp_path: Path) -> None:
    prior, current = alerting_series(tmp_path)
    trends = history.trends(prior, current, RULE)
    rows = evaluate(current, Gate.from_config(cfg.BenchConfig()))
    out = write_outputs(tmp_path / "bench", current, rows, trends)
    gate(rows, trends, out, fail_on_alert=False, history_path=tmp_path / "s.jsonl")
    with pytest.raises(BenchRegression) as info:
        gate(rows, trends, out, fail_on_alert=True, history_path=tmp_path / "s.jsonl")
    assert "1 case(s) alert on the history" in info.value.message
    assert "- startup (wall time (median)): +29.8 % worse" in info.value.message
    assert "bench.fail-on-alert = false" in (info.value.hint or "")
    quiet = history.trends(prior, result(6, seed=1), RULE)
    gate(rows, quiet, out, fail_on_alert=True, history_path=tmp_path / "s.jsonl")


def test_the_alert_keys_are_validated() -> None:
    assert cfg.BenchConfig().alert_percent == 10.0
    with pytest.raises(ConfigError, match="alert-window"):
        cfg.load(None, {}, ["bench.alert-window=3"])
    with pytest.raises(ConfigError, match="history-length"):
        cfg.load(None, {}, ["bench.history-length=1"])
    loaded = cfg.load(None, {}, ["bench.fail-on-alert=true", "bench.alert-percent=7.5"])
    assert loaded.bench.fail_on_alert and loaded.bench.alert_percent == 7.5


# -- cargo bench results in the series ----------------------------------------------------------


def with_micro(run: BenchRun, median_ns: float, bench_id: str = "parse/1024") -> BenchRun:
    estimate = MicroEstimate(median_ns, median_ns * 0.98, median_ns * 1.02, 0.95)
    return replace(run, micro=(MicroResult(bench_id, "criterion", estimate),))


def test_a_criterion_benchmark_gets_its_own_trend_and_alert(tmp_path: Path) -> None:
    medians = [1000.0, 1010.0, 990.0, 1000.0, 1005.0, 995.0]
    prior = [with_micro(result(i), m) for i, m in enumerate(medians)]
    slower = with_micro(result(len(medians)), 1300.0)
    trends = history.trends(prior, slower, RULE)
    micro = next(t for t in trends if t.case == "parse/1024")
    assert (micro.metric, micro.unit, micro.better) == (
        "time/iter (criterion median)",
        "ns",
        "smaller",
    )
    assert [p.value for p in micro.points] == [*medians, 1300.0]
    assert micro.alert.status == "alert"
    same = history.trends(prior, with_micro(result(len(medians)), 1002.0), RULE)
    assert next(t for t in same if t.case == "parse/1024").alert.status == "ok"
    # Another machine's results and results without the benchmark are left out, and said so.
    other = replace(prior[0], fingerprint={**FP, "cpu": "Other CPU"})
    mixed = history.trends([other, result(1), *prior[2:]], slower, RULE)
    left = next(t for t in mixed if t.case == "parse/1024").left_out
    assert any("another machine" in text for text in left)
    assert any("without this benchmark" in text for text in left)
    # It is drawn like a case: a panel of its own in bench-trend.svg.
    svg = trend_chart.svg(trends)
    assert "parse/1024: time/iter (criterion median)" in svg
    ET.fromstring(svg)
