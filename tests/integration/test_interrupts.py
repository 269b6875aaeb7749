"""`package` interrupted exactly at each of its writes (SIGINT and SIGKILL), on a real weft build:
the next `verify` passes or names the interrupted run and its command, and the next `package`
leaves a set that `verify`, `sha256sum -c` and `unzip -t` accept.

The boundaries come from the atomic writer's test hook (`_NOX_CARGO_TEST_SIGNAL_AFTER_WRITE=N:SIG`,
see nox_cargo/fsutil.py): the process signals itself right after its N-th change of dist/ lands.
Each run packages with a new SOURCE_DATE_EPOCH, so every archive differs from the one before and an
interruption really leaves old and new files side by side."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from nox_cargo.fsutil import TEST_SIGNAL_VAR
from tests.conftest import require_tool
from tests.integration.conftest import nox_env, run_nox
from tests.integration.release_project import EPOCH, TARGET, build_project, clone, env_for

pytestmark = pytest.mark.integration

PACKAGE = f"""
import sys
from pathlib import Path
from nox_cargo.packaging.release import package_target
from nox_cargo.project import Project
package_target(Project.load(Path(sys.argv[1])), {TARGET!r})
"""
COMMAND = f'nox -s "package(target={TARGET})"'


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("interrupts")
    target_dir = base / "target"
    return build_project(base / "built", target_dir), target_dir


def package(
    project: Path, target_dir: Path, epoch: int, fmt: str, hook: str = ""
) -> subprocess.CompletedProcess[str]:
    env = {
        **env_for(target_dir),
        "SOURCE_DATE_EPOCH": str(epoch),
        "NOX_CARGO_PACKAGE_FORMAT": fmt,
    }
    if hook:
        env[TEST_SIGNAL_VAR] = hook
    return subprocess.run(
        [sys.executable, "-c", PACKAGE, str(project)],
        env=nox_env(env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def tool(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)


def assert_release_set_verifies(project: Path, target_dir: Path) -> None:
    dist = project / "dist"
    done = run_nox(project, "-s", "verify", env=env_for(target_dir))
    assert done.returncode == 0, done.stdout[-4000:]
    sums = tool(["sha256sum", "-c", "--strict", "SHA256SUMS"], dist)
    assert sums.returncode == 0, sums.stdout + sums.stderr
    unzip = tool(["unzip", "-t", f"weft-0.3.0-{TARGET}.zip"], dist)
    assert unzip.returncode == 0, unzip.stdout
    assert not list(dist.glob(".package-in-progress-*")), "a finished run removes its marker"


@pytest.mark.parametrize("signame", ["SIGINT", "SIGKILL"])
def test_package_interrupted_at_every_write_boundary(
    built: tuple[Path, Path], tmp_path: Path, signame: str
) -> None:
    require_tool("sha256sum", "unzip")
    project, target_dir = built
    project = clone(project, tmp_path / "p")
    epoch = int(EPOCH)
    # Two formats in dist/, so the manifest also carries a kept record of the other archive.
    for fmt in ("tar.gz", "zip"):
        epoch += 86400
        done = package(project, target_dir, epoch, fmt)
        assert done.returncode == 0, done.stderr[-3000:]
    assert_release_set_verifies(project, target_dir)

    expected_code = -int(getattr(signal, signame))
    boundaries = 0
    named = 0
    for n in range(1, 30):
        epoch += 86400
        done = package(project, target_dir, epoch, "zip", hook=f"{n}:{signame}")
        if done.returncode == 0:
            break  # fewer than n changes: every boundary has been visited
        if signame == "SIGINT":  # Python turns it into KeyboardInterrupt: exit 1, no cleanup
            assert "KeyboardInterrupt" in done.stderr, done.stderr[-2000:]
        else:
            assert done.returncode == expected_code, (done.returncode, done.stderr[-2000:])
        boundaries += 1
        verified = run_nox(project, "-s", "verify", env=env_for(target_dir))
        if verified.returncode != 0:
            named += 1
            assert "was interrupted" in verified.stdout, verified.stdout[-4000:]
            assert COMMAND in verified.stdout, verified.stdout[-4000:]
            assert "Traceback" not in verified.stdout
        epoch += 86400
        repaired = package(project, target_dir, epoch, "zip")
        assert repaired.returncode == 0, repaired.stderr[-3000:]
        assert_release_set_verifies(project, target_dir)
    else:
        pytest.fail("package kept being interrupted: the hook's count never ran out")
    # marker, stale sidecar removed, archive, sidecar, manifest, SHA256SUMS, marker removed
    assert boundaries >= 6, boundaries
    assert named >= 2, f"only {named} of {boundaries} interruptions left dist/ inconsistent"
