"""hyperfine parity without running anything: parameter scans, placeholders, compared commands
(rows and their maths), prepare directives in the launcher spec, working directories and input
corpora, and the config errors that name the case."""

from __future__ import annotations

import argparse
import json
import os
import random
import stat
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from nox_cargo import config as cfg
from nox_cargo.bench import chart, exports, report
from nox_cargo.bench.cases import expansions, parse_compare, prepare_cases, substitute
from nox_cargo.bench.compare import Gate, compared_rows, evaluate, relative_speed
from nox_cargo.bench.launcher import Command, spec_text
from nox_cargo.bench.measure import Compared, PreparedCase, Side
from nox_cargo.bench.results import (
    BenchRun,
    CaseResult,
    ComparedResult,
    Subject,
    load_baseline,
)
from nox_cargo.bench.stats import RatioEstimate
from nox_cargo.config import BenchCase
from nox_cargo.errors import ConfigError, UsageError
from nox_cargo.stage import Option

GATE = Gate.from_config(cfg.BenchConfig())


def load_cases(*cases: dict[str, Any]) -> tuple[BenchCase, ...]:
    source = cfg.ConfigSource({"bench": {"cases": list(cases)}}, "pyproject.toml", Path())
    return cfg.load(source, {}).bench.cases


def config_error(*cases: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as info:
        load_cases(*cases)
    return info.value.message


# -- parameter scans and placeholders ------------------------------------------------------------


def test_one_parameter_gives_one_case_per_value_in_order() -> None:
    (case,) = load_cases(
        {"name": "scan", "args": ["-j", "{threads}"], "parameters": {"threads": ["1", "2", "4"]}}
    )
    assert expansions(case) == [
        ("scan[threads=1]", {"threads": "1"}),
        ("scan[threads=2]", {"threads": "2"}),
        ("scan[threads=4]", {"threads": "4"}),
    ]


def test_several_parameters_give_the_cartesian_product() -> None:
    (case,) = load_cases(
        {
            "name": "grid",
            "args": ["{a}", "{b}"],
            "parameters": {"a": ["x", "y"], "b": ["1", "2", "3"]},
        }
    )
    names = [name for name, _ in expansions(case)]
    assert names == [f"grid[a={a},b={b}]" for a in "xy" for b in "123"]
    assert len(set(names)) == 6


def test_a_case_without_parameters_is_itself() -> None:
    (case,) = load_cases({"name": "plain"})
    assert expansions(case) == [("plain", {})]


def test_substitution_is_one_pass_and_leaves_other_braces() -> None:
    values = {"a": "{b}", "b": "B"}
    assert substitute(["{a}-{b}", '{"json": 1}', "{unknown}"], values) == (
        "{b}-B",
        '{"json": 1}',
        "{unknown}",
    )


def test_an_unknown_placeholder_is_a_config_error_naming_the_case() -> None:
    message = config_error({"name": "scan", "args": ["-j", "{thread}"]})
    assert "case 'scan'" in message and "`{thread}`" in message
    assert "bench.cases[0].args" in message
    message = config_error({"name": "scan", "args": ["{thread}"], "parameters": {"threads": ["1"]}})
    assert "known: {threads}" in message


@pytest.mark.parametrize("key", ["prepare", "cleanup"])
def test_placeholders_are_checked_in_prepare_and_cleanup(key: str) -> None:
    message = config_error({"name": "c", key: ["rm", "{out}"]})
    assert "case 'c'" in message and "`{out}`" in message and f"cases[0].{key}" in message


def test_placeholders_are_checked_in_compared_commands() -> None:
    message = config_error({"name": "c", "compare": [["wc", "{input}"]]})
    assert "case 'c'" in message and "needs an `input-kind` or an `input`" in message


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ({"name": "p", "parameters": {"input": ["1"]}}, "not a parameter name"),
        ({"name": "p", "parameters": {"a-b": ["1"]}}, "not a parameter name"),
        ({"name": "p", "parameters": {"n": []}}, "has no values"),
        ({"name": "p", "parameters": {"n": ["1", "1"]}}, "repeats a value"),
        ({"name": "p", "parameters": {"n": [1, 2]}}, "expected a string"),
        ({"name": "p", "input": "c.txt", "input-kind": "text"}, "not both"),
        ({"name": "p", "mode": "throughput", "prepare": ["true"]}, "for latency cases"),
        ({"name": "p", "mode": "throughput", "compare": [["true"]]}, "for latency cases"),
        ({"name": "p", "compare": [[]]}, "needs at least a program"),
        ({"name": "p", "stdin": True}, "`stdin` needs an `input-kind` or an `input`"),
    ],
)
def test_bad_parity_keys_are_config_errors_naming_the_case(
    case: dict[str, Any], message: str
) -> None:
    text = config_error(case)
    assert message in text
    assert "'p'" in text or "parameters.n" in text


