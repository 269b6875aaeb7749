"""The stage cache through nox on a copy of weft: reused while nothing changed, re-run after each
kind of input change, never after an unrelated one; and `nox -l` starts no process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import nox_env, run_nox

pytestmark = pytest.mark.integration

FMT = "lint(step=fmt)"


def fmt(project: Path, *extra: str, env: dict[str, str] | None = None) -> str:
    done = run_nox(project, "-s", FMT, *extra, env=env)
    assert done.returncode == 0, done.stdout
    return done.stdout


def reused(output: str) -> bool:
    return "cached: unchanged since" in output


def test_a_stage_reruns_after_each_kind_of_input_change_and_only_then(
    project: Path, tmp_path: Path
) -> None:
    weft = project / "weft"
    assert not reused(fmt(project))
    assert reused(fmt(project))

    # Unrelated: the project's own files outside the workspace, cargo's target dir.
    (project / "NOTES.md").write_text("not part of the workspace\n")
    (weft / "target" / "scratch.txt").write_text("cargo's directory\n")
    assert reused(fmt(project))

    # Source.
    lib = weft / "crates" / "weft-core" / "src" / "stats.rs"
    lib.write_text(lib.read_text().replace("pub fn ", "#[inline]\npub fn ", 1))
    output = fmt(project)
    assert not reused(output) and "sources changed" in output
    assert reused(fmt(project))

    # Cargo.lock.
    lock = weft / "Cargo.lock"
    lock.write_text(lock.read_text() + "\n")
    assert "sources changed" in fmt(project)
    assert reused(fmt(project))

    # A config value the stage reads (and one it does not).
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n[tool.nox-cargo.bench]\nwarmup = 7\n")
    assert reused(fmt(project))
    pyproject.write_text(pyproject.read_text() + '\n[tool.nox-cargo.lint]\ncheck-args = ["-q"]\n')
    assert "config changed" in fmt(project)
    assert reused(fmt(project))

    # The toolchain: another rustc first on PATH (here: a wrapper around the same one).
    real = shutil.which("rustc")
    assert real is not None
    shim = tmp_path / "shim"
    shim.mkdir()
    # A toolchain is a rustc with its cargo beside it: wrap both.
    for tool, target in (("rustc", real), ("cargo", shutil.which("cargo"))):
        assert target is not None
        (shim / tool).write_text(f'#!/bin/sh\nexec "{target}" "$@"\n')
        (shim / tool).chmod(0o755)
    other_path = {"PATH": f"{shim}{os.pathsep}{os.environ['PATH']}"}
    assert "toolchain changed" in fmt(project, env=other_path)
    assert reused(fmt(project, env=other_path))

    # Forced.
    assert not reused(fmt(project, "--", "--fresh"))
    assert not reused(fmt(project, "--", "-c", "cache=false"))


def test_a_failure_stays_a_failure_when_reused(project: Path) -> None:
    lib = project / "weft" / "crates" / "weft-core" / "src" / "stats.rs"
    lib.write_text(lib.read_text() + "\nfn   badly_formatted( ) {}\n")
    first = run_nox(project, "-s", FMT)
    second = run_nox(project, "-s", FMT)
    assert first.returncode != 0 and not reused(first.stdout)
    assert second.returncode != 0 and reused(second.stdout), second.stdout


def test_nox_l_starts_no_process(project: Path) -> None:
    """An audit hook makes any process start fatal while nox lists the sessions."""
    hook = (
        "import sys\n"
        "def audit(event, args):\n"
        "    if event in ('subprocess.Popen', 'os.system', 'os.posix_spawn', 'os.exec', "
        "'os.fork'):\n"
        "        raise RuntimeError(f'nox -l started a process: {event} {args!r}')\n"
        "sys.addaudithook(audit)\n"
        "import runpy\n"
        "sys.argv = ['nox', '-l']\n"
        "runpy.run_module('nox', run_name='__main__')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", hook],
        cwd=project,
        env=nox_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "lint(step=clippy)" in done.stdout
    assert "started a process" not in done.stdout + done.stderr
