"""Generated blocks: marker parsing, rendering from the registry and sessions, drift both ways."""

from __future__ import annotations

import json
import shutil
from functools import partial
from pathlib import Path

import pytest
import yaml

from nox_cargo.config import DEFAULT_TARGETS, Target
from nox_cargo.github import drift, invocations, markers, matrix
from tests.conftest import REPO

WORKFLOWS = REPO / ".github" / "workflows"

SESSIONS = (
    "lint(step=fmt)",
    "lint(step=clippy)",
    "lint",
    "test(toolchain=stable)",
    "test(toolchain=msrv)",
    "wasm(target=wasm32-wasip1)",
    "docker(platform=linux/amd64)",
    "docker(platform=linux/arm64)",
)
EXTRA = Target("aarch64-gnu", "aarch64-unknown-linux-gnu", "ubuntu-latest", linker="aarch64-gcc")


def facts(*targets: Target, sessions: tuple[str, ...] = SESSIONS) -> matrix.Facts:
    """As registered: one `build(target=…)` session per target of the registry."""
    registry = targets or DEFAULT_TARGETS
    return matrix.Facts(
        targets=registry,
        sessions=(*sessions, *(f"build(target={t.id})" for t in registry)),
        docker_platforms={"linux/amd64": "x86_64-musl", "linux/arm64": "aarch64-gnu"},
        dist_dir="dist",
        target_dir="weft/target",
        report_dir="weft/target/nox-cargo",
        msrv="1.63",
        nox_cargo_requirement="nox-cargo==0.1.0",
    )


DOC = """\
name: x
jobs:
  build:
    # a hand-written comment
    strategy:
      matrix:
        # BEGIN nox-cargo generated: build-matrix
        include: []
        # END nox-cargo generated
    runs-on: ${{ matrix.runner }}
"""


def test_blocks_are_found_with_their_indentation() -> None:
    (block,) = markers.find_blocks(DOC, Path("ci.yml"))
    assert (block.name, block.indent, block.begin, block.end) == ("build-matrix", " " * 8, 6, 8)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# BEGIN nox-cargo generated: a\n", "has no `# END"),
        ("# END nox-cargo generated\n", "without a BEGIN"),
        ("# BEGIN nox-cargo generated: a\n# BEGIN nox-cargo generated: b\n", "starts inside"),
        ("  # BEGIN nox-cargo generated: a\n# END nox-cargo generated\n", "not indented like"),
        ("# BEGIN nox-cargo generated a\n", "malformed marker"),
    ],
)
def test_malformed_markers_are_errors_naming_the_line(text: str, message: str) -> None:
    with pytest.raises(markers.MarkerError, match=message) as info:
        markers.find_blocks(text, Path("ci.yml"))
    assert "ci.yml:" in info.value.message


def test_rewrite_replaces_only_the_block_body_at_its_indentation() -> None:
    out = markers.rewrite(
        DOC, Path("ci.yml"), lambda name: ["a: 1", "", "b:", "  - c"], ["build-matrix"]
    )
    assert out == DOC.replace(
        "        include: []\n", "        a: 1\n\n        b:\n          - c\n"
    )
    assert (
        markers.rewrite(out, Path("ci.yml"), lambda name: ["include: []"], ["build-matrix"]) == DOC
    )


def test_unknown_block_names_are_rejected() -> None:
    with pytest.raises(markers.MarkerError, match="unknown generated block 'build-matrix'"):
        markers.rewrite(DOC, Path("ci.yml"), lambda name: [], ["env"])


def test_scalars_read_back_as_the_same_string() -> None:
    for value in ["x86_64-musl", "1.63", ".", "on", "linux/amd64", "nox==2026.10.20", "a: b", ""]:
        assert yaml.safe_load(f"k: {matrix.scalar(value)}") == {"k": value}
    assert matrix.scalar(True) == "true"


