"""Issue 14's input classes through real nox on a real weft build: each ends in one paragraph with
the fix and a non-zero exit, never a Python traceback, and nothing is half-written."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.integration.conftest import run_nox
from tests.integration.release_project import TARGET, build_project, clone, env_for

pytestmark = pytest.mark.integration

PACKAGE = f"package(target={TARGET})"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("bad-input")
    target_dir = base / "target"
    return build_project(base / "built", target_dir), target_dir


def assert_one_paragraph(output: str, *needles: str) -> None:
    assert "Traceback" not in output, output[-4000:]
    assert "error" in output and "Fix:" in output, output[-4000:]
    for needle in needles:
        assert needle in output, (needle, output[-4000:])


def nox_session(session: str, *args: str) -> list[str]:
    """`-s SESSION` with the session's own posargs; `--no-install`-free: sessions have no venv."""
    return ["-s", session, *(["--", *args] if args else [])]


def test_a_symlink_to_a_host_file_never_reaches_the_archive(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    project, target_dir = built
    project = clone(project, tmp_path / "p")
    host_file = tmp_path / "hostname"
    host_file.write_text("host-secret\n")
    notice = project / "weft" / "NOTICE"
    notice.symlink_to(host_file)
    env = {**env_for(target_dir), "NOX_CARGO_PACKAGE_FILES": "README.md,NOTICE"}
    done = run_nox(project, *nox_session(PACKAGE), env=env)
    assert done.returncode != 0
    assert_one_paragraph(done.stdout, "package.files", "outside the workspace")
    assert not list((project / "dist").glob("*.zip"))


def test_source_date_epoch_past_2107_is_a_paragraph(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    project, target_dir = built
    project = clone(project, tmp_path / "p")
    env = {**env_for(target_dir), "SOURCE_DATE_EPOCH": "5000000000"}
    done = run_nox(project, *nox_session(PACKAGE), env=env)
    assert done.returncode != 0
    assert_one_paragraph(done.stdout, "SOURCE_DATE_EPOCH=5000000000", "2107")
    assert not list((project / "dist").glob("*.zip"))


def test_dist_that_is_a_file_is_a_paragraph(built: tuple[Path, Path], tmp_path: Path) -> None:
    project, target_dir = built
    project = clone(project, tmp_path / "p")
    shutil.rmtree(project / "dist")
    (project / "dist").write_text("not a directory\n")
    done = run_nox(project, *nox_session("checksums"), env=env_for(target_dir))
    assert done.returncode != 0
    assert_one_paragraph(done.stdout, "is not a directory")


def test_dist_that_is_not_writable_is_a_paragraph(built: tuple[Path, Path], tmp_path: Path) -> None:
    project, target_dir = built
    project = clone(project, tmp_path / "p")
    dist = project / "dist"
    dist.chmod(0o555)
    try:
        if os.access(dist, os.W_OK):
            pytest.skip("this user (root) can write into a read-only directory")
        done = run_nox(project, *nox_session(PACKAGE), env=env_for(target_dir))
    finally:
        dist.chmod(0o755)
    assert done.returncode != 0
    assert_one_paragraph(done.stdout, "Cannot write into", "writable")


def test_a_non_utf8_name_in_dist_is_a_paragraph(built: tuple[Path, Path], tmp_path: Path) -> None:
    project, target_dir = built
    project = clone(project, tmp_path / "p")
    done = run_nox(project, *nox_session(PACKAGE), env=env_for(target_dir))
    assert done.returncode == 0, done.stdout[-4000:]
    bad_name = Path(os.fsdecode(os.fsencode(project / "dist") + b"/caf\xe9.zip"))
    bad_name.write_bytes(b"PK\x05\x06" + bytes(18))
    done = run_nox(project, *nox_session("checksums"), env=env_for(target_dir))
    assert done.returncode != 0
    assert_one_paragraph(done.stdout, "is not UTF-8", "rename it")


@pytest.mark.parametrize("how", ["env", "-c"])
def test_nan_in_numeric_config_is_a_paragraph(
    built: tuple[Path, Path], tmp_path: Path, how: str
) -> None:
    project, target_dir = built
    env = env_for(target_dir)
    if how == "env":
        done = run_nox(
            project, *nox_session("verify"), env={**env, "NOX_CARGO_BENCH_MAX_SECONDS": "nan"}
        )
    else:
        done = run_nox(project, *nox_session("verify", "-c", "bench.max-seconds=nan"), env=env)
    assert done.returncode != 0
    assert "Traceback" not in done.stdout
    assert "bench.max-seconds" in done.stdout and "finite" in done.stdout, done.stdout[-3000:]


def test_help_prints_once_and_a_bad_flag_points_at_it(built: tuple[Path, Path]) -> None:
    project, target_dir = built
    done = run_nox(project, *nox_session("verify", "--help"), env=env_for(target_dir))
    assert done.returncode == 0, done.stdout[-3000:]
    assert done.stdout.count("usage:") == 1, done.stdout
    done = run_nox(project, *nox_session("verify", "--bogus"), env=env_for(target_dir))
    assert done.returncode != 0
    assert "--usage" not in done.stdout
    assert 'nox -s "verify" -- --help' in done.stdout, done.stdout[-3000:]