def test_parity_keys_load_from_toml_and_from_a_command_line_override() -> None:
    (case,) = load_cases(
        {
            "name": "words",
            "input": "corpus/words.txt",
            "args": ["stats", "{input}"],
            "compare": [["wc", "-w", "{input}"], ["./tools/count", "{input}"]],
            "prepare": ["sync"],
            "cleanup": ["rm", "-f", "out"],
            "workdir": "sub",
        }
    )
    assert case.input == Path("corpus/words.txt")
    assert case.compare == (("wc", "-w", "{input}"), ("./tools/count", "{input}"))
    assert case.workdir == Path("sub")
    config = cfg.load(None, {}, ["bench.workdir=data"])
    assert config.bench.workdir == Path("data")


# -- compared commands: parsing, rows and maths --------------------------------------------------


def test_compare_flag_is_split_like_a_shell_but_never_run_by_one() -> None:
    assert parse_compare("grep -c 'two words' {input}") == ("grep", "-c", "two words", "{input}")
    assert parse_compare("echo $HOME; rm x") == ("echo", "$HOME;", "rm", "x")
    with pytest.raises(UsageError, match="not a command line"):
        parse_compare("grep 'unclosed")
    with pytest.raises(UsageError, match="needs a command"):
        parse_compare("   ")


def test_compare_option_may_be_repeated() -> None:
    parser = argparse.ArgumentParser()
    Option(("--compare",), "h", metavar="CMD", repeat=True).add_to(parser)
    assert parser.parse_args(["--compare", "a b", "--compare", "c"]).compare == ["a b", "c"]
    assert parser.parse_args([]).compare is None


def estimate(ratio: float, low: float, high: float) -> RatioEstimate:
    return RatioEstimate(ratio, low, high, True, 10, 10)


def test_relative_speed_reads_like_hyperfines_summary_with_a_ci() -> None:
    assert relative_speed("grep", estimate(1.35, 1.31, 1.39), "weft") == (
        "grep: 1.35\N{MULTIPLICATION SIGN} [1.31, 1.39] slower than weft"
    )
    # Faster: the factor stays above 1 and the interval is inverted with it.
    assert relative_speed("wc", estimate(0.5, 0.4, 0.625), "weft") == (
        "wc: 2.00\N{MULTIPLICATION SIGN} [1.60, 2.50] faster than weft"
    )


def wall(values: list[float]) -> dict[str, tuple[float, ...]]:
    n = len(values)
    return {
        "wall_ns": tuple(values),
        "user_us": (1.0,) * n,
        "sys_us": (1.0,) * n,
        "maxrss_kib": (900.0,) * n,
    }


def case_with_compared(head: list[float], other: list[float]) -> CaseResult:
    return CaseResult(
        "words",
        "latency",
        ("stats", "{input}"),
        1000,
        100,
        2,
        wall(head),
        compared=(ComparedResult(("wc", "-w", "{input}"), wall(other)),),
    )


def test_compared_row_is_the_paired_ratio_against_the_same_blocks() -> None:
    # Block i: the machine's load moves both runs; the compared command is always 1.5x.
    head = [1e6 * (1 + 0.3 * (i % 5)) for i in range(40)]
    other = [1.5 * h for h in head]
    (row,) = compared_rows(case_with_compared(head, other), "weft", random.Random(1))
    assert row.verdict == "compared" and not row.failed
    assert row.ratio == pytest.approx(1.5)
    assert row.ci is not None  # pairing removed the load: the interval is the ratio itself
    assert row.ci[0] == pytest.approx(1.5) and row.ci[1] == pytest.approx(1.5)
    assert row.head == pytest.approx(1.5 * 1.6)  # median of `other` in ms
    assert row.metric == "wc -w {input} (median ± MAD)"
    assert row.note == "wc: 1.50\N{MULTIPLICATION SIGN} [1.50, 1.50] slower than weft"
    cells = report.cells(row)
    assert cells[4] == "+50.0 % ¹" and cells[5] == "[+50.0 %, +50.0 %]"  # ¹: paired
    assert cells[6] == row.note  # the verdict column says how it ran, never a regression