def test_build_matrix_lists_every_target_on_its_runner() -> None:
    lines = matrix.render(facts(*DEFAULT_TARGETS, EXTRA), "build-matrix")
    parsed = yaml.safe_load("\n".join(lines))
    assert [e["target"] for e in parsed["include"]] == [t.id for t in (*DEFAULT_TARGETS, EXTRA)]
    by_id = {e["target"]: e for e in parsed["include"]}
    assert by_id["aarch64-musl"]["runner"] == "ubuntu-24.04-arm"
    # Ubuntu 24.04's cross linker and qemu for a gnu cross target on an x86_64 Ubuntu runner.
    # (EXTRA's own `aarch64-gcc` linker is no package nox-cargo knows: the job brings it.)
    assert by_id["aarch64-gnu"]["apt"] == "qemu-user-static"
    plain = Target("a", "aarch64-unknown-linux-gnu", "ubuntu-latest")
    assert matrix.apt_packages(plain) == [
        "gcc-aarch64-linux-gnu",
        "libc6-dev-arm64-cross",
        "qemu-user-static",
    ]
    native = Target("n", "aarch64-unknown-linux-gnu", "ubuntu-24.04-arm")
    assert matrix.apt_packages(native) == []
    mingw = Target("w", "x86_64-pc-windows-gnu", "ubuntu-latest")
    assert matrix.apt_packages(mingw) == ["gcc-mingw-w64-x86-64", "wine64"]
    assert matrix.apt_packages(Target("m", "x86_64-pc-windows-msvc", "windows-latest")) == []
    assert by_id["x86_64-musl"]["apt"] == ""
    assert by_id["aarch64-musl"]["apt"] == ""  # native on the arm64 runner
    assert by_id["x86_64-macos"]["apt"] == ""


def test_session_matrices_come_from_the_registered_sessions() -> None:
    f = facts()
    assert yaml.safe_load("\n".join(matrix.render(f, "lint-matrix"))) == {
        "include": [{"step": "fmt"}, {"step": "clippy"}]
    }
    test = yaml.safe_load("\n".join(matrix.render(f, "test-matrix")))
    assert test["include"] == [{"toolchain": "stable"}, {"toolchain": "msrv", "install": "1.63"}]
    docker = yaml.safe_load("\n".join(matrix.render(f, "docker-matrix")))["include"]
    assert docker[1] == {"platform": "linux/arm64", "runner": DEFAULT_RUNNER, "apt": ""}
    with pytest.raises(matrix.MatrixError, match=r"needs `wasm\(target=…\)` sessions"):
        matrix.render(facts(sessions=("lint(step=fmt)",)), "wasm-matrix")


DEFAULT_RUNNER = matrix.DEFAULT_RUNNER


def test_matrix_json_is_the_include_list() -> None:
    data = json.loads(matrix.matrix_json(facts(), "build"))
    assert [e["target"] for e in data["include"]] == [t.id for t in DEFAULT_TARGETS]
    with pytest.raises(matrix.MatrixError, match="no matrix 'nope'"):
        matrix.matrix_json(facts(), "nope")


def test_package_smoke_uses_the_first_target_on_the_default_runner() -> None:
    mac = Target("m", "aarch64-apple-darwin", "macos-15")
    assert matrix.smoke_target([mac, *DEFAULT_TARGETS]).id == "x86_64-musl"
    assert matrix.smoke_target([mac]).id == "m"
    with pytest.raises(matrix.MatrixError, match="empty"):
        matrix.smoke_target([])


@pytest.fixture
def workflows(tmp_path: Path) -> Path:
    directory = tmp_path / ".github" / "workflows"
    shutil.copytree(REPO / ".github" / "workflows", directory)
    return directory


