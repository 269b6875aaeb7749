"""The rehearsal's planning (which jobs and entries, in which order, with which env), its mapping
of `uses:` steps, its expression evaluator, and the retired-runner table."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from nox_cargo.errors import NoxCargoError
from nox_cargo.github import expressions as ex
from nox_cargo.github import rehearsal, runners
from nox_cargo.sessions.workflows import check_runners, label_uses
from tests.conftest import REPO
from tests.unit.test_github_generation import facts

WORKFLOWS = REPO / ".github" / "workflows"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return data


def plan(name: str, arch: str = "x86_64") -> list[rehearsal.PlannedJob]:
    return rehearsal.plan_workflow(name, load(name), arch)


def test_every_linux_entry_of_ci_is_rehearsable_and_the_others_say_which_runner() -> None:
    jobs = plan("ci.yml")
    by_name = {j.name: j for j in jobs}
    assert not by_name["lint(step=fmt)"].elsewhere
    assert not by_name["build(target=x86_64-gnu)"].elsewhere
    assert by_name["build(target=aarch64-macos)"].elsewhere == "needs a macOS runner (macos-15)"
    assert "Windows runner (windows-latest)" in by_name["build(target=x86_64-windows)"].elsewhere
    arm = by_name["build(target=aarch64-musl)"].elsewhere
    assert arm == "needs an aarch64 runner (ubuntu-24.04-arm); this machine is x86_64"
    # On an arm64 machine it is the other way round.
    on_arm = {j.name: j for j in plan("ci.yml", "aarch64")}
    assert not on_arm["build(target=aarch64-musl)"].elsewhere
    assert on_arm["build(target=x86_64-gnu)"].elsewhere


def test_jobs_come_in_needs_order_and_the_summary_job_is_last() -> None:
    ids = list(dict.fromkeys(j.job_id for j in plan("ci.yml")))
    assert ids[-1] == "ci-ok"
    release = list(dict.fromkeys(j.job_id for j in plan("release.yml")))
    assert release == ["package", "gather", "image", "publish"]


def test_the_env_is_workflow_then_job_with_matrix_values_filled_in() -> None:
    workflow = {
        "env": {"A": "1", "WHERE": "${{ matrix.target }}"},
        "jobs": {
            "j": {
                "runs-on": "${{ matrix.runner }}",
                "env": {"A": "2", "B": "${{ env.WHERE }}-x"},
                "strategy": {"matrix": {"include": [{"target": "t1", "runner": "ubuntu-latest"}]}},
                "steps": [{"run": "true"}],
            }
        },
    }
    (job,) = rehearsal.plan_workflow("ci.yml", workflow, "x86_64")
    assert job.env == {"A": "2", "WHERE": "t1", "B": "t1-x"}
    assert job.runner == "ubuntu-latest" and not job.elsewhere


def test_selection_takes_a_job_an_entry_or_a_file_and_brings_what_it_needs() -> None:
    planned = plan("ci.yml") + plan("release.yml")
    lint = rehearsal.select(planned, "lint")
    assert [j.name for j in lint] == ["lint(step=fmt)", "lint(step=clippy)", "lint(step=check)"]
    assert [j.name for j in rehearsal.select(planned, "lint(step=fmt)")] == ["lint(step=fmt)"]
    image = rehearsal.select(planned, "release.yml:image")
    assert {j.job_id for j in image} == {"package", "gather", "image"}
    assert all(j.workflow == "release.yml" for j in image)
    # `package` is a job of both files: unqualified, it means both.
    assert {j.workflow for j in rehearsal.select(planned, "package")} == {"ci.yml", "release.yml"}
    assert {j.workflow for j in rehearsal.select(planned, "release.yml")} == {"release.yml"}
    both = rehearsal.select(planned, "lint(step=fmt),release.yml:gather")
    assert both[0].name == "lint(step=fmt)"
    assert {j.job_id for j in both} == {"lint", "package", "gather"}
    without = rehearsal.select(planned, "ci.yml,-python,-bench")
    assert "ci-ok" in {j.job_id for j in without}
    assert not {"python", "bench"} & {j.job_id for j in without}
    assert {j.job_id for j in rehearsal.select(planned, "-python")} >= {"ci-ok", "gather"}
    with pytest.raises(NoxCargoError, match="is called 'lnit'") as info:
        rehearsal.select(planned, "lnit")
    assert "ci.yml:lint" in (info.value.hint or "")


def test_the_release_gate_expects_only_the_targets_this_machine_can_build() -> None:
    planned = plan("release.yml")
    value = planned[0].env["RELEASE_TARGETS"]
    kept, away = rehearsal.release_targets_here(planned, value)
    assert kept.split() == ["x86_64-musl", "x86_64-gnu"]
    assert away == ["aarch64-musl", "x86_64-macos", "aarch64-macos", "x86_64-windows"]


def test_known_uses_map_to_local_equivalents_and_unknown_ones_do_not() -> None:
    for workflow in ("ci.yml", "release.yml"):
        for job in plan(workflow):
            for step in job.steps:
                if "uses" in step.raw:
                    assert rehearsal.local_equivalent(str(step.raw["uses"])), step.raw["uses"]
    assert rehearsal.local_equivalent("actions/checkout@abc") == "checkout"
    assert rehearsal.local_equivalent("Swatinem/rust-cache@abc") == "cache"
    assert rehearsal.local_equivalent("docker/build-push-action@abc") is None
    assert rehearsal.local_equivalent("actions/attest-build-provenance@abc") == "publish"


def test_the_runner_env_has_what_github_sets(tmp_path: Path) -> None:
    files = {k: tmp_path / k for k in ("temp", "summary", "output", "env", "path")}
    github = {
        "event_name": "push",
        "ref": "refs/heads/main",
        "ref_name": "main",
        "sha": "0" * 40,
        "repository": "r/l",
        "repository_owner": "r",
        "actor": "a",
    }
    env = rehearsal.runner_env(tmp_path, files, github)
    assert env["CI"] == "true" and env["GITHUB_ACTIONS"] == "true"
    assert env["GITHUB_STEP_SUMMARY"] == str(files["summary"])
    assert env["GITHUB_OUTPUT"] == str(files["output"])
    assert env["GITHUB_REF"] == "refs/heads/main"
    assert env["CI_REHEARSAL"] == "1"


def test_output_files_with_plain_and_heredoc_values() -> None:
    text = "version=1.95.0\nnotes<<EOF\nline 1\nline=2\nEOF\nempty=\n"
    assert rehearsal.parse_env_file(text) == {
        "version": "1.95.0",
        "notes": "line 1\nline=2",
        "empty": "",
    }


CTX: dict[str, Any] = {
    "matrix": {"apt": "", "install": "1.63", "step": "fmt"},
    "github": {"event_name": "push", "ref": "refs/heads/main"},
    "needs": {"a": {"result": "success"}, "b": {"result": "failure"}},
    "env": {"X": "y"},
}


def test_if_conditions_as_github_reads_them() -> None:
    ok, failed = ex.Status(False), ex.Status(True)
    assert ex.condition("matrix.apt != ''", CTX, ok) is False
    assert ex.condition("matrix.install", CTX, ok) is True
    assert ex.condition("github.event_name == 'pull_request'", CTX, ok) is False
    assert ex.condition("startsWith(github.ref, 'refs/tags/v')", CTX, ok) is False
    assert ex.condition("${{ !cancelled() }}", CTX, failed) is True
    assert ex.condition("matrix.install", CTX, failed) is False  # implicit success()
    assert ex.condition("always() && startsWith(github.ref, 'refs/heads/')", CTX, failed)
    assert ex.condition(None, CTX, failed) is False and ex.condition(None, CTX, ok) is True
    assert ex.evaluate("github.event_name == 'PUSH'", CTX) is True  # case-insensitive
    assert ex.evaluate("needs.b.result != 'success' || false", CTX) is True


def test_templates_are_substituted_and_unknown_functions_are_named() -> None:
    assert ex.substitute("lint(step=${{ matrix.step }})", CTX) == "lint(step=fmt)"
    assert ex.substitute("${{ env.X }}-${{ github.nothing }}", CTX) == "y-"
    assert '"result": "success"' in ex.substitute("${{ toJSON(needs) }}", CTX)
    with pytest.raises(ex.ExpressionError, match="fromJSON"):
        ex.evaluate("fromJSON('[]')", CTX)


# Retired runner labels ------------------------------------------------------------------------


def test_a_retired_label_fails_naming_the_replacement() -> None:
    uses = [runners.LabelUse("macos-13", "target `x86_64-macos`")]
    with pytest.raises(runners.RetiredRunner) as info:
        runners.check(uses, dt.date(2026, 1, 1))
    assert "`macos-13` was retired by GitHub on 2025-12-04; use `macos-15-intel`" in (
        info.value.message
    )
    assert "nox -s workflows -- --write" in (info.value.hint or "")


def test_a_label_retiring_soon_is_a_warning_and_current_labels_pass() -> None:
    soon = [runners.LabelUse("macos-14", "target `aarch64-macos`")]
    (warning,) = runners.check(soon, dt.date(2026, 9, 1))
    assert "retires on 2026-11-02" in warning and "`macos-15`" in warning
    assert runners.check(soon, dt.date(2026, 1, 1)) == []
    current = ["ubuntu-latest", "ubuntu-24.04-arm", "macos-15", "macos-15-intel", "windows-2025"]
    assert runners.check([runners.LabelUse(x, "t") for x in current], dt.date(2027, 1, 1)) == []


def test_the_default_targets_and_the_shipped_workflows_use_no_retired_label() -> None:
    known = facts()
    uses = label_uses(known, WORKFLOWS)
    assert {"ubuntu-latest", "macos-15", "macos-15-intel"} <= {u.label for u in uses}
    check_runners(known, WORKFLOWS, dt.date(2026, 12, 2))


def test_a_registry_target_on_a_retired_label_fails_the_workflows_check() -> None:
    from nox_cargo.config import Target

    old = facts(Target("aarch64-macos", "aarch64-apple-darwin", "macos-14"))
    with pytest.raises(runners.RetiredRunner, match=r"target `aarch64-macos`: `macos-14`"):
        check_runners(old, WORKFLOWS, dt.date(2026, 12, 2))
    assert runners.literal_labels("${{ matrix.runner }}") == []
    assert runners.literal_labels(["self-hosted", "linux"]) == ["self-hosted", "linux"]


def test_the_docs_show_the_job_table_as_generated() -> None:
    planned = plan("ci.yml") + plan("release.yml")
    docs = (REPO / "docs" / "github-actions.md").read_text()
    start = docs.index("<!-- BEGIN job table")
    body = docs[docs.index("\n", start) + 1 : docs.index("<!-- END job table -->")]
    assert body == rehearsal.job_table(planned)
    assert "| ci.yml | `build(target=aarch64-macos)` | macos-15 |" in body


def test_artifacts_pass_between_jobs_without_file_modes(tmp_path: Path) -> None:
    job_a, job_b, store = tmp_path / "a", tmp_path / "b", tmp_path / "store"
    (job_a / "dist" / "x86_64-gnu").mkdir(parents=True)
    binary = job_a / "dist" / "x86_64-gnu" / "weft"
    binary.write_text("elf")
    binary.chmod(0o755)
    (job_a / "dist" / "SHA256SUMS").write_text("sums")
    store.mkdir()
    note = rehearsal._upload({"name": "dist-x", "path": "dist/"}, job_a, store)
    assert note == "artifact `dist-x`: 2 file(s)"
    assert (store / "dist-x" / "x86_64-gnu" / "weft").stat().st_mode & 0o777 == 0o644
    with pytest.raises(NoxCargoError, match="already uploaded"):
        rehearsal._upload({"name": "dist-x", "path": "dist/"}, job_a, store)
    with pytest.raises(NoxCargoError, match="No files were found"):
        rehearsal._upload(
            {"name": "e", "path": "nothing/", "if-no-files-found": "error"}, job_a, store
        )
    rehearsal._download(
        {"pattern": "dist-*", "merge-multiple": "true", "path": "dist"}, job_b, store
    )
    assert (job_b / "dist" / "x86_64-gnu" / "weft").read_text() == "elf"
    rehearsal._download({"pattern": "dist-*", "path": "each"}, job_b, store)
    assert (job_b / "each" / "dist-x" / "SHA256SUMS").is_file()
    with pytest.raises(NoxCargoError, match="Artifact not found: `release`"):
        rehearsal._download({"name": "release"}, job_b, store)
