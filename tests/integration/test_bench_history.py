"""Bench history for real: `nox -s bench -- --save series.jsonl` on a built weft grows the series
by one line a run and draws bench-trend.svg; a corrupt series stops the next run before it
measures, naming the line, and is left as it was."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from nox_cargo.bench import series
from tests.integration.conftest import run_nox
from tests.integration.test_bench import built_weft, load, weft  # noqa: F401 (fixtures)

pytestmark = pytest.mark.integration

SVG = "{http://www.w3.org/2000/svg}"
QUICK = ["-c", "bench.max-seconds=2", "-c", "bench.min-runs=10", "-c", "bench.max-runs=20"]


def test_save_grows_the_series_and_draws_the_trend(weft: Path) -> None:  # noqa: F811
    path = weft / "bench-history" / "main.jsonl"
    for run in (1, 2):
        done = run_nox(weft, "-s", "bench", "--", "--save", "bench-history/main.jsonl", *QUICK)
        assert done.returncode == 0, done.stdout[-4000:]
        assert len(path.read_text().splitlines()) == run
    assert "saved this result: " in done.stdout and "(2 result(s) in it)" in done.stdout
    assert "bench history:" in done.stdout  # the console table
    saved = series.read(path)
    assert len(saved.runs) == 2 and saved.dropped == ()
    report = load(weft).report_dir / "bench"
    # The last line of the series is this run's results.json.
    assert json.loads(path.read_text().splitlines()[-1]) == json.loads(
        (report / "results.json").read_text()
    )
    markdown = (report / "bench.md").read_text()
    assert "### History" in markdown
    assert "no alert rule: 1 earlier result(s), 5 needed" in markdown
    chart = ET.fromstring((report / "bench-trend.svg").read_text())
    panels = chart.findall(f"{SVG}g")
    assert len(panels) == 4  # startup, stats, stdin-count, invocations
    assert all(len(p.findall(f"{SVG}circle")) == 2 for p in panels)  # two results each

    lines = path.read_text().splitlines()
    path.write_text(lines[0] + "\n" + lines[1][:100] + "\n" + lines[1] + "\n")
    before = path.read_bytes()
    done = run_nox(weft, "-s", "bench", "--", "--save", "bench-history/main.jsonl", *QUICK)
    assert done.returncode != 0
    assert "Line 2 of the series" in done.stdout and "main.jsonl is not valid JSON" in done.stdout
    assert "sed -i '2d'" in done.stdout
    assert "Traceback" not in done.stdout
    assert "measuring weft" not in done.stdout  # refused before measuring
    assert path.read_bytes() == before