def repo_facts(*targets: Target) -> matrix.Facts:
    """What this repository's workflows were generated from (plus/minus targets)."""
    from nox_cargo import cargo_test, lint
    from nox_cargo.project import Project

    config = Project.load(REPO, environ={}).config
    sessions = [f"build(target={t.id})" for t in targets or config.target_registry]
    sessions += [f"lint(step={step})" for step in lint.STEPS]
    sessions += [f"test(toolchain={which})" for which in cargo_test.TOOLCHAINS]
    sessions += [f"wasm(target={triple})" for triple in config.wasm.targets]
    sessions += [f"docker(platform={p})" for p in config.docker.platforms]
    return matrix.Facts(
        targets=targets or config.target_registry,
        sessions=tuple(sessions),
        docker_platforms=dict(config.docker.platforms),
        dist_dir="dist",
        workspace_dir="examples/weft",
        target_dir="examples/weft/target",
        report_dir="examples/weft/target/nox-cargo",
        msrv="1.63",
        nox_cargo_requirement=".",
    )


def test_the_shipped_workflows_are_in_sync(workflows: Path) -> None:
    states = drift.plan(workflows, repo_facts())
    assert {s.path.name for s in states} == {"ci.yml", "release.yml", "bench-comment.yml"}
    assert drift.diff(states, workflows.parent.parent) == ""


def test_a_target_added_to_the_config_is_drift_with_a_diff(workflows: Path) -> None:
    base = repo_facts()
    added = Target("riscv64-gnu", "riscv64gc-unknown-linux-gnu", "ubuntu-latest")
    states = drift.plan(workflows, repo_facts(*base.targets, added))
    diff = drift.diff(states, workflows.parent.parent)
    assert "--- .github/workflows/ci.yml (on disk)" in diff
    assert "+++ .github/workflows/release.yml (generated)" in diff
    assert "+          - target: riscv64-gnu" in diff
    assert diff.count("+          - target: riscv64-gnu") == 2  # build and release matrices
    drift.write(states)
    assert drift.diff(drift.plan(workflows, repo_facts(*base.targets, added)), workflows) == ""


def test_a_target_removed_from_the_file_is_drift_and_write_restores_it(workflows: Path) -> None:
    ci = workflows / "ci.yml"
    original = ci.read_text()
    entry = (
        "          - target: x86_64-gnu\n"
        "            triple: x86_64-unknown-linux-gnu\n"
        "            runner: ubuntu-latest\n"
        '            apt: ""\n'
    )
    assert entry in original
    ci.write_text(original.replace(entry, "", 1))
    diff = drift.diff(drift.plan(workflows, repo_facts()), workflows)
    assert "+          - target: x86_64-gnu" in diff
    drift.write(drift.plan(workflows, repo_facts()))
    assert ci.read_text() == original


def test_hand_edits_outside_the_markers_survive_write(workflows: Path) -> None:
    ci = workflows / "ci.yml"
    edited = (
        ci.read_text()
        .replace("  build:\n", "  # my own note about the build job\n  build:\n", 1)
        .replace("CARGO_TERM_COLOR: always", "CARGO_TERM_COLOR: never")
    )
    ci.write_text(edited)
    wider = (*repo_facts().targets, Target("s390x-gnu", "s390x-unknown-linux-gnu"))
    drift.write(drift.plan(workflows, repo_facts(*wider)))
    text = ci.read_text()
    assert "  # my own note about the build job\n  build:\n" in text
    assert "CARGO_TERM_COLOR: never" in text
    assert "- target: s390x-gnu" in text
    assert yaml.safe_load(text)["jobs"]["build"]["strategy"]["matrix"]["include"][-1] == {
        "target": "s390x-gnu",
        "triple": "s390x-unknown-linux-gnu",
        "runner": "ubuntu-latest",
        "apt": "qemu-user-static",
    }


