"""build(target=…) for real on a copy of examples/weft with Debian's rustc 1.63 named as the
project's compiler (`toolchain = "/usr/bin/rustc"`): static glibc x86_64, aarch64 under qemu, a
MinGW .exe under wine; aarch64-musl, which that compiler cannot build, skipped here and failing
in CI; the dry-run plan; cargo errors; and the header reader checked against binutils. (The
default toolchain's release matrix is tests/integration/test_release_matrix.py.)"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from nox_cargo.build.headers import inspect
from nox_cargo.fsutil import locked
from nox_cargo.manifest import BuildManifest, sha256_file
from tests.conftest import require, require_tool
from tests.integration.conftest import GNU_TARGETS, make_project, run_nox

pytestmark = pytest.mark.integration

TARGETS = f"""toolchain = "/usr/bin/rustc"

{GNU_TARGETS}
[[tool.nox-cargo.targets]]
id = "x86_64-windows-gnu"
triple = "x86_64-pc-windows-gnu"
linker = "x86_64-w64-mingw32-gcc"
static = true
"""
BUILT = ("x86_64-gnu", "aarch64-gnu", "x86_64-windows-gnu")
# The machine this suite runs on cannot download a rust-std; make sure of it, so that the rustup
# strategy fails as it would offline (for real: rustup runs and cannot connect) and no test ever
# installs a std into the shared ~/.rustup.
OFFLINE = {"RUSTUP_DIST_SERVER": "http://127.0.0.1:9"}


def debian_std(triple: str) -> bool:
    sysroot = Path("/usr/lib/rustlib") / triple / "lib"
    return Path("/usr/bin/rustc").exists() and sysroot.is_dir()


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One nox run building the three targets, shared by every xdist worker through a lock."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    shared = shared / "build-stage"
    with locked(shared.parent, ".build-stage.lock"):
        record = shared / "result.json"
        if not record.is_file():
            project = make_project(shared / "project", TARGETS)
            git_commit(project)
            sessions = [f"build(target={t})" for t in BUILT]
            result = run_nox(project, "-s", *sessions, env=OFFLINE)
            record.write_text(
                json.dumps({"returncode": result.returncode, "output": result.stdout})
            )
        data: dict[str, Any] = json.loads(record.read_text())
    data["project"] = shared / "project"
    data["dist"] = shared / "project" / "dist"
    return data


def git_commit(project: Path) -> None:
    """Make the copy a git checkout: the manifest records its commit and SOURCE_DATE_EPOCH."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    for argv in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "weft"]):
        subprocess.run(argv, cwd=project, env=env, check=True, capture_output=True)


def manifest_of(built: dict[str, Any], target_id: str) -> BuildManifest:
    assert built["returncode"] == 0, built["output"]
    return BuildManifest.load(built["dist"], target_id)


