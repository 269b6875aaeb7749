"""hyperfine parity for real, on a built examples/weft: a compared command (`wc -w`) measured
interleaved with `weft stats` on a workspace corpus, a parameter scan, prepare before every run
and cleanup once per command (through the native launcher), the working directory, and the
`--compare` flag through nox.

Sampling is short (`bench.max-seconds=2`, `bench.min-runs=10`); nothing asserts a timing except
that the compared row's paired ratio agrees with the ratio of the medians it sits beside.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from nox_cargo.bench.compare import Row
from nox_cargo.bench.launcher import RunFailed
from nox_cargo.bench.measure import MEMORY_RUNS
from nox_cargo.bench.results import load_baseline
from nox_cargo.bench.runner import run_bench
from nox_cargo.project import Project
from tests.integration.conftest import GNU_TARGETS, nox_env, run_nox
from tests.integration.test_bench import built_weft  # noqa: F401 (the shared build fixture)

pytestmark = pytest.mark.integration

SHORT = ["bench.max-seconds=2", "bench.min-runs=10", "bench.warmup=2"]
HEADER = (
    '[tool.nox-cargo]\nworkspace = "weft"\nbinaries = ["weft"]\n' + GNU_TARGETS.split("\n\n")[0]
)


@pytest.fixture
def weft(built_weft: Path, tmp_path: Path) -> Path:  # noqa: F811
    """A private copy of the built project with a corpus in the workspace root."""
    copy = tmp_path / "project"
    shutil.copytree(built_weft, copy, ignore=shutil.ignore_patterns("target", ".nox"))
    words = " ".join(f"w{i % 97}" for i in range(20_000))
    (copy / "weft" / "corpus.txt").write_text((words + "\n") * 5)
    return copy


def configure(project: Path, cases: str, bench: str = "") -> None:
    (project / "pyproject.toml").write_text(f"{HEADER}\n\n[tool.nox-cargo.bench]\n{bench}\n{cases}")


def load(project: Path, *overrides: str) -> Project:
    return Project.load(project, environ=nox_env(), overrides=[*SHORT, *overrides])


def bench_part(stdout: str) -> str:
    """What the bench session printed (after the build session it requires)."""
    return stdout.split("Running session bench", 1)[1]


def compared_row(rows: list[Row], case: str) -> Row:
    (row,) = [r for r in rows if r.case == case and r.verdict == "compared"]
    return row


SUMMARY = re.compile(
    r"^wc: \d+\.\d\d\N{MULTIPLICATION SIGN} \[\d+\.\d\d, \d+\.\d\d\] (slower|faster) than weft$"
)


def test_a_compared_command_runs_interleaved_and_gets_a_ratio_row(weft: Path) -> None:
    configure(
        weft,
        """
[[tool.nox-cargo.bench.cases]]
name = "words"
args = ["stats", "{input}"]
input = "corpus.txt"
compare = [["wc", "-w", "{input}"]]
""",
    )
    run, rows = run_bench(load(weft))
    (case,) = run.cases
    (compared,) = case.compared
    assert compared.command == ("wc", "-w", "{input}")
    head, other = case.head["wall_ns"], compared.samples["wall_ns"]
    assert len(head) == len(other) >= 10  # one run of each per block
    assert case.input_bytes == (weft / "weft" / "corpus.txt").stat().st_size
    row = compared_row(rows, "words")
    assert SUMMARY.match(row.note), row.note
    assert row.ratio is not None and row.ci is not None and row.ci[0] <= row.ratio <= row.ci[1]
    # The paired ratio sits near the ratio of the medians shown beside it.
    medians = sorted(other)[len(other) // 2] / sorted(head)[len(head) // 2]
    assert 0.67 < row.ratio / medians < 1.5, (row.ratio, medians)
    assert not any(r.failed for r in rows)
    report = load(weft).report_dir / "bench"
    assert row.note in (report / "bench.md").read_text()
    commands = [
        r["command"] for r in json.loads((report / "hyperfine.json").read_text())["results"]
    ]
    assert commands[-1].startswith("words (compared): wc -w")
    assert load_baseline(report / "results.json").cases[0].compared == case.compared


def test_a_parameter_scan_makes_one_case_per_value(weft: Path) -> None:
    configure(
        weft,
        """
[[tool.nox-cargo.bench.cases]]
name = "top"
args = ["top", "-k", "{k}", "{input}"]
input = "corpus.txt"
parameters = { k = ["1", "50"] }
""",
    )
    run, rows = run_bench(load(weft))
    assert [(c.name, c.args, c.parameters) for c in run.cases] == [
        ("top[k=1]", ("top", "-k", "1", "{input}"), {"k": "1"}),
        ("top[k=50]", ("top", "-k", "50", "{input}"), {"k": "50"}),
    ]
    assert {r.case for r in rows if r.metric.startswith("wall time (median")} == {
        "top[k=1]",
        "top[k=50]",
    }


def test_prepare_runs_before_every_run_and_cleanup_once_per_command(weft: Path) -> None:
    """Every run of the compared `sh` appends `r` to a log that the prepare command appends `p`
    to: each `r` must follow a `p`, there is one `p` per run (warm-ups and peak-memory runs
    included) of each of the
    two commands, and the two `c`s of cleanup come after the last run. The log is relative: it
    lands in the workspace root, where runs start by default."""
    configure(
        weft,
        """
