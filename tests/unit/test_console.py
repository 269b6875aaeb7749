"""Console output on GitHub Actions: groups, escaped annotations, the job summary."""

from __future__ import annotations

import io
from pathlib import Path

from nox_cargo.console import Console, markdown_table


def test_plain_terminal_has_no_workflow_commands() -> None:
    out = io.StringIO()
    console = Console(env={}, file=out)
    with console.group("lint"):
        console.error("boom", "fix it")
    assert "::" not in out.getvalue()
    assert "boom" in out.getvalue()
    assert "Fix: fix it" in out.getvalue()


def test_github_actions_groups_and_annotations(tmp_path: Path) -> None:
    out = io.StringIO()
    summary = tmp_path / "summary.md"
    console = Console(env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}, file=out)
    with console.group("lint(step=fmt)"):
        console.error("line one\nline 100%", "run: fmt", title="lint(step=fmt)")
    lines = out.getvalue().splitlines()
    assert lines[0] == "::group::lint(step=fmt)"
    assert "::error title=lint(step=fmt)::line one%0Aline 100%25%0AFix: run: fmt" in lines
    assert lines[-1] == "::endgroup::"
    console.summary("first")
    console.summary("second")
    assert summary.read_text() == "first\n\nsecond\n\n"


def test_annotation_titles_escape_separators() -> None:
    out = io.StringIO()
    Console(env={"GITHUB_ACTIONS": "true"}, file=out).error("x", title="a:b,c")
    assert "::error title=a%3Ab%2Cc::x" in out.getvalue()


def test_markdown_table_escapes_pipes() -> None:
    table = markdown_table(["a", "b"], [["x|y", "z"]])
    assert table.splitlines() == ["| a | b |", "|---|---|", "| x\\|y | z |"]
