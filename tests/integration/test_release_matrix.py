"""The release matrix built here for real, with the project's compiler and nothing but what the
registries provide (rustup, PyPI, crates.io): plain `nox` with the Debian cross tools hidden,
the card's `build-5(target=…)`, provisioning off or offline, a workspace pinned by
rust-toolchain.toml, and C code compiled by cc-rs for both musl targets.

Every test provisions what it needs itself (`provision = "auto"`): the suite passes on a machine
with only rustup's stable and on one with many toolchains and targets. rustup's downloads land in
the shared ~/.rustup, the PyPI tools in nox-cargo's tool directory (the user cache dir).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from nox_cargo.build import toolchain as tc
from nox_cargo.build.headers import inspect
from nox_cargo.manifest import BuildManifest
from tests.conftest import REPO, require, require_tool
from tests.integration.conftest import make_project, run_nox
from tests.integration.hidden_tools import path_without

pytestmark = pytest.mark.integration

EPOCH = {"SOURCE_DATE_EPOCH": "1700000000"}
# rustup's dist server at a port nothing listens on: every download fails, as offline.
OFFLINE = {"RUSTUP_DIST_SERVER": "http://127.0.0.1:9"}
# The repository's own pipeline settings for weft, minus its extra (Debian) targets; bench
# measures the x86_64-musl build, the host target of the five defaults.
PIPELINE = """
[tool.nox-cargo.wasm]
package = "weft-wasm"
native-bin = "weft"
native-args = ["stats"]

[tool.nox-cargo.bench]
target = "x86_64-musl"
"""


def manifest(project: Path, target_id: str) -> BuildManifest:
    return BuildManifest.load(project / "dist", target_id)


@pytest.fixture(scope="module")
def plain_nox(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Plain `nox` on weft with no cross gcc, no MinGW, no wine on PATH."""
    root = tmp_path_factory.mktemp("matrix")
    project = make_project(root / "project", PIPELINE)
    shutil.copy(REPO / "Dockerfile", project / "Dockerfile")  # the docker stage's template
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    path = path_without(root / "bin")
    result = run_nox(project, env={"PATH": path, **EPOCH}, timeout=3000)
    return {"project": project, "returncode": result.returncode, "output": result.stdout}


def test_plain_nox_passes_with_the_cross_tools_hidden(plain_nox: dict[str, Any]) -> None:
    assert plain_nox["returncode"] == 0, plain_nox["output"][-6000:]
    out = plain_nox["output"]
    assert "aarch64-linux-gnu-gcc" not in out and "wine" not in out.lower()


@pytest.mark.parametrize(
    ("target_id", "arch"), [("x86_64-musl", "x86_64"), ("aarch64-musl", "aarch64")]
)
def test_musl_targets_are_static_elf(plain_nox: dict[str, Any], target_id: str, arch: str) -> None:
    assert plain_nox["returncode"] == 0, plain_nox["output"][-6000:]
    built = manifest(plain_nox["project"], target_id)
    info = inspect(plain_nox["project"] / "dist" / built.artifact("weft").path)
    assert (info.format, info.arch, info.static) == ("elf", arch, True)
    if arch == "aarch64":
        # no cross gcc here: the project's compiler links with its own rust-lld
        assert "rust-lld" in built.strategy_reason and "self-contained CRT" in built.strategy_reason


@pytest.mark.parametrize(
    ("target_id", "arch", "minimum"),
    [("x86_64-macos", "x86_64", "10.12"), ("aarch64-macos", "aarch64", "11.0")],
)
def test_macos_targets_are_mach_o_with_the_configured_minimum(
    plain_nox: dict[str, Any], target_id: str, arch: str, minimum: str
) -> None:
    assert plain_nox["returncode"] == 0, plain_nox["output"][-6000:]
    built = manifest(plain_nox["project"], target_id)
    artifact = built.artifact("weft")
    info = inspect(plain_nox["project"] / "dist" / artifact.path)
    assert (info.format, info.arch, info.min_os) == ("macho", arch, minimum)
    assert info.needed == ("/usr/lib/libSystem.B.dylib",)
    assert (artifact.arch, artifact.min_os) == (arch, minimum)
    assert built.strategy == "zig"
    assert artifact.smoke.startswith("not run: this linux")