def run_with(case: CaseResult) -> BenchRun:
    return BenchRun(
        created="2026-01-01T00:00:00+00:00",
        fingerprint={"cpu": "c"},
        head=Subject("head", "abc", "/dist/x86_64-gnu/weft", 1, "00"),
        cases=(case,),
    )


def test_a_much_slower_compared_command_is_never_gated() -> None:
    head = [1e6] * 30
    rows = evaluate(run_with(case_with_compared(head, [9e6] * 30)), GATE)
    compared = [r for r in rows if r.verdict == "compared"]
    assert len(compared) == 1 and "9.00" in compared[0].note
    assert "slower than weft" in compared[0].note  # the binary's file name
    assert not any(r.failed for r in rows)


def test_results_keep_compared_samples_and_parameters_and_old_files_still_load(
    tmp_path: Path,
) -> None:
    case = case_with_compared([1e6] * 5, [2e6] * 5)
    case = CaseResult(**{**case.__dict__, "parameters": {"threads": "2"}})
    path = tmp_path / "r.json"
    run_with(case).save(path)
    loaded = load_baseline(path).cases[0]
    assert loaded.compared == case.compared and loaded.parameters == {"threads": "2"}
    document = json.loads(path.read_text())
    for c in document["cases"]:
        del c["compared"], c["parameters"]
    path.write_text(json.dumps(document))
    old = load_baseline(path).cases[0]
    assert old.compared == () and old.parameters == {}


def test_chart_draws_a_row_per_compared_command() -> None:
    ((title, unit, sides),) = chart.panels(run_with(case_with_compared([1e6] * 5, [2e6] * 5)))
    assert (title, unit) == ("words: wall time", "ms")
    assert [(label, values[0]) for label, values in sides] == [("head", 1.0), ("wc", 2.0)]
    ET.fromstring(chart.svg(run_with(case_with_compared([1e6] * 5, [2e6] * 5))))


def test_hyperfine_export_lists_compared_commands() -> None:
    results = exports.hyperfine(run_with(case_with_compared([1e6] * 5, [2e6] * 5)))["results"]
    assert [r["command"] for r in results] == [
        "words (head): /dist/x86_64-gnu/weft stats '{input}'",
        "words (compared): wc -w '{input}'",
    ]
    assert results[1]["median"] == pytest.approx(2e-3)


# -- the launcher spec: prepare directives ------------------------------------------------------


def test_spec_text_declares_prepare_per_command_after_the_commands() -> None:
    text = spec_text(
        [Command(("/bin/weft", "--version")), Command(("/usr/bin/wc",)), Command(("sync",))],
        [(0, "w"), (1, "m"), (0, "m")],
        jobs=1,
        prepare={1: 2, 0: 2},
    )
    assert text.splitlines() == [
        "jobs\t1",
        "cmd\t-\t/bin/weft\t--version",
        "cmd\t-\t/usr/bin/wc",
        "cmd\t-\tsync",
        "prepare\t0\t2",
        "prepare\t1\t2",
        "run\t0\tw",
        "run\t1\tm",
        "run\t0\tm",
    ]
    with pytest.raises(ValueError, match="no such command"):
        spec_text([Command(("a",))], [], 1, prepare={0: 3})


def test_prepared_case_labels_sides_compared_and_prepare() -> None:
    case = PreparedCase(
        "c", "latency", (), (), None, 0, 1, compare=(Compared(("wc",), ("/usr/bin/wc",)),)
    )
    sides = [Side("base", Path("/b")), Side("head", Path("/h"))]
    assert [case.label(i, sides) for i in range(4)] == [
        "`base` in case `c`",
        "`head` in case `c`",
        "`wc` (compared) in case `c`",
        "of case `c`",
    ]
    assert [c.argv[0] for c in case.commands(sides)] == ["/b", "/h", "/usr/bin/wc"]


