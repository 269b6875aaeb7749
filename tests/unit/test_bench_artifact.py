"""The seam between the bench stage and CI: the bench job uploads what the stage writes, in the
layout the fork-safe comment workflow reads (report and PR number at the artifact's root)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from nox_cargo.bench.runner import Outputs
from nox_cargo.github import comment

REPO = Path(__file__).resolve().parents[2]


def bench_job() -> tuple[dict[str, Any], str]:
    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text())
    return workflow["jobs"]["bench"], workflow["env"]["REPORT_DIR"]


def test_the_uploaded_files_are_the_ones_bench_writes_side_by_side() -> None:
    job, report_dir = bench_job()
    upload = next(
        s
        for s in job["steps"]
        if "upload-artifact" in s.get("uses", "") and s["with"]["name"] == "bench"
    )
    paths = [
        Path(line.strip().replace("${{ env.REPORT_DIR }}", report_dir))
        for line in upload["with"]["path"].splitlines()
        if line.strip()
    ]
    outputs = Outputs.under(Path(report_dir) / "bench")
    # One directory: upload-artifact roots the artifact there, where the comment looks.
    assert {p.parent for p in paths} == {outputs.markdown.parent}
    assert outputs.markdown in paths
    assert outputs.results in paths
    assert outputs.markdown.name == comment.REPORT_NAME
    assert outputs.markdown.parent / "pr-number" in paths
    assert outputs.trend in paths


def _uses(job: dict[str, Any], action: str) -> dict[str, Any]:
    (step,) = [s for s in job["steps"] if s.get("uses", "").startswith(f"{action}@")]
    assert isinstance(step, dict)
    return step


def test_main_keeps_the_series_in_a_cache_that_pull_requests_only_read() -> None:
    job, _ = bench_job()
    restore = _uses(job, "actions/cache/restore")
    save = _uses(job, "actions/cache/save")
    series_dir = restore["with"]["path"]
    assert save["with"]["path"] == series_dir
    # Restored by prefix (the newest series), saved under a key no earlier run used.
    prefix = restore["with"]["restore-keys"].strip()
    assert save["with"]["key"].startswith(prefix) and "github.run_id" in save["with"]["key"]
    assert "if" not in restore  # pull requests read main's series for their trend
    assert "github.event_name == 'push'" in save["if"] and "!cancelled()" in save["if"]
    runs = {s["if"]: s for s in job["steps"] if "nox -s bench" in s.get("run", "")}
    on_push, on_pr = (
        runs["github.event_name == 'push'"],
        runs["github.event_name == 'pull_request'"],
    )
    assert '--save "$BENCH_SERIES"' in on_push["run"]
    assert '--history "$BENCH_SERIES"' in on_pr["run"] and "--base" in on_pr["run"]
    for step in (on_push, on_pr):
        assert step["env"]["BENCH_SERIES"].startswith(series_dir + "/")
    series_upload = next(s for s in job["steps"] if s.get("with", {}).get("name") == "bench-series")
    assert series_upload["with"]["path"] == on_push["env"]["BENCH_SERIES"]


def test_the_pr_number_is_written_where_it_is_uploaded_from() -> None:
    job, _ = bench_job()
    scripts = " ".join(s.get("run", "") for s in job["steps"])
    assert '"$REPORT_DIR/bench/pr-number"' in scripts