def test_msvc_is_skipped_with_the_reason(plain_nox: dict[str, Any]) -> None:
    assert plain_nox["returncode"] == 0, plain_nox["output"][-6000:]
    out = plain_nox["output"]
    assert "build(target=x86_64-windows): skipped" in out
    assert "needs a Windows runner (windows-latest): the MSVC libraries cannot be fetched" in out
    assert not (plain_nox["project"] / "dist" / "x86_64-windows").exists()


def test_every_build_used_the_projects_compiler(plain_nox: dict[str, Any]) -> None:
    project = plain_nox["project"]
    lines = {
        manifest(project, t).toolchain
        for t in ("x86_64-musl", "aarch64-musl", "x86_64-macos", "aarch64-macos")
    }
    assert len(lines) == 1, lines


def test_the_cards_build_5_command_builds_aarch64_musl(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    listed = run_nox(project, "-l")
    lines = [line for line in listed.stdout.splitlines() if "build-5" in line]
    assert len(lines) == 1 and lines[0].startswith("- build-5 -> ")  # no five more lines
    result = run_nox(project, "-s", "build-5(target=aarch64-musl)", env=EPOCH)
    assert result.returncode == 0, result.stdout
    assert "Running session build(target=aarch64-musl)" in result.stdout
    binary = project / "dist" / manifest(project, "aarch64-musl").artifact("weft").path
    info = inspect(binary)
    assert (info.format, info.arch, info.static) == ("elf", "aarch64", True)
    require_tool("qemu-aarch64-static")
    ran = subprocess.run(
        ["qemu-aarch64-static", binary, "--version"], capture_output=True, text=True, check=True
    )
    assert ran.stdout.strip() == "weft 0.3.0"


CANDIDATES = (
    "riscv64gc-unknown-linux-musl",
    "powerpc64le-unknown-linux-musl",
    "i686-unknown-linux-musl",
    "armv7-unknown-linux-musleabihf",
    "loongarch64-unknown-linux-musl",
)


def missing_std() -> tuple[str, str]:
    """(rustup toolchain, a musl triple whose std it lacks): whatever this machine has added."""
    toolchains = tc.discover()
    default = tc.default_toolchain(toolchains)
    require(
        default is not None and default.rustup_name is not None,
        "the default toolchain must be rustup's",
    )
    assert default is not None and default.rustup_name is not None
    lacking = [t for t in CANDIDATES if not default.has_std(t)]
    require(bool(lacking), f"{default.rustup_name} has the std of every candidate triple")
    return default.rustup_name, lacking[0]


def test_provision_never_skips_with_the_command_and_fails_under_ci(tmp_path: Path) -> None:
    toolchain, triple = missing_std()
    config = f'[[tool.nox-cargo.targets]]\nid = "probe"\ntriple = "{triple}"\n'
    project = make_project(tmp_path / "p", config)
    local = run_nox(project, "-s", "build(target=probe)", "--", "--no-provision", env=OFFLINE)
    assert local.returncode == 0, local.stdout
    assert (
        "skipped" in local.stdout and 'provisioning is off (`provision = "never"`)' in local.stdout
    )
    assert f"`rustup target add --toolchain {toolchain} {triple}`" in local.stdout
    assert "$ rustup" not in local.stdout  # nothing was installed
    ci = run_nox(
        project,
        "-s",
        "build(target=probe)",
        "--",
        "-c",
        "provision=never",
        env={**OFFLINE, "CI": "true"},
    )
    assert ci.returncode != 0
    assert "not skipped: CI or --strict" in ci.stdout
    assert f"`rustup target add --toolchain {toolchain} {triple}`" in ci.stdout
    assert not (project / "dist" / "probe").exists()


def test_a_download_that_fails_skips_with_rustups_error(tmp_path: Path) -> None:
    toolchain, triple = missing_std()
    config = f'[[tool.nox-cargo.targets]]\nid = "probe"\ntriple = "{triple}"\n'
    project = make_project(tmp_path / "p", config)
    result = run_nox(project, "-s", "build(target=probe)", env=OFFLINE)
    assert result.returncode == 0, result.stdout
    assert f"$ rustup target add --toolchain {toolchain} {triple}" in result.stdout  # tried
    assert f"Cannot provision the {triple} std" in result.stdout
    assert "skipped" in result.stdout


# A RUSTC_WRAPPER logging the release of the rustc cargo runs, then running it. Python, not sh:
# dash drops environment variables whose names have a `-` (CARGO_BIN_EXE_weft-wasm).
WRAPPER = """#!{python}
import os, subprocess, sys
rustc = next((a for a in sys.argv[1:] if os.path.basename(a) == "rustc"), None)
if rustc is not None:
    info = subprocess.run([rustc, "-vV"], capture_output=True, text=True).stdout
    with open({log!r}, "a") as log:
        log.writelines(line + "\\n" for line in info.splitlines() if line.startswith("release:"))
os.execvp(sys.argv[1], sys.argv[1:])
"""


def test_a_pinned_toolchain_builds_lints_and_tests_with_that_toolchain_only(
    tmp_path: Path,
) -> None:
    project = make_project(tmp_path / "p")
    (project / "weft" / "rust-toolchain.toml").write_text(
        '[toolchain]\nchannel = "1.63"\ncomponents = ["clippy"]\n'
    )
    log = tmp_path / "rustc-releases.log"
    wrapper = tmp_path / "rustc-wrapper"
    wrapper.write_text(WRAPPER.format(python=sys.executable, log=str(log)))
    wrapper.chmod(0o755)
    sessions = (
        "lint(step=check)",
        "lint(step=clippy)",
        "test(toolchain=stable)",
        "build(target=x86_64-musl)",
    )
    result = run_nox(
        project, "-s", *sessions, env={**EPOCH, "RUSTC_WRAPPER": str(wrapper)}, timeout=1800
    )
    assert result.returncode == 0, result.stdout[-6000:]
    releases = log.read_text().split("\n")
    releases = [line for line in releases if line]
    assert len(releases) > 5  # every crate of every command went through the wrapper
    assert set(releases) == {"release: 1.63.0"}, set(releases)
    assert manifest(project, "x86_64-musl").toolchain.startswith("rustc 1.63.0")
    assert "rust-toolchain.toml: 1.63" in result.stdout


CDEMO_MANIFEST = """[package]
name = "cdemo"
version = "0.1.0"
edition = "2021"

[build-dependencies]
cc = "1"
"""
CDEMO_BUILD = 'fn main() {\n    cc::Build::new().file("src/answer.c").compile("answer");\n}\n'
CDEMO_C = "int answer(void) { return 42; }\n"
CDEMO_MAIN = """extern "C" {
    fn answer() -> i32;
}

fn main() {
    if std::env::args().any(|a| a == "--version") {
        println!("cdemo 0.1.0");
        return;
    }
    println!("{}", unsafe { answer() });
}
"""


def test_c_code_built_by_cc_rs_builds_for_both_musl_targets(tmp_path: Path) -> None:
    root = tmp_path / "p"
    crate = root / "cdemo"
    (crate / "src").mkdir(parents=True)
    (crate / "Cargo.toml").write_text(CDEMO_MANIFEST)
    (crate / "build.rs").write_text(CDEMO_BUILD)
    (crate / "src" / "answer.c").write_text(CDEMO_C)
    (crate / "src" / "main.rs").write_text(CDEMO_MAIN)
    subprocess.run(["cargo", "generate-lockfile"], cwd=crate, check=True, capture_output=True)
    (root / "noxfile.py").write_text("import nox_cargo\n\nnox_cargo.register()\n")
    (root / "pyproject.toml").write_text('[tool.nox-cargo]\nworkspace = "cdemo"\n')
    path = path_without(tmp_path / "bin")
    sessions = ("build(target=x86_64-musl)", "build(target=aarch64-musl)")
    result = run_nox(root, "-s", *sessions, env={"PATH": path, **EPOCH}, timeout=1800)
    assert result.returncode == 0, result.stdout[-6000:]
    assert "cdemo (cc) compile C for the target" in result.stdout  # said up front, not by cc-rs
    for target_id, arch in (("x86_64-musl", "x86_64"), ("aarch64-musl", "aarch64")):
        built = manifest(root, target_id)
        assert "C code" in built.strategy_reason, built.strategy_reason
        binary = root / "dist" / built.artifact("cdemo").path
        info = inspect(binary)
        assert (info.format, info.arch, info.static) == ("elf", arch, True)
    x86 = root / "dist" / "x86_64-musl" / "cdemo"
    assert subprocess.run([x86], capture_output=True, text=True, check=True).stdout == "42\n"
    if shutil.which("qemu-aarch64-static"):
        arm = root / "dist" / "aarch64-musl" / "cdemo"
        ran = subprocess.run(
            ["qemu-aarch64-static", arm], capture_output=True, text=True, check=True
        )
        assert ran.stdout == "42\n"
