"""Adoption as a new user does it: `nox-cargo init` on a copy of a workspace nox-cargo has never
seen (tests/fixtures/adopt: a bin, a library with a doctest, a cdylib for the browser, a
Dockerfile of its own, no LICENSE), then plain `nox`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, require
from tests.integration.conftest import nox_env, run_nox

pytestmark = pytest.mark.integration

FIXTURE = REPO / "tests" / "fixtures" / "adopt"


def nox_cargo(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m nox_cargo ARGS` in `root`, output merged."""
    return subprocess.run(
        [sys.executable, "-m", "nox_cargo", *args],
        cwd=root,
        env=nox_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
        check=False,
    )


def git_repo(root: Path) -> None:
    """A repository with one commit, as an adopted project is (the build's timestamp)."""
    for argv in (
        ["git", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "tally"],
    ):
        subprocess.run(argv, cwd=root, check=True)


@pytest.fixture(scope="module")
def adopted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    root = tmp_path_factory.mktemp("adopt") / "tally"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("target", "dist"))
    git_repo(root)
    init = nox_cargo(root, "init")
    assert init.returncode == 0, init.stdout
    pipeline = run_nox(root, timeout=1800)
    return root, init.stdout, pipeline.stdout + f"\nexit code {pipeline.returncode}"


def test_init_writes_its_files_and_leaves_the_repositorys_own_alone(
    adopted: tuple[Path, str, str],
) -> None:
    root, init, _ = adopted
    for name in ("noxfile.py", "pyproject.toml", "nox-cargo.Dockerfile", ".gitignore"):
        assert f"created {name}" in init, init
    assert (root / "Dockerfile").read_bytes() == (FIXTURE / "Dockerfile").read_bytes()
    assert "/dist/" in (root / ".gitignore").read_text()
    again = nox_cargo(root, "init")
    assert again.returncode == 0, again.stdout
    assert again.stdout.count("nox-cargo: left ") == 4  # nothing changed, nothing rewritten


def test_plain_nox_runs_the_pipeline(adopted: tuple[Path, str, str]) -> None:
    root, _, pipeline = adopted
    assert pipeline.endswith("exit code 0"), pipeline
    for session in ("lint(step=check)", "test(toolchain=stable)", "build(target=x86_64-musl)"):
        assert f"* {session}: success" in pipeline
    # The repository's alpine Dockerfile is untouched and not the image's template.
    assert (root / "Dockerfile").read_bytes() == (FIXTURE / "Dockerfile").read_bytes()
    assert "unknown instruction" not in pipeline


def test_the_cdylibs_size_gate_passes_with_figures(adopted: tuple[Path, str, str]) -> None:
    root, _, pipeline = adopted
    report = root / "target" / "nox-cargo" / "wasm-wasm32-unknown-unknown.json"
    data = json.loads(report.read_text())
    assert (data["module_kind"], data["package"], data["passed"]) == ("library", "tally-web", True)
    raw, gzip = data["sizes"]["raw"], data["sizes"]["gzip"]
    assert 0 < gzip < raw <= data["budgets"]["raw"]
    assert f"tally_web.wasm (library): {raw} B raw, {gzip} B gzip, within budget" in pipeline
    assert "no smoke run: a cdylib is a library a host loads" in pipeline
    shipped = root / "dist" / "wasm" / "wasm32-unknown-unknown" / "tally_web.wasm"
    assert shipped.stat().st_size == raw


def test_the_doctest_runs(adopted: tuple[Path, str, str]) -> None:
    root, _, pipeline = adopted
    assert "src/lib.rs - count (line 5) ... ok" in pipeline
    junit = root / "target" / "nox-cargo"
    written = " ".join(p.read_text() for p in junit.glob("junit-stable*.xml"))
    assert "src/lib.rs - count (line 5)" in written


def test_init_explains_what_it_cannot_adopt(tmp_path: Path) -> None:
    empty = nox_cargo(tmp_path, "init")
    assert empty.returncode != 0
    assert (
        "has no Cargo.toml" in empty.stdout and "nox-cargo init path/to/workspace" in empty.stdout
    )
    assert "Traceback" not in empty.stdout
    lib = tmp_path / "lib"
    (lib / "src").mkdir(parents=True)
    (lib / "Cargo.toml").write_text('[package]\nname = "lib"\nversion = "0.1.0"\n')
    (lib / "src" / "lib.rs").write_text("")
    only_lib = nox_cargo(lib, "init", "--dry-run")
    assert only_lib.returncode != 0
    assert "has no bin target" in only_lib.stdout and "src/main.rs" in only_lib.stdout
    assert not (lib / "noxfile.py").exists()


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "tally"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("target", "dist"))
    before = sorted(p.name for p in root.iterdir())
    plan = nox_cargo(root, "init", "--dry-run")
    assert plan.returncode == 0, plan.stdout
    assert "would create noxfile.py" in plan.stdout
    assert "nox_cargo.register()" in plan.stdout
    assert sorted(p.name for p in root.iterdir() if p.name != "target") == before


def test_a_wasip2_build_is_a_component_checked_and_gated(tmp_path: Path) -> None:
    require(shutil.which("rustup") is not None, "rustup adds the wasm32-wasip2 std")
    root = tmp_path / "tally"
    shutil.copytree(FIXTURE, root, ignore=shutil.ignore_patterns("target", "dist"))
    git_repo(root)
    assert nox_cargo(root, "init").returncode == 0
    config = root / "pyproject.toml"
    text = config.read_text()
    config.write_text(
        text.replace('targets = ["wasm32-unknown-unknown"]', 'targets = ["wasm32-wasip2"]')
    )
    done = run_nox(root, "-s", "wasm(target=wasm32-wasip2)")
    assert done.returncode == 0, done.stdout
    shipped = root / "dist" / "wasm" / "wasm32-wasip2" / "tally_web.wasm"
    assert shipped.read_bytes()[:8] == b"\0asm\x0d\x00\x01\x00"  # a component, not a module
    data = json.loads((root / "target" / "nox-cargo" / "wasm-wasm32-wasip2.json").read_text())
    assert (data["module_kind"], data["passed"]) == ("component", True)
    assert data["sizes"]["raw"] == shipped.stat().st_size
    assert "tally_web.wasm (component):" in done.stdout