# -- working directory, inputs, programs ---------------------------------------------------------


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "corpus" / "deep").mkdir(parents=True)
    (root / "corpus" / "a.txt").write_bytes(b"x" * 100)
    (root / "corpus" / "deep" / "b.txt").write_bytes(b"y" * 23)
    (root / "data").mkdir()
    tool = root / "tools" / "count"
    tool.parent.mkdir()
    tool.write_text("#!/bin/sh\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    return root


def prepared(root: Path, *cases: dict[str, Any], **kwargs: Any) -> list[PreparedCase]:
    return prepare_cases(load_cases(*cases), root / "inputs", 1, root, **kwargs)


def test_runs_start_in_the_workspace_root_unless_a_workdir_is_set(workspace: Path) -> None:
    default, own = prepared(workspace, {"name": "a"}, {"name": "b", "workdir": "corpus"})
    assert default.cwd == workspace.resolve()
    assert own.cwd == (workspace / "corpus").resolve()
    (default,) = prepared(workspace, {"name": "a"}, workdir=Path("data"))
    assert default.cwd == (workspace / "data").resolve()
    with pytest.raises(ConfigError, match=r"bench.workdir `nowhere` is not a directory"):
        prepared(workspace, {"name": "a"}, workdir=Path("nowhere"))
    with pytest.raises(ConfigError, match="workdir of case `b`"):
        prepared(workspace, {"name": "b", "workdir": "nowhere"})


def test_a_workspace_file_or_directory_is_the_input(workspace: Path) -> None:
    file_case, dir_case = prepared(
        workspace,
        {"name": "f", "input": "corpus/a.txt", "args": ["stats", "{input}"], "stdin": True},
        {"name": "d", "input": "corpus", "args": ["-r", "{input}"]},
    )
    assert file_case.args == ("stats", str((workspace / "corpus" / "a.txt").resolve()))
    assert file_case.stdin == (workspace / "corpus" / "a.txt").resolve()
    assert file_case.input_bytes == 100
    assert file_case.template_args == ("stats", "{input}")
    assert dir_case.input_bytes == 123  # every file below it, counted for MB/s
    assert dir_case.stdin is None


def test_a_missing_input_names_the_case_and_the_path(workspace: Path) -> None:
    with pytest.raises(ConfigError) as info:
        prepared(workspace, {"name": "big", "input": "corpus/missing.txt"})
    assert "`big`" in info.value.message and "corpus/missing.txt" in info.value.message
    with pytest.raises(ConfigError, match="cannot be fed on stdin"):
        prepared(workspace, {"name": "d", "input": "corpus", "stdin": True})


def test_scan_and_compare_substitute_and_resolve_programs(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = workspace / "bin"
    bin_dir.mkdir()
    wc = bin_dir / "wc"
    wc.write_text("#!/bin/sh\n")
    wc.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    cases = prepared(
        workspace,
        {
            "name": "scan",
            "input": "corpus/a.txt",
            "args": ["-j", "{n}", "{input}"],
            "parameters": {"n": ["1", "2"]},
            "compare": [["wc", "-l", "{input}"], ["tools/count", "{n}"]],
            "prepare": ["touch", "p{n}"],
            "cleanup": ["rm", "p{n}"],
        },
    )
    assert [c.name for c in cases] == ["scan[n=1]", "scan[n=2]"]
    second = cases[1]
    corpus = str((workspace / "corpus" / "a.txt").resolve())
    assert second.args == ("-j", "2", corpus)
    assert second.template_args == ("-j", "2", "{input}")
    assert second.parameters == {"n": "2"}
    assert second.prepare == ("touch", "p2") and second.cleanup == ("rm", "p2")
    assert [c.argv for c in second.compare] == [
        (str(wc), "-l", corpus),
        (str(workspace / "tools" / "count"), "2"),
    ]
    assert second.compare[0].template == ("wc", "-l", "{input}")


def test_a_compared_program_that_cannot_be_found_names_the_case(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(workspace / "empty"))
    with pytest.raises(ConfigError, match=r"case `c` compares with `nosuch -x`.*not on PATH"):
        prepared(workspace, {"name": "c", "compare": [["nosuch", "-x"]]})
    with pytest.raises(ConfigError, match="not an executable file"):
        prepared(workspace, {"name": "c", "compare": [["tools/nope"]]})


def test_compare_flag_joins_the_latency_cases_whose_placeholders_it_fills(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", os.pathsep.join(["/usr/bin", "/bin"]))
    cases = prepared(
        workspace,
        {"name": "startup"},
        {"name": "words", "input": "corpus/a.txt", "args": ["{input}"]},
        {"name": "many", "mode": "throughput"},
        compare=[parse_compare("cat {input}")],
    )
    by_name = {c.name: c for c in cases}
    assert by_name["startup"].compare == () and by_name["many"].compare == ()
    assert [c.template for c in by_name["words"].compare] == [("cat", "{input}")]
    with pytest.raises(UsageError, match="fits no latency case"):
        prepared(workspace, {"name": "startup"}, compare=[parse_compare("cat {input}")])
