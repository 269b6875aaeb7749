"""The foundation end to end: nox -l, lint failing for real, tests on stable and on the MSRV,
GitHub Actions output, and malformed configs stopping nox with a clear error."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from nox_cargo.build import toolchain as tc
from tests.conftest import require
from tests.integration.conftest import make_project, run_nox

pytestmark = pytest.mark.integration


def test_nox_list_shows_every_stage_with_a_description(project: Path) -> None:
    listed = run_nox(project, "-l")
    assert listed.returncode == 0, listed.stdout
    for name in (
        "lint(step=fmt)",
        "lint(step=clippy)",
        "lint(step=check)",
        "test(toolchain=stable)",
        "test(toolchain=msrv)",
        "doctor",
    ):
        line = next((ln for ln in listed.stdout.splitlines() if f" {name} -> " in ln), None)
        assert line is not None, f"{name} missing from nox -l:\n{listed.stdout}"
        assert line.split(" -> ", 1)[1].strip()
    as_json = run_nox(project, "-l", "--json")
    assert as_json.returncode == 0
    sessions = {entry["session"] for entry in json.loads(as_json.stdout)}
    assert {"lint(step=fmt)", "test(toolchain=msrv)"} <= sessions


def test_lint_catches_clippy_warnings_and_unformatted_code(project: Path) -> None:
    main = project / "weft" / "crates" / "weft" / "src" / "main.rs"
    main.write_text(
        main.read_text()
        + "\n#[allow(dead_code)]\nfn    badly_formatted( ) -> u32 { let x: u32 = 5; x.clone() }\n"
    )
    clippy = run_nox(project, "-s", "lint(step=clippy)")
    assert clippy.returncode != 0
    assert "clone_on_copy" in clippy.stdout or "using `clone`" in clippy.stdout, clippy.stdout
    # the command is shown as run, with the project's compiler named (`cargo +<toolchain>`)
    assert re.search(r"cargo (\+\S+ )?clippy --workspace", clippy.stdout), clippy.stdout
    fmt = run_nox(project, "-s", "lint(step=fmt)")
    assert fmt.returncode != 0
    assert "fn    badly_formatted( )" in fmt.stdout or "-fn    badly_formatted" in fmt.stdout
    assert "-- --fix" in fmt.stdout  # the fix is named
    fixed = run_nox(project, "-s", "lint(step=fmt)", "--", "--fix")
    assert fixed.returncode == 0, fixed.stdout
    assert run_nox(project, "-s", "lint(step=fmt)").returncode == 0


def test_clippy_warnings_can_be_allowed_by_config(project: Path) -> None:
    main = project / "weft" / "crates" / "weft" / "src" / "main.rs"
    main.write_text(main.read_text() + "\n#[allow(dead_code)]\nfn cl() -> u32 { 5u32.clone() }\n")
    result = run_nox(
        project, "-s", "lint(step=clippy)", "--", "-c", "lint.clippy-deny-warnings=false"
    )
    assert result.returncode == 0, result.stdout
    assert "clone_on_copy" in result.stdout or "using `clone`" in result.stdout


def test_tests_run_on_stable_and_write_junit(project: Path) -> None:
    result = run_nox(project, "-s", "test(toolchain=stable)")
    assert result.returncode == 0, result.stdout
    junit = project / "weft" / "target" / "nox-cargo" / "junit-stable.xml"
    if "cargo-nextest" in result.stdout:
        assert "<testsuites" in junit.read_text()


def test_tests_really_run_on_the_msrv_toolchain(project: Path) -> None:
    require(Path("/usr/bin/rustc").exists(), "Debian's rustc 1.63 (apt-get install rustc cargo)")
    # Pinned: on a machine with rustup's 1.63 too, discovery alone would prefer rustup's.
    pin = "test.msrv-toolchain=/usr/bin/rustc"
    result = run_nox(project, "-s", "test(toolchain=msrv)", "--", "-c", pin)
    assert result.returncode == 0, result.stdout
    assert "testing with rustc 1.63" in result.stdout
    assert "RUSTC=/usr/bin/rustc" in result.stdout


def test_github_actions_output(project: Path, tmp_path: Path) -> None:
    main = project / "weft" / "crates" / "weft" / "src" / "main.rs"
    main.write_text(main.read_text() + "\nfn    ugly( ) {}\n")
    summary = tmp_path / "summary.md"
    result = run_nox(
        project,
        "-s",
        "lint(step=fmt)",
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert result.returncode != 0
    lines = result.stdout.splitlines()
    assert "::group::lint(step=fmt)" in lines
    assert "::endgroup::" in lines
    assert any(line.startswith("::error title=lint(step=fmt)::") for line in lines)
    assert "❌ `lint(step=fmt)` failed" in summary.read_text()


def test_skip_locally_fail_in_ci(tmp_path: Path) -> None:
    # A workspace whose rust-version has no toolchain here, and provisioning off (with it on,
    # rustup would install one): msrv is skipped with the command, or fails in CI.
    have = {(t.version.major, t.version.minor) for t in tc.discover()}
    minor = next(m for m in range(64, 200) if (1, m) not in have)
    root = make_project(tmp_path / "p")
    for manifest in (root / "weft" / "crates").glob("*/Cargo.toml"):
        manifest.write_text(
            manifest.read_text().replace('rust-version = "1.63"', f'rust-version = "1.{minor}"')
        )
    local = run_nox(root, "-s", "test(toolchain=msrv)", "--", "--no-provision")
    assert local.returncode == 0, local.stdout
    assert "skipped" in local.stdout and f"1.{minor}" in local.stdout
    in_ci = run_nox(root, "-s", "test(toolchain=msrv)", "--", "--no-provision", env={"CI": "true"})
    assert in_ci.returncode != 0
    assert f"rustup toolchain install 1.{minor}" in in_ci.stdout


@pytest.mark.parametrize(
    ("config", "fragments"),
    [
        ("[tool.nox-cargo.lint]\nclipy = true\n", ["Unknown key `lint.clipy`", "pyproject.toml"]),
        ("[tool.nox-cargo.test]\nrunner = 3\n", ["`test.runner`", "pyproject.toml"]),
        ("[[tool.nox-cargo.targets]]\nid = 'x'\n", ["Missing key `triple`", "targets[0]"]),
        ("[tool.nox-cargo.lint]\nclippy-deny = true\n", ["did you mean `clippy-deny-warnings`"]),
        (
            "[tool.nox-cargo.docker]\nplatforms = { 'linux/amd64' = 'riscv' }\n",
            ["`docker.platforms` maps linux/amd64 to target 'riscv'", "[[tool.nox-cargo.targets]]"],
        ),
    ],
)
def test_malformed_config_stops_nox_without_traceback(
    tmp_path: Path, config: str, fragments: list[str]
) -> None:
    root = make_project(tmp_path / "p", config)
    result = run_nox(root, "-l")
    assert result.returncode == 2, result.stdout
    for fragment in fragments:
        assert fragment in result.stdout
    assert "Traceback" not in result.stdout


def test_missing_or_non_workspace_path(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    (root / "pyproject.toml").write_text('[tool.nox-cargo]\nworkspace = "nowhere"\n')
    result = run_nox(root, "-s", "lint(step=check)")
    assert result.returncode != 0
    assert "nowhere does not exist" in result.stdout and "Traceback" not in result.stdout
    (root / "empty").mkdir()
    (root / "pyproject.toml").write_text('[tool.nox-cargo]\nworkspace = "empty"\n')
    result = run_nox(root, "-s", "lint(step=check)")
    assert "is not a Cargo workspace" in result.stdout and "Traceback" not in result.stdout


def test_config_in_cargo_workspace_metadata(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    weft = root / "weft"
    (weft / "noxfile.py").write_text((root / "noxfile.py").read_text())
    manifest = weft / "Cargo.toml"
    original = manifest.read_text()
    manifest.write_text(original + '\n[workspace.metadata.nox-cargo]\nbinaries = ["weft"]\n')
    assert run_nox(weft, "-l").returncode == 0
    manifest.write_text(original + '\n[workspace.metadata.nox-cargo]\nbinaires = ["weft"]\n')
    result = run_nox(weft, "-l")
    assert result.returncode == 2
    assert "Unknown key `binaires`" in result.stdout
    assert "[workspace.metadata.nox-cargo]" in result.stdout
    assert "Traceback" not in result.stdout
