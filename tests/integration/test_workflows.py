"""The shipped GitHub workflows against the real nox session list, the drift check end to end on
a copy of this repository, and zizmor's verdict."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from nox_cargo.github import invocations
from nox_cargo.project import Project
from tests.conftest import REPO, WEFT, require_tool
from tests.integration.conftest import run_nox

pytestmark = pytest.mark.integration

WORKFLOWS = REPO / ".github" / "workflows"
# `nox -l --json` lists only the *selected* sessions (register() selects the pipeline), so a
# keyword expression that every session satisfies selects all of them.
LIST_ALL = ("-l", "--json", "-k", "not __no_such_session__")


@pytest.fixture(scope="module")
def listed() -> set[str]:
    result = run_nox(REPO, *LIST_ALL)
    assert result.returncode == 0, result.stdout
    start = result.stdout.index("[")
    return {entry["session"] for entry in json.loads(result.stdout[start:])}


def workflow(name: str) -> dict[str, object]:
    data: dict[str, object] = yaml.safe_load((WORKFLOWS / name).read_text())
    return data


def test_every_nox_call_in_every_workflow_names_a_listed_session(listed: set[str]) -> None:
    assert {"workflows", "py-tests", "doctor", "bench", "checksums"} <= listed
    calls = [
        call
        for path in sorted(WORKFLOWS.glob("*.yml"))
        for call in invocations.collect(path, yaml.safe_load(path.read_text()))
    ]
    assert len(calls) > 20
    missing = [f"{c.where()}: {c.session}" for c in calls if c.session not in listed]
    assert missing == []
    assert "docker(platform=linux/amd64)" in {c.session for c in calls}


def _matrix_targets(name: str, job: str) -> list[str]:
    jobs = workflow(name)["jobs"]
    assert isinstance(jobs, dict)
    return [entry["target"] for entry in jobs[job]["strategy"]["matrix"]["include"]]


def test_every_registry_target_is_in_the_build_and_release_matrices() -> None:
    registry = Project.load(REPO, environ={}).config.target_registry
    ids = [t.id for t in registry]
    assert {"x86_64-musl", "aarch64-musl", "aarch64-macos", "x86_64-windows", "x86_64-gnu"} <= set(
        ids
    )
    assert _matrix_targets("ci.yml", "build") == ids
    assert _matrix_targets("release.yml", "package") == ids
    jobs = workflow("ci.yml")["jobs"]
    assert isinstance(jobs, dict)
    runners = {e["target"]: e["runner"] for e in jobs["build"]["strategy"]["matrix"]["include"]}
    assert runners == {t.id: t.runner for t in registry}


def test_zizmor_offline_reports_no_findings() -> None:
    require_tool("zizmor")
    files = sorted(map(str, WORKFLOWS.glob("*.yml")))
    result = subprocess.run(
        ["zizmor", "--offline", "--no-progress", "--format", "json", *files],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == []
    ignores = [
        line.strip()
        for path in WORKFLOWS.glob("*.yml")
        for line in path.read_text().splitlines()
        if "zizmor: ignore" in line
    ]
    assert len(ignores) == 1 and "ignore[dangerous-triggers]" in ignores[0]


def test_workflows_check_passes_on_the_repository() -> None:
    require_tool("zizmor")
    result = run_nox(REPO, "-s", "workflows", "--", "--check")
    assert result.returncode == 0, result.stdout
    assert "workflow files match the registry" in result.stdout
    assert "zizmor --offline" in result.stdout and "skipped" not in result.stdout


def test_the_matrix_is_emitted_as_json_from_the_registry() -> None:
    result = run_nox(REPO, "-s", "workflows", "--", "--matrix", "build")
    assert result.returncode == 0, result.stdout
    start = result.stdout.index("{")
    end = result.stdout.rindex("}") + 1
    include = json.loads(result.stdout[start:end])["include"]
    registry = Project.load(REPO, environ={}).config.target_registry
    assert [(e["target"], e["runner"]) for e in include] == [(t.id, t.runner) for t in registry]


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """The parts of this repository the workflows session reads: config, noxfile, workflows,
    and the example workspace (without its target dir)."""
    root = tmp_path / "repo"
    root.mkdir()
    for name in ("pyproject.toml", "noxfile.py", "Dockerfile"):
        if (REPO / name).exists():
            shutil.copy2(REPO / name, root / name)
    shutil.copytree(WORKFLOWS, root / ".github" / "workflows")
    shutil.copytree(WEFT, root / "examples" / "weft", ignore=shutil.ignore_patterns("target"))
    return root


RISCV = """
[[tool.nox-cargo.targets]]
id = "riscv64-gnu"
triple = "riscv64gc-unknown-linux-gnu"
runner = "ubuntu-latest"
"""


def test_drift_is_caught_with_a_diff_and_write_fixes_it(repo_copy: Path) -> None:
    require_tool("zizmor")
    ci = repo_copy / ".github" / "workflows" / "ci.yml"
    assert run_nox(repo_copy, "-s", "workflows").returncode == 0

    # A target added to the config: both matrices drift.
    pyproject = repo_copy / "pyproject.toml"
    text = pyproject.read_text()
    marker = "[tool.nox-cargo.wasm]"
    pyproject.write_text(text.replace(marker, RISCV.lstrip() + "\n" + marker, 1))
    drifted = run_nox(repo_copy, "-s", "workflows", "--", "--check")
    assert drifted.returncode != 0
    assert "+          - target: riscv64-gnu" in drifted.stdout
    assert "--- .github/workflows/release.yml (on disk)" in drifted.stdout
    assert "nox -s workflows -- --write" in drifted.stdout

    # A hand edit outside the markers, then --write: the edit stays, the target arrives.
    ci.write_text(ci.read_text().replace("  build:\n", "  # hand-written note\n  build:\n", 1))
    written = run_nox(repo_copy, "-s", "workflows", "--", "--write")
    assert written.returncode == 0, written.stdout
    assert "  # hand-written note\n  build:\n" in ci.read_text()
    assert "- target: riscv64-gnu" in ci.read_text()
    assert run_nox(repo_copy, "-s", "workflows").returncode == 0

    # A target removed from the file (by hand): drift again, --write restores it.
    good = ci.read_text()
    entry = (
        "          - target: riscv64-gnu\n"
        "            triple: riscv64gc-unknown-linux-gnu\n"
        "            runner: ubuntu-latest\n"
        '            apt: "gcc-riscv64-linux-gnu libc6-dev-riscv64-cross qemu-user-static"\n'
    )
    assert entry in good
    ci.write_text(good.replace(entry, "", 1))
    assert run_nox(repo_copy, "-s", "workflows").returncode != 0
    assert run_nox(repo_copy, "-s", "workflows", "--", "--write").returncode == 0
    assert ci.read_text() == good


def test_a_renamed_session_fails_the_check(repo_copy: Path) -> None:
    ci = repo_copy / ".github" / "workflows" / "ci.yml"
    ci.write_text(ci.read_text().replace("run: nox -s bench --", "run: nox -s benchmark --", 1))
    result = run_nox(repo_copy, "-s", "workflows")
    assert result.returncode != 0
    assert "`nox -s benchmark` — 'benchmark' is not a nox session" in result.stdout