[[tool.nox-cargo.bench.cases]]
name = "prepared"
args = ["--version"]
compare = [["sh", "-c", "echo r >> parity.log"]]
prepare = ["sh", "-c", "echo p >> parity.log"]
cleanup = ["sh", "-c", "echo c >> parity.log"]
""",
    )
    run, _ = run_bench(load(weft))
    runs = len(run.cases[0].head["wall_ns"])
    log = (weft / "weft" / "parity.log").read_text().split()
    warmup = 2
    every = warmup + MEMORY_RUNS + runs  # warm-ups, peak-memory runs, timed runs
    assert log.count("p") == 2 * every
    assert log.count("r") == every
    assert all(log[i - 1] == "p" for i, x in enumerate(log) if x == "r")
    assert log[-2:] == ["c", "c"] and log.count("c") == 2


def test_runs_start_in_the_workspace_root_or_the_configured_workdir(weft: Path) -> None:
    (weft / "weft" / "sub").mkdir()
    (weft / "weft" / "sub" / "local.txt").write_text("only here\n")
    configure(
        weft,
        """
[[tool.nox-cargo.bench.cases]]
name = "root-relative"
args = ["stats", "corpus.txt"]

[[tool.nox-cargo.bench.cases]]
name = "sub-relative"
args = ["stats", "local.txt"]
workdir = "sub"
""",
    )
    run, _ = run_bench(load(weft))
    assert [c.name for c in run.cases] == ["root-relative", "sub-relative"]
    # The same relative path from bench.workdir: the root case cannot find corpus.txt there.
    with pytest.raises(RunFailed, match="case `root-relative`"):
        run_bench(load(weft, "bench.workdir=sub"))


@pytest.mark.parametrize("key", ["prepare", "cleanup"])
def test_a_failing_prepare_or_cleanup_fails_the_case_naming_it(weft: Path, key: str) -> None:
    configure(
        weft,
        f"""
[[tool.nox-cargo.bench.cases]]
name = "broken"
args = ["--version"]
{key} = ["sh", "-c", "echo nope >&2; exit 3"]
""",
    )
    with pytest.raises(RunFailed) as info:
        run_bench(load(weft))
    assert f"The {key} command" in info.value.message
    assert "case `broken`" in info.value.message
    assert "status 3" in info.value.message and "nope" in info.value.message


def test_a_prepare_that_hangs_is_killed_at_the_run_timeout(weft: Path) -> None:
    configure(
        weft,
        """
[[tool.nox-cargo.bench.cases]]
name = "stuck"
args = ["--version"]
prepare = ["sleep", "60"]
""",
    )
    with pytest.raises(RunFailed) as info:
        run_bench(load(weft, "bench.run-timeout=0.5"))
    assert "The prepare command of case `stuck` (sleep 60) did not finish" in info.value.message


def test_compare_flag_through_nox_and_a_missing_corpus_is_a_config_error(weft: Path) -> None:
    configure(
        weft,
        """
[[tool.nox-cargo.bench.cases]]
name = "startup"
args = ["--version"]

[[tool.nox-cargo.bench.cases]]
name = "words"
args = ["stats", "{input}"]
input = "corpus.txt"
""",
    )
    short = [x for o in SHORT for x in ("-c", o)]
    done = run_nox(weft, "-s", "bench", "--", *short, "--compare", "wc -w {input}")
    assert done.returncode == 0, done.stdout[-3000:]
    assert "`--compare wc -w {input}` not added" in done.stdout  # startup has no {input}
    report = load(weft).report_dir / "bench"
    cases = {c.name: c for c in load_baseline(report / "results.json").cases}
    assert cases["startup"].compared == ()
    assert [c.command for c in cases["words"].compared] == [("wc", "-w", "{input}")]
    assert (
        "slower than weft" in (report / "bench.md").read_text()
        or "faster than weft" in (report / "bench.md").read_text()
    )
    # Without --compare the result is recorded; the corpus is one of the stage's inputs.
    corpus = weft / "weft" / "corpus.txt"
    assert run_nox(weft, "-s", "bench", "--", *short).returncode == 0
    assert "cached:" in bench_part(run_nox(weft, "-s", "bench", "--", *short).stdout)
    corpus.write_text(corpus.read_text() + "more words\n")
    assert "upstream changed" in bench_part(run_nox(weft, "-s", "bench", "--", *short).stdout)
    corpus.unlink()
    done = run_nox(weft, "-s", "bench", "--", *short)
    assert done.returncode != 0
    assert "Bench case `words`: its input `corpus.txt` does not exist" in done.stdout
    assert "Traceback" not in done.stdout
