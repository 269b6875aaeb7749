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
    upload = next(s for s in job["steps"] if "upload-artifact" in s.get("uses", ""))
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


def test_the_pr_number_is_written_where_it_is_uploaded_from() -> None:
    job, _ = bench_job()
    scripts = " ".join(s.get("run", "") for s in job["steps"])
    assert '"$REPORT_DIR/bench/pr-number"' in scripts