def test_a_missing_block_or_file_is_an_error_with_the_fix(workflows: Path) -> None:
    ci = workflows / "ci.yml"
    text = ci.read_text()
    ci.write_text(text.replace("# BEGIN nox-cargo generated: wasm-matrix", "# wasm"))
    with pytest.raises(markers.MarkerError):
        drift.plan(workflows, repo_facts())  # an orphan END marker
    ci.write_text(
        text.replace("        # BEGIN nox-cargo generated: wasm-matrix\n", "", 1).replace(
            "        # END nox-cargo generated\n    steps:\n      - uses: actions/checkout@3d3c"
            "42e5aac5ba805825da76410c181273ba90b1 # v7.0.1\n        with:\n          persist-"
            "credentials: false\n      - uses: actions/setup-python@5fda3b95a4ea91299a34e8945"
            '83c3862153e4b97 # v7.0.0\n        with:\n          python-version: "3.11"\n     '
            " - name: Install nox, nox-cargo and wasmtime",
            "    steps:\n      - name: Install nox, nox-cargo and wasmtime",
            1,
        )
    )
    with pytest.raises(drift.WorkflowMissing, match="no generated block 'wasm-matrix'"):
        drift.plan(workflows, repo_facts())
    (workflows / "release.yml").unlink()
    with pytest.raises(drift.WorkflowMissing, match=r"release\.yml is missing"):
        drift.plan(workflows, repo_facts())


# Adoption: nox-cargo writes the workflows into a repository that has none, never over one it
# did not write, and what it writes references nothing the adopter lacks.


def test_write_creates_absent_workflows_from_the_templates(tmp_path: Path) -> None:
    directory = tmp_path / ".github" / "workflows"
    with pytest.raises(drift.WorkflowMissing, match=r"ci\.yml is missing") as info:
        drift.plan(directory, repo_facts())
    assert "--write` creates it" in (info.value.hint or "")
    states = drift.plan(directory, repo_facts(), create=True)
    assert sorted(s.path.name for s in states) == ["bench-comment.yml", "ci.yml", "release.yml"]
    assert all(s.current == "" and s.drifted for s in states)
    drift.write(states)
    assert drift.diff(drift.plan(directory, repo_facts()), tmp_path) == ""
    for path in drift.workflow_files(directory):
        text = path.read_text()
        assert ".ci/" not in text and "install-system" not in text
        assert "py-tests" not in text and "nox-poetry" not in text
    sessions = {
        inv.session
        for path in drift.workflow_files(directory)
        for inv in invocations.collect(path, yaml.safe_load(path.read_text()))
    }
    assert "lint(step=fmt)" in sessions and "workflows" in sessions
    assert not [name for name in sessions if name.startswith("py-")]


def test_a_workflow_nox_cargo_did_not_write_is_never_overwritten(tmp_path: Path) -> None:
    directory = tmp_path / ".github" / "workflows"
    directory.mkdir(parents=True)
    mine = "name: Release\non: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps: []\n"
    (directory / "release.yml").write_text(mine)
    with pytest.raises(drift.NotGenerated, match="nox-cargo did not write it") as info:
        drift.plan(directory, repo_facts(), create=True)
    assert "release-old.yml" in (info.value.hint or "")
    assert (directory / "release.yml").read_text() == mine
    assert not (directory / "ci.yml").exists()


def _jobs(text: str) -> dict[str, object]:
    jobs: dict[str, object] = yaml.safe_load(text)["jobs"]
    return jobs


def test_this_repositorys_workflows_are_the_templates_plus_its_own_python_job() -> None:
    f = repo_facts()
    for name in ("release.yml", "bench-comment.yml"):
        render = partial(matrix.render, f)
        rendered = markers.rewrite(drift.template(name), Path(name), render, matrix.blocks(f))
        assert rendered == (WORKFLOWS / name).read_text(), name
    ours = _jobs((WORKFLOWS / "ci.yml").read_text())
    template = _jobs(drift.template("ci.yml"))
    python = ours.pop("python")
    assert isinstance(python, dict) and "py-tests" in str(python)
    summary, template_summary = ours.pop("ci-ok"), template.pop("ci-ok")
    assert isinstance(summary, dict) and isinstance(template_summary, dict)
    assert summary["needs"] == ["workflows", "python", *template_summary["needs"][1:]]
    for job in ours.values():
        assert isinstance(job, dict)
        job["strategy"] = {**job.get("strategy", {}), "matrix": None} if "strategy" in job else None
    for job in template.values():
        assert isinstance(job, dict)
        job["strategy"] = {**job.get("strategy", {}), "matrix": None} if "strategy" in job else None
    assert ours == template
