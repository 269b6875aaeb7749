"""The stage cache through nox on a copy of weft: reused while nothing changed, re-run after each
kind of input change, never after an unrelated one; and `nox -l` starts no process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nox_cargo.manifest import sha256_file
from tests.integration.conftest import make_project, nox_env, run_nox
from tests.integration.release_project import CONFIG, EPOCH, TARGET

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


def nox_audited(project: Path, audit_body: str, *nox_args: str) -> subprocess.CompletedProcess[str]:
    """`nox NOX_ARGS` in `project` with an audit hook whose body (indented, `event` and `args`
    in scope) sees every process start."""
    hook = (
        "import sys\n"
        "def audit(event, args):\n"
        f"{audit_body}"
        "sys.addaudithook(audit)\n"
        "import runpy\n"
        f"sys.argv = ['nox', *{list(nox_args)!r}]\n"
        "runpy.run_module('nox', run_name='__main__')\n"
    )
    return subprocess.run(
        [sys.executable, "-c", hook],
        cwd=project,
        env=nox_env(),
        capture_output=True,
        text=True,
        check=False,
    )


def test_nox_l_starts_no_process(project: Path) -> None:
    """An audit hook makes any process start fatal while nox lists the sessions."""
    done = nox_audited(
        project,
        "    if event in ('subprocess.Popen', 'os.system', 'os.posix_spawn', 'os.exec', "
        "'os.fork'):\n"
        "        raise RuntimeError(f'nox -l started a process: {event} {args!r}')\n",
        "-l",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "lint(step=clippy)" in done.stdout
    assert "started a process" not in done.stdout + done.stderr


def test_a_cached_session_starts_only_git(project: Path) -> None:
    """Once the target dir is recorded, a cached session runs no cargo (no `cargo metadata`, no
    `rustc -vV`): an audit hook lists every process the third run starts."""
    fmt(project)
    # The record is made only once the workspace's files are 2 s old (the racy rule).
    time.sleep(max(0.0, (project / "weft" / "Cargo.toml").stat().st_ctime + 2.5 - time.time()))
    assert reused(fmt(project))
    assert (project / "weft" / "target" / "nox-cargo" / "cache" / "target-dir.json").is_file()
    done = nox_audited(
        project,
        "    if event == 'subprocess.Popen':\n"
        "        print('started:', list(args[1])[0], file=sys.stderr)\n",
        "-s",
        FMT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert reused(done.stdout), done.stdout
    started = [line.split()[-1] for line in done.stderr.splitlines() if line.startswith("started:")]
    # nox itself looks for `uv` at start (its venv backends); nox-cargo starts git alone.
    assert [name for name in started if Path(name).name != "uv"] == ["git"], done.stderr


def sessions(output: str) -> dict[str, str]:
    """Each session's part of a nox log."""
    parts: dict[str, str] = {}
    current = ""
    for line in output.splitlines():
        if line.startswith("nox > Running session "):
            current = line.removeprefix("nox > Running session ").strip()
        parts[current] = parts.get(current, "") + line + "\n"
    return parts


def test_a_comment_only_change_rebuilds_and_leaves_the_package_cached(tmp_path: Path) -> None:
    """Later stages are keyed on the staged bytes: a comment appended to weft-core (no line of
    code moves, the release binary comes out byte-identical) re-runs the build but not the
    package; a code change gives other bytes and re-runs both."""
    project = make_project(tmp_path / "project", CONFIG)
    env = {"SOURCE_DATE_EPOCH": EPOCH}
    build, package = f"build(target={TARGET})", f"package(target={TARGET})"
    staged = project / "dist" / TARGET / "weft"
    stats = project / "weft" / "crates" / "weft-core" / "src" / "stats.rs"

    def run() -> dict[str, str]:
        done = run_nox(project, "-s", package, env=env)
        assert done.returncode == 0, done.stdout[-4000:]
        return sessions(done.stdout)

    run()
    built = sha256_file(staged)
    stats.write_text(stats.read_text() + "// a comment; no line of code moves\n")
    log = run()
    assert "sources changed" in log[build] and not reused(log[build])
    assert sha256_file(staged) == built
    assert reused(log[package]), log[package]

    code = stats.read_text().replace(
        "pub fn normalize_word", "#[inline(never)]\npub fn normalize_word"
    )
    stats.write_text(code)
    log = run()
    assert sha256_file(staged) != built
    assert "upstream changed" in log[package] and not reused(log[package]), log[package]