def test_x86_64_gnu_is_a_static_elf_whose_sha256_is_the_manifests(built: dict[str, Any]) -> None:
    manifest = manifest_of(built, "x86_64-gnu")
    (artifact,) = manifest.artifacts
    path = built["dist"] / artifact.path
    assert sha256_file(path) == artifact.sha256
    assert path.stat().st_size == artifact.size
    assert manifest.verified_path(built["dist"], "weft") == path
    info = inspect(path)
    assert (info.format, info.arch, info.static) == ("elf", "x86_64", True)
    assert artifact.static and artifact.format == "elf"
    assert manifest.rustflags == ("-C", "target-feature=+crt-static")
    assert manifest.strategy == "native" and "has the std" in manifest.strategy_reason
    version = subprocess.run([path, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.strip() == "weft 0.3.0"
    assert "weft --version ran natively: weft 0.3.0" in built["output"]
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"],
        cwd=built["project"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert manifest.git_commit == head.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{40}", manifest.git_commit)
    assert manifest.source_date_epoch > 0 and manifest.duration_seconds > 0


def test_aarch64_gnu_builds_with_debians_rustc_and_runs_under_qemu(built: dict[str, Any]) -> None:
    require(debian_std("aarch64-unknown-linux-gnu"), "Debian's libstd-rust-dev:arm64")
    require_tool("aarch64-linux-gnu-gcc", "qemu-aarch64-static")
    manifest = manifest_of(built, "aarch64-gnu")
    assert manifest.toolchain.startswith("rustc 1.63")
    assert manifest.toolchain_path == "/usr/bin/rustc"
    path = built["dist"] / manifest.artifact("weft").path
    info = inspect(path)
    assert (info.format, info.arch, info.static) == ("elf", "aarch64", True)
    assert "RUSTC=/usr/bin/rustc" in built["output"]
    assert "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc" in built["output"]
    assert "weft --version ran under qemu-aarch64-static: weft 0.3.0" in built["output"]
    again = subprocess.run(
        ["qemu-aarch64-static", path, "count"],
        input="one two\nthree\n",
        capture_output=True,
        text=True,
        check=True,
    )
    assert again.stdout.split() == ["lines:", "2", "words:", "3", "bytes:", "14"]


def test_x86_64_windows_gnu_is_a_pe_that_runs_under_wine(built: dict[str, Any]) -> None:
    require(debian_std("x86_64-pc-windows-gnu"), "Debian's libstd-rust-dev-windows")
    require_tool("x86_64-w64-mingw32-gcc", "wine")
    manifest = manifest_of(built, "x86_64-windows-gnu")
    artifact = manifest.artifact("weft")
    assert artifact.path == "x86_64-windows-gnu/weft.exe"
    info = inspect(built["dist"] / artifact.path)
    assert (info.format, info.arch) == ("pe", "x86_64")
    assert "KERNEL32.dll" in info.needed
    assert info.static and artifact.static  # only DLLs that ship with Windows
    assert "weft.exe --version ran under wine" in built["output"]
    assert "weft 0.3.0" in built["output"]


def test_header_reader_agrees_with_binutils(built: dict[str, Any]) -> None:
    require_tool("readelf", "x86_64-w64-mingw32-objdump")
    ls = inspect(Path("/bin/ls"))
    dynamic = subprocess.run(
        ["readelf", "-dW", "/bin/ls"], capture_output=True, text=True, check=True
    ).stdout
    assert list(ls.needed) == re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", dynamic)
    assert ls.interpreter is not None and not ls.static
    for target_id in ("x86_64-gnu", "aarch64-gnu"):
        path = built["dist"] / manifest_of(built, target_id).artifact("weft").path
        headers = subprocess.run(
            ["readelf", "-lW", path], capture_output=True, text=True, check=True
        ).stdout
        assert "INTERP" not in headers
        assert (
            "(NEEDED)"
            not in subprocess.run(
                ["readelf", "-dW", path], capture_output=True, text=True, check=True
            ).stdout
        )
    exe = built["dist"] / manifest_of(built, "x86_64-windows-gnu").artifact("weft").path
    dump = subprocess.run(
        ["x86_64-w64-mingw32-objdump", "-p", exe], capture_output=True, text=True, check=True
    ).stdout
    assert list(inspect(exe).needed) == re.findall(r"DLL Name: (\S+)", dump)


def test_aarch64_musl_is_skipped_here_and_fails_under_ci(tmp_path: Path) -> None:
    require(Path("/usr/bin/rustc").exists(), "Debian's rustc 1.63 (apt-get install rustc cargo)")
    require(
        not debian_std("aarch64-unknown-linux-musl"),
        "this test needs Debian's rustc without the aarch64-unknown-linux-musl std",
    )
    project = make_project(tmp_path / "p", TARGETS)
    local = run_nox(project, "-s", "build(target=aarch64-musl)", env=OFFLINE)
    assert local.returncode == 0, local.stdout
    expected = "has no std for aarch64-unknown-linux-musl"
    assert "skipped" in local.stdout and expected in local.stdout
    assert "is not a rustup toolchain" in local.stdout  # no other toolchain is taken instead
    assert "install the std for aarch64-unknown-linux-musl into system:/usr/bin/rustc" in (
        local.stdout
    )
    ci = run_nox(project, "-s", "build(target=aarch64-musl)", env={**OFFLINE, "CI": "true"})
    assert ci.returncode != 0
    assert expected in ci.stdout
    assert "not skipped: CI or --strict" in ci.stdout
    assert not (project / "dist" / "aarch64-musl").exists()


def test_dry_run_prints_every_plan_and_builds_nothing(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", TARGETS)
    result = run_nox(project, "-s", "build", "--", "--dry-run", env=OFFLINE)
    assert result.returncode == 0, result.stdout
    out = result.stdout
    assert "needs a macOS runner (macos-15) or zig" in out
    assert "needs a Windows runner (windows-latest)" in out
    assert (
        "RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTFLAGS='-C target-feature=+crt-static' "
        "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc /usr/bin/cargo build "
        "--release --target aarch64-unknown-linux-gnu --bin weft --locked"
    ) in out
    assert "--target x86_64-pc-windows-gnu --bin weft --locked" in out
    assert not (project / "dist").exists()
    assert not (project / "weft" / "target" / "x86_64-unknown-linux-gnu").exists()


def test_unknown_target_id_lists_the_valid_ones(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", TARGETS)
    result = run_nox(
        project, "-s", "build(target=x86_64-musl)", "--", "-c", "build.default-targets=false"
    )
    assert result.returncode != 0
    assert "Unknown target id `x86_64-musl`" in result.stdout
    assert "x86_64-gnu, aarch64-gnu, x86_64-windows-gnu" in result.stdout


def test_a_failed_cargo_build_shows_cargos_error(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", TARGETS)
    main = project / "weft" / "crates" / "weft" / "src" / "main.rs"
    main.write_text(main.read_text() + '\nfn broken() -> u32 { "not a number" }\n')
    env = {**OFFLINE, "SOURCE_DATE_EPOCH": "1700000000"}
    result = run_nox(project, "-s", "build(target=x86_64-gnu)", "--", "--strict", env=env)
    assert result.returncode != 0
    assert "error[E0308]: mismatched types" in result.stdout
    assert "cargo +" in result.stdout or "cargo build" in result.stdout
    assert not (project / "dist" / "x86_64-gnu" / "build-manifest.json").exists()


def test_doctor_has_a_row_per_target(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", TARGETS)
    result = run_nox(project, "-s", "doctor", env={**OFFLINE, "COLUMNS": "300"})
    assert result.returncode == 0, result.stdout
    for target_id in ("x86_64-musl", "aarch64-macos", "x86_64-windows", *BUILT):
        assert f"{target_id} (" in result.stdout
    assert "needs a macOS runner (macos-15) or zig" in result.stdout
