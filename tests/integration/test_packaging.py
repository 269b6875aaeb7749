"""`package`, `checksums` and `verify` on a real build of examples/weft: external tools accept the
output, packaging is byte-reproducible across umask/TZ/mtimes, and SIGKILL never leaves a partial
file under a final name."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest

from nox_cargo.manifest import sha256_file
from nox_cargo.packaging import checksums
from tests.conftest import require_tool
from tests.integration.conftest import nox_env, run_nox
from tests.integration.release_project import EPOCH, TARGET, build_project, clone, env_for

pytestmark = pytest.mark.integration

FORMATS = ("zip", "tar.gz", "tar.xz")
PACKAGE = f"""
import sys
from pathlib import Path
from nox_cargo.packaging.release import package_target
from nox_cargo.project import Project
package_target(Project.load(Path(sys.argv[1])), {TARGET!r})
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("packaging")
    target_dir = base / "target"
    return build_project(base / "built", target_dir), target_dir


def package_in_subprocess(
    project: Path, target_dir: Path, fmt: str, umask: int = 0o022, tz: str = "UTC"
) -> subprocess.Popen[bytes]:
    """The packaging alone (no build), in its own process, under `umask` and `TZ`."""
    env = nox_env({**env_for(target_dir), "NOX_CARGO_PACKAGE_FORMAT": fmt, "TZ": tz})
    return subprocess.Popen(
        [sys.executable, "-c", PACKAGE, str(project)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: os.umask(umask),  # noqa: PLW1509 - the umask is the point
    )


def tool(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)


def finish(proc: subprocess.Popen[bytes]) -> None:
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()[-3000:]


def test_package_checksums_verify_pass_sha256sum_unzip_and_tar(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    require_tool("sha256sum", "unzip", "tar")
    project, target_dir = built
    project = clone(project, tmp_path / "p")
    for fmt in FORMATS:
        env = {**env_for(target_dir), "NOX_CARGO_PACKAGE_FORMAT": fmt}
        done = run_nox(project, "-s", f"package(target={TARGET})", env=env)
        assert done.returncode == 0, done.stdout[-4000:]
    done = run_nox(project, "-s", "checksums", "verify", env=env_for(target_dir))
    assert done.returncode == 0, done.stdout[-4000:]
    assert "not compared" not in done.stdout  # the manifest keeps every format's archive
    dist = project / "dist"
    names = sorted(p.name for p in checksums.archives_in(dist))
    assert names == sorted(f"weft-0.3.0-{TARGET}.{fmt}" for fmt in FORMATS)
    sums = tool(["sha256sum", "-c", "--strict", "SHA256SUMS"], dist)
    assert sums.returncode == 0, sums.stdout + sums.stderr
    assert sums.stdout.count(": OK") == 4  # three archives and the binary's SBOM
    for name in names:
        side = tool(["sha256sum", "-c", "--strict", f"{name}.sha256"], dist)
        assert side.returncode == 0, side.stderr
    unzip = tool(["unzip", "-t", f"weft-0.3.0-{TARGET}.zip"], dist)
    assert unzip.returncode == 0, unzip.stdout
    for fmt, flag in (("tar.gz", "-tzvf"), ("tar.xz", "-tJvf")):
        listing = tool(["tar", flag, f"weft-0.3.0-{TARGET}.{fmt}"], dist)
        assert listing.returncode == 0, listing.stderr
        lines = listing.stdout.splitlines()
        assert [line.split()[-1] for line in lines] == [
            "CHANGELOG.md",
            "LICENSE",
            "README.md",
            "weft",
        ]
        assert all(" 0/0 " in line or "root/root" not in line for line in lines)
        assert lines[-1].startswith("-rwxr-xr-x")
    # The archived binary is the build's bytes.
    build = json.loads((dist / TARGET / "build-manifest.json").read_text())
    with zipfile.ZipFile(dist / f"weft-0.3.0-{TARGET}.zip") as zf:
        assert hashlib.sha256(zf.read("weft")).hexdigest() == build["artifacts"][0]["sha256"]
    package = json.loads((dist / TARGET / "package-manifest.json").read_text())
    assert package["kind"] == "package"
    assert package["rustc"] == build["toolchain"]
    assert package["python"] and package["zlib"]


@pytest.mark.parametrize(
    ("victim", "needle"),
    [
        (f"weft-0.3.0-{TARGET}.zip", f"weft-0.3.0-{TARGET}.zip changed"),
        (f"weft-0.3.0-{TARGET}.zip.sha256", f"weft-0.3.0-{TARGET}.zip.sha256"),
        ("SHA256SUMS", "SHA256SUMS"),
    ],
)
def test_one_tampered_byte_fails_verify_naming_the_file(
    built: tuple[Path, Path], tmp_path: Path, victim: str, needle: str
) -> None:
    project, target_dir = built
    project = clone(project, tmp_path / "p")
    done = run_nox(project, "-s", f"package(target={TARGET})", "verify", env=env_for(target_dir))
    assert done.returncode == 0, done.stdout[-4000:]
    path = project / "dist" / victim
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x01
    path.write_bytes(bytes(data))
    done = run_nox(project, "-s", "verify", env=env_for(target_dir))
    assert done.returncode != 0
    assert needle in done.stdout, done.stdout[-3000:]


def test_packaging_is_byte_identical_across_umask_tz_and_input_mtimes(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    project, target_dir = built
    one = clone(project, tmp_path / "one")
    two = clone(project, tmp_path / "two")
    for i, path in enumerate([*sorted((two / "weft").glob("*.md")), two / "weft" / "LICENSE"]):
        os.utime(path, (1_000_000_000 + i * 7777, 1_000_000_000 + i * 7777))
    os.utime(two / "dist" / TARGET / "weft", (1_200_000_000, 1_200_000_000))
    for fmt in FORMATS:
        finish(package_in_subprocess(one, target_dir, fmt, umask=0o022, tz="UTC"))
        finish(package_in_subprocess(two, target_dir, fmt, umask=0o077, tz="Pacific/Kiritimati"))
    produced = sorted(
        p.name for p in (one / "dist").iterdir() if p.is_file() and not p.name.startswith(".")
    )
    assert len(produced) == 9  # three archives, the SBOM, four sidecars, SHA256SUMS
    for name in produced:
        assert (one / "dist" / name).read_bytes() == (two / "dist" / name).read_bytes(), name
    assert (one / "dist" / TARGET / "package-manifest.json").read_bytes() == (
        two / "dist" / TARGET / "package-manifest.json"
    ).read_bytes()
    with zipfile.ZipFile(one / "dist" / f"weft-0.3.0-{TARGET}.zip") as zf:
        assert {i.date_time for i in zf.infolist()} == {time.gmtime(int(EPOCH))[:6]}


def check_final_files(dist: Path) -> None:
    """Every file under a final name is whole: archives open, checksums parse and agree."""
    for path in sorted(dist.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        if path.name.endswith(".zip"):
            with zipfile.ZipFile(path) as zf:
                assert zf.testzip() is None, path
        elif path.name.endswith((".tar.gz", ".tar.xz")):
            with tarfile.open(path, "r:*") as tar:
                for member in tar.getmembers():
                    fh = tar.extractfile(member)
                    assert fh is not None and len(fh.read()) == member.size, path
        elif path.name.endswith(checksums.SBOM_SUFFIX):
            assert json.loads(path.read_text())["bomFormat"] == "CycloneDX", path
        elif path.name.endswith(checksums.SIDECAR_SUFFIX) or path.name == checksums.SUMS_NAME:
            for name, digest in checksums.read(path).items():
                target = dist / name
                if target.exists():
                    assert sha256_file(target) == digest, f"{path.name} disagrees with {name}"
                else:
                    assert path.name == checksums.SUMS_NAME, f"{path.name} without {name}"
        else:
            raise AssertionError(f"unexpected file {path}")
    manifest = dist / TARGET / "package-manifest.json"
    if manifest.exists():
        json.loads(manifest.read_text())


def test_sigkill_at_random_moments_never_leaves_a_partial_final_file(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    if sys.platform == "win32":
        pytest.skip("SIGKILL is POSIX")
    project, target_dir = built
    project = clone(project, tmp_path / "p")
    dist = project / "dist"
    started = time.monotonic()
    finish(package_in_subprocess(project, target_dir, "tar.xz"))
    full = time.monotonic() - started
    for path in dist.iterdir():  # start from nothing packaged
        if path.is_file() and not path.name.startswith("."):
            path.unlink()
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    killed = 0
    for attempt in range(24):
        fmt = FORMATS[attempt % 3]
        proc = package_in_subprocess(project, target_dir, fmt)
        time.sleep(rng.uniform(0, full * 1.2))
        if proc.poll() is None:
            killed += 1
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        check_final_files(dist)
    assert killed >= 5, f"only {killed} of 24 runs were killed mid-way (seed {seed})"
    for fmt in FORMATS:
        finish(package_in_subprocess(project, target_dir, fmt))
    check_final_files(dist)
    done = run_nox(project, "-s", "verify", env=env_for(target_dir))
    assert done.returncode == 0, done.stdout[-4000:]
    assert not list(dist.glob(".*.tmp")), "a finished run leaves no temp files behind"
