"""The strategies' plans (exact dry-run command lines) and rejections, on a synthetic machine."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from nox_cargo.build.strategies import (
    STRATEGIES,
    Machine,
    NotHere,
    Request,
    explain,
    first_plan,
    order_for,
    preference,
)
from nox_cargo.build.toolchain import Toolchain
from nox_cargo.config import Target
from nox_cargo.provision import needs as nd
from nox_cargo.workspace import Version

HOST = "x86_64-unknown-linux-gnu"
STATIC = ("-C", "target-feature=+crt-static")


def toolchain(
    version: str, source: str, targets: Iterable[str] = (HOST,), line: str | None = None
) -> Toolchain:
    rustup_name = f"{version}-{HOST}" if source == "rustup" else None
    root = Path(f"/opt/rust-{version}") if source == "rustup" else Path("/usr")
    return Toolchain(
        name=f"{source}:{version}",
        source=source,
        rustc=root / "bin" / "rustc",
        cargo=root / "bin" / "cargo",
        version=Version.parse(version),
        version_line=line or f"rustc {version}",
        host=HOST,
        sysroot=root,
        targets=frozenset(targets),
        rustup_name=rustup_name,
    )


STABLE = toolchain("1.95.0", "rustup")
DEBIAN = toolchain("1.63.0", "system", (HOST, "aarch64-unknown-linux-gnu", "x86_64-pc-windows-gnu"))


LINKERS = ("aarch64-linux-gnu-gcc", "x86_64-w64-mingw32-gcc")


def machine(
    tools: Iterable[str] = ("rustup", *LINKERS),
    toolchains: Iterable[Toolchain] = (STABLE, DEBIAN),
    zig: bool = False,
    engine: str | None = None,
) -> Machine:
    found = set(tools)
    chains = tuple(toolchains)
    return Machine(
        host=HOST,
        toolchains=chains,
        default=chains[0] if chains else None,
        which=lambda name: f"/usr/bin/{name}" if name in found else None,
        has_ziglang=zig,
        container_engine=lambda: engine,
    )


def request(
    triple: str,
    static: bool = True,
    compiler: Toolchain | None = None,
    c_code: tuple[str, ...] = (),
    **target: Any,
) -> Request:
    """A request; `compiler` pins the project's compiler (default: the machine's default)."""
    t = Target(id="t", triple=triple, runner="macos-15" if "apple" in triple else "ubuntu-latest")
    t = dataclasses.replace(t, **target)
    return Request(
        target=t,
        binaries=("weft",),
        profile="release",
        features=(),
        rustflags=STATIC if static else (),
        locked=("--locked",),
        rust_version=Version(1, 63),
        toolchain=compiler,
        toolchain_origin="config `toolchain`" if compiler else "the default toolchain",
        c_code=c_code,
    )


def test_native_uses_the_default_toolchain_that_has_the_std() -> None:
    plan = STRATEGIES["native"].plan(request(HOST), machine())
    assert plan.argv == (
        "cargo", "+1.95.0-x86_64-unknown-linux-gnu", "build", "--release",
        "--target", HOST, "--bin", "weft", "--locked",
    )  # fmt: skip
    assert dict(plan.env) == {"RUSTFLAGS": "-C target-feature=+crt-static"}
    assert plan.linker is None and plan.needs == ()
    assert "has the std for x86_64-unknown-linux-gnu" in plan.reason
    assert "the project's compiler rustc 1.95.0" in plan.reason


def test_native_uses_the_projects_compiler_never_another_that_has_the_std() -> None:
    # Debian's rustc has the aarch64-gnu std, the project's compiler (the default) has not.
    with pytest.raises(NotHere) as info:
        STRATEGIES["native"].plan(request("aarch64-unknown-linux-gnu"), machine())
    assert "has no std for aarch64-unknown-linux-gnu" in info.value.missing


def test_native_runs_debians_cargo_with_debians_rustc_and_the_cross_linker() -> None:
    req = request("aarch64-unknown-linux-gnu", compiler=DEBIAN)  # the config names it
    plan = STRATEGIES["native"].plan(req, machine())
    assert plan.argv == (
        "/usr/bin/cargo", "build", "--release", "--target", "aarch64-unknown-linux-gnu",
        "--bin", "weft", "--locked",
    )  # fmt: skip
    env = {k: v for k, v in plan.env.items() if k != "RUSTDOC"}  # set when rustdoc exists
    assert env == {
        "RUSTC": "/usr/bin/rustc",
        "RUSTFLAGS": "-C target-feature=+crt-static",
        "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER": "aarch64-linux-gnu-gcc",
    }
    assert plan.linker is not None and plan.linker.package == "gcc-aarch64-linux-gnu"
    assert plan.toolchain is DEBIAN


def test_native_profile_features_and_several_binaries() -> None:
    req = request(HOST, static=False)
    req = Request(
        req.target, ("weft", "weft-wasm"), "dist", ("fast", "simd"), (), (), req.rust_version
    )
    plan = STRATEGIES["native"].plan(req, machine())
    assert plan.argv[2:] == (
        "build", "--profile", "dist", "--target", HOST, "--bin", "weft", "--bin", "weft-wasm",
        "--features", "fast,simd",
    )  # fmt: skip
    assert "RUSTFLAGS" not in plan.env


def test_native_refuses_a_toolchain_older_than_the_rust_version() -> None:
    old = toolchain("1.60.0", "system", (HOST, "aarch64-unknown-linux-gnu"))
    with pytest.raises(NotHere) as info:
        STRATEGIES["native"].plan(request("aarch64-unknown-linux-gnu"), machine(toolchains=[old]))
    assert "older than the workspace's rust-version 1.63.0" in info.value.missing
    assert "rustc 1.60.0" in info.value.missing


def test_native_without_the_std_names_it_and_the_fix() -> None:
    with pytest.raises(NotHere) as info:
        STRATEGIES["native"].plan(request("aarch64-unknown-linux-musl"), machine())
    assert info.value.missing == (
        "the project's compiler rustc 1.95.0 (rustup:1.95.0) has no std for "
        "aarch64-unknown-linux-musl"
    )
    assert info.value.fix == (
        "`rustup target add --toolchain 1.95.0-x86_64-unknown-linux-gnu aarch64-unknown-linux-musl`"
    )


def test_rustup_adds_the_target_first() -> None:
    plan = STRATEGIES["rustup"].plan(request("aarch64-unknown-linux-musl"), machine())
    assert plan.needs == (
        nd.Need(
            "rustup-target", "aarch64-unknown-linux-musl",
            toolchain="1.95.0-x86_64-unknown-linux-gnu",
        ),
    )  # fmt: skip
    assert plan.argv == (
        "cargo", "+1.95.0-x86_64-unknown-linux-gnu", "build", "--release",
        "--target", "aarch64-unknown-linux-musl", "--bin", "weft", "--locked",
    )  # fmt: skip
    assert plan.env["CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER"] == "aarch64-linux-gnu-gcc"


def test_foreign_musl_without_a_cross_gcc_links_with_the_toolchains_rust_lld(
    tmp_path: Path,
) -> None:
    lld = tmp_path / "lib" / "rustlib" / HOST / "bin" / "rust-lld"
    lld.parent.mkdir(parents=True)
    lld.touch()
    own = dataclasses.replace(STABLE, sysroot=tmp_path)
    req = request("aarch64-unknown-linux-musl", compiler=own)
    plan = STRATEGIES["rustup"].plan(req, machine(tools=(), toolchains=[own]))
    assert plan.linker is not None and plan.linker.self_contained
    assert plan.env["CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER"] == str(lld)
    assert "rust-lld" in plan.reason and "self-contained CRT" in plan.reason
    # Without rust-lld anywhere (and no cross gcc) the strategy names the cross gcc's package.
    with pytest.raises(NotHere) as info:
        STRATEGIES["rustup"].plan(request("aarch64-unknown-linux-musl"), machine(tools=()))
    assert info.value.fix == "`apt-get install gcc-aarch64-linux-gnu`"


def test_c_code_for_musl_needs_a_c_compiler_up_front() -> None:
    req = request("aarch64-unknown-linux-musl", c_code=("ring (cc)",))
    with pytest.raises(NotHere) as info:
        STRATEGIES["rustup"].plan(req, machine(tools=("rust-lld",)))
    assert info.value.missing == (
        "ring (cc) compile C for the target, and no C compiler for aarch64-unknown-linux-musl "
        "is installed"
    )
    assert "zig" in info.value.fix and "`c-compiler`" in info.value.fix
    configured = request(
        "aarch64-unknown-linux-musl", c_code=("ring (cc)",), c_compiler="aarch64-linux-musl-gcc"
    )
    plan = STRATEGIES["rustup"].plan(configured, machine(tools=("rust-lld",)))
    assert plan.env["CC_aarch64_unknown_linux_musl"] == "aarch64-linux-musl-gcc"
    zig = STRATEGIES["zig"].plan(req, machine(tools=()))
    assert "zig compiles the C code of ring (cc)" in zig.reason


def test_an_inferred_linker_that_is_missing_rejects_the_strategy() -> None:
    with pytest.raises(NotHere) as info:
        STRATEGIES["native"].plan(
            request("aarch64-unknown-linux-gnu", compiler=DEBIAN), machine(tools=())
        )
    assert info.value.missing == (
        "the linker aarch64-linux-gnu-gcc for aarch64-unknown-linux-gnu is not installed"
    )
    assert info.value.fix == "`apt-get install gcc-aarch64-linux-gnu`"


def test_rustup_host_musl_needs_no_linker() -> None:
    plan = STRATEGIES["rustup"].plan(request("x86_64-unknown-linux-musl"), machine())
    assert plan.linker is None
    assert set(plan.env) == {"RUSTFLAGS"}


def test_rustup_needs_a_rustup_compiler_at_the_rust_version() -> None:
    musl = "aarch64-unknown-linux-musl"
    with pytest.raises(NotHere, match="is not a rustup toolchain"):
        STRATEGIES["rustup"].plan(request(musl), machine(toolchains=[DEBIAN]))
    old = toolchain("1.60.0", "rustup")
    with pytest.raises(NotHere, match="older than the workspace's rust-version"):
        STRATEGIES["rustup"].plan(request(musl), machine(toolchains=[old]))


def test_zig_builds_with_cargo_zigbuild() -> None:
    m = machine(tools=("rustup", "cargo-zigbuild"), zig=True)
    plan = STRATEGIES["zig"].plan(request("aarch64-unknown-linux-musl"), m)
    assert plan.argv == (
        "cargo", "+1.95.0-x86_64-unknown-linux-gnu", "zigbuild", "--release",
        "--target", "aarch64-unknown-linux-musl", "--bin", "weft", "--locked",
    )  # fmt: skip
    # the std comes from rustup, zig and cargo-zigbuild from PyPI (present or not)
    assert [n.kind for n in plan.needs] == ["rustup-target", "pypi", "pypi"]
    assert not any(k.endswith("_LINKER") for k in plan.env)  # zig is the linker
    req = request("aarch64-unknown-linux-gnu", compiler=DEBIAN)
    debian = STRATEGIES["zig"].plan(req, m)
    assert debian.argv[:2] == ("/usr/bin/cargo", "zigbuild")
    assert debian.needs == (nd.CARGO_ZIGBUILD, nd.ZIGLANG)


@pytest.mark.parametrize(
    ("triple", "configured", "expected"),
    [
        ("aarch64-apple-darwin", "", "11.0"),
        ("x86_64-apple-darwin", "", "10.12"),
        ("x86_64-apple-darwin", "10.15", "10.15"),
        ("universal2-apple-darwin", "", "11.0"),
    ],
)
def test_zig_builds_macos_for_the_configured_minimum(
    triple: str, configured: str, expected: str
) -> None:
    m = machine(tools=("rustup", "cargo-zigbuild"), zig=True)
    req = request(triple, static=False, macos_deployment_target=configured)
    plan = STRATEGIES["zig"].plan(req, m)
    assert "zigbuild" in plan.argv
    assert plan.env["MACOSX_DEPLOYMENT_TARGET"] == expected
    std = {n.name for n in plan.needs if n.kind == "rustup-target"}
    if triple.startswith("universal2"):
        assert std == {"x86_64-apple-darwin", "aarch64-apple-darwin"}


def test_zig_not_installed_is_provisioned_from_pypi() -> None:
    plan = STRATEGIES["zig"].plan(request("aarch64-unknown-linux-musl"), machine())
    assert nd.CARGO_ZIGBUILD in plan.needs and nd.ZIGLANG in plan.needs
    with pytest.raises(NotHere, match="Linux and macOS"):
        STRATEGIES["zig"].plan(request("x86_64-pc-windows-msvc"), machine(zig=True))


def test_cross_builds_in_a_container() -> None:
    m = machine(tools=("cross",), engine="podman")
    plan = STRATEGIES["cross"].plan(request("aarch64-unknown-linux-musl"), m)
    assert plan.argv == (
        "cross", "build", "--release", "--target", "aarch64-unknown-linux-musl",
        "--bin", "weft", "--locked",
    )  # fmt: skip
    assert dict(plan.env) == {
        "RUSTFLAGS": "-C target-feature=+crt-static",
        "CROSS_CONTAINER_ENGINE": "podman",
    }


def test_cross_missing_or_without_an_engine() -> None:
    with pytest.raises(NotHere) as info:
        STRATEGIES["cross"].plan(request("aarch64-unknown-linux-musl"), machine())
    assert info.value.fix == "`cargo install cross --locked`"
    with pytest.raises(NotHere, match="Docker nor Podman"):
        STRATEGIES["cross"].plan(request("aarch64-unknown-linux-musl"), machine(tools=("cross",)))


@pytest.mark.parametrize("name", ["native", "rustup", "cross"])
def test_macos_on_linux_needs_a_macos_runner(name: str) -> None:
    with pytest.raises(NotHere) as info:
        STRATEGIES[name].plan(request("aarch64-apple-darwin"), machine(tools=("rustup", "cross")))
    assert info.value.missing == "needs a macOS runner (macos-15) or zig"


def test_msvc_on_linux_is_an_honest_skip_naming_the_runner() -> None:
    req = request("x86_64-pc-windows-msvc", runner="windows-latest")
    plan, rejections = first_plan(req, machine(zig=True), ("native", "rustup", "zig", "cross"))
    assert plan is None
    message, fix = explain(req.target, rejections)
    assert "needs a Windows runner (windows-latest)" in message
    assert "cannot be fetched" in message
    assert "windows-latest" in fix


def test_nothing_available_explains_every_strategy() -> None:
    # The project's compiler is Debian's rustc: no musl std, and rustup cannot add one.
    req = request("aarch64-unknown-linux-musl", compiler=DEBIAN)
    m = machine(tools=(), toolchains=[DEBIAN])
    plan, rejections = first_plan(req, m, ("native", "rustup", "zig", "cross"))
    assert plan is None
    assert [r.strategy for r in rejections] == ["native", "rustup", "zig", "cross"]
    message, fix = explain(req.target, rejections)
    assert message.startswith(
        "Cannot build t (aarch64-unknown-linux-musl) here: the project's compiler rustc 1.63.0 "
        "(system:1.63.0) has no std for aarch64-unknown-linux-musl."
    )
    assert "rustup: the project's compiler rustc 1.63.0 (system:1.63.0) is not a rustup" in message
    assert fix.startswith("install the std for aarch64-unknown-linux-musl into system:1.63.0")
    assert fix.endswith("or `cargo install cross --locked`")


def test_first_plan_follows_the_order_and_a_forced_strategy() -> None:
    m = machine(tools=("rustup", "cross", "rust-lld"), engine="docker")
    req = request("aarch64-unknown-linux-musl")
    plan, rejections = first_plan(req, m, ("native", "cross", "rustup"))
    assert plan is not None and plan.strategy == "cross"
    assert [r.strategy for r in rejections] == ["native"]
    forced = request("aarch64-unknown-linux-musl", strategy="rustup")
    assert order_for(forced.target, ("native", "zig")) == ("rustup",)
    plan, _ = first_plan(forced, m, order_for(forced.target, ("native",)))
    assert plan is not None and plan.strategy == "rustup"


def test_preference_default_then_releases_then_nightly() -> None:
    nightly = toolchain("1.97.0", "rustup", line="rustc 1.97.0-nightly (abc 2026-05-19)")
    older = toolchain("1.80.0", "rustup")
    ordered = preference([nightly, older, DEBIAN, STABLE], STABLE)
    assert ordered == [STABLE, older, DEBIAN, nightly]
