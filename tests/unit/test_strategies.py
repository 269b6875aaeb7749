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


def request(triple: str, static: bool = True, **target: Any) -> Request:
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
    )


def test_native_uses_the_default_toolchain_that_has_the_std() -> None:
    plan = STRATEGIES["native"].plan(request(HOST), machine())
    assert plan.argv == (
        "cargo", "+1.95.0-x86_64-unknown-linux-gnu", "build", "--release",
        "--target", HOST, "--bin", "weft", "--locked",
    )  # fmt: skip
    assert dict(plan.env) == {"RUSTFLAGS": "-C target-feature=+crt-static"}
    assert plan.linker is None and plan.prepare == ()
    assert "has the std for x86_64-unknown-linux-gnu" in plan.reason


def test_native_runs_debians_cargo_with_debians_rustc_and_the_cross_linker() -> None:
    plan = STRATEGIES["native"].plan(request("aarch64-unknown-linux-gnu"), machine())
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
    assert info.value.missing == "no toolchain has the std for aarch64-unknown-linux-musl"
    assert info.value.fix == "`rustup target add aarch64-unknown-linux-musl`"


def test_rustup_adds_the_target_first() -> None:
    plan = STRATEGIES["rustup"].plan(request("aarch64-unknown-linux-musl"), machine())
    assert plan.prepare == (
        ("rustup", "target", "add", "--toolchain", "1.95.0-x86_64-unknown-linux-gnu",
         "aarch64-unknown-linux-musl"),
    )  # fmt: skip
    assert plan.argv == (
        "cargo", "+1.95.0-x86_64-unknown-linux-gnu", "build", "--release",
        "--target", "aarch64-unknown-linux-musl", "--bin", "weft", "--locked",
    )  # fmt: skip
    assert plan.env["CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER"] == "aarch64-linux-gnu-gcc"


def test_an_inferred_linker_that_is_missing_rejects_the_strategy() -> None:
    with pytest.raises(NotHere) as info:
        STRATEGIES["native"].plan(request("aarch64-unknown-linux-gnu"), machine(tools=()))
    assert info.value.missing == (
        "the linker aarch64-linux-gnu-gcc for aarch64-unknown-linux-gnu is not installed"
    )
    assert info.value.fix == "`apt-get install gcc-aarch64-linux-gnu`"


def test_rustup_host_musl_needs_no_linker() -> None:
    plan = STRATEGIES["rustup"].plan(request("x86_64-unknown-linux-musl"), machine())
    assert plan.linker is None
    assert set(plan.env) == {"RUSTFLAGS"}


def test_rustup_missing_or_without_a_recent_toolchain() -> None:
    with pytest.raises(NotHere, match="rustup is not installed"):
        STRATEGIES["rustup"].plan(request(HOST), machine(tools=()))
    with pytest.raises(NotHere, match="no rustup toolchain"):
        STRATEGIES["rustup"].plan(request(HOST), machine(toolchains=[DEBIAN]))


def test_zig_builds_with_cargo_zigbuild() -> None:
    m = machine(tools=("rustup", "cargo-zigbuild"), zig=True)
    plan = STRATEGIES["zig"].plan(request("aarch64-unknown-linux-musl"), m)
    assert plan.argv == (
        "cargo", "+1.95.0-x86_64-unknown-linux-gnu", "zigbuild", "--release",
        "--target", "aarch64-unknown-linux-musl", "--bin", "weft", "--locked",
    )  # fmt: skip
    assert plan.prepare[0][:3] == ("rustup", "target", "add")  # the std still comes from rustup
    assert not any(k.endswith("_LINKER") for k in plan.env)  # zig is the linker
    debian = STRATEGIES["zig"].plan(request("aarch64-unknown-linux-gnu"), m)
    assert debian.argv[:2] == ("/usr/bin/cargo", "zigbuild") and debian.prepare == ()


def test_zig_also_builds_macos() -> None:
    m = machine(tools=("rustup", "cargo-zigbuild"), zig=True)
    plan = STRATEGIES["zig"].plan(request("aarch64-apple-darwin", static=False), m)
    assert "zigbuild" in plan.argv


def test_zig_not_installed_says_how_to_install_it() -> None:
    with pytest.raises(NotHere) as info:
        STRATEGIES["zig"].plan(request("aarch64-unknown-linux-musl"), machine())
    assert "cargo-zigbuild is not installed" in info.value.missing
    assert info.value.fix == "`pip install ziglang cargo-zigbuild`"
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
    assert info.value.missing == "needs a macOS runner: macos-15"


def test_nothing_available_explains_every_strategy() -> None:
    req = request("aarch64-unknown-linux-musl")
    plan, rejections = first_plan(req, machine(tools=()), ("native", "rustup", "zig", "cross"))
    assert plan is None
    assert [r.strategy for r in rejections] == ["native", "rustup", "zig", "cross"]
    message, fix = explain(req.target, rejections)
    assert message.startswith(
        "Cannot build t (aarch64-unknown-linux-musl) here: "
        "no toolchain has the std for aarch64-unknown-linux-musl."
    )
    assert "zig: cargo-zigbuild is not installed" in message
    assert fix == (
        "`rustup target add aarch64-unknown-linux-musl`, or install rustup (https://rustup.rs), "
        "or `pip install ziglang cargo-zigbuild`, or `cargo install cross --locked`"
    )


def test_first_plan_follows_the_order_and_a_forced_strategy() -> None:
    m = machine(tools=("rustup", "cross"), engine="docker")
    req = request("aarch64-unknown-linux-musl")
    plan, rejections = first_plan(req, m, ("native", "cross", "rustup"))
    assert plan is not None and plan.strategy == "cross"
    assert [r.strategy for r in rejections] == ["native"]
    forced = request(HOST, strategy="rustup")
    assert order_for(forced.target, ("native", "zig")) == ("rustup",)
    plan, _ = first_plan(forced, m, order_for(forced.target, ("native",)))
    assert plan is not None and plan.strategy == "rustup"


def test_preference_default_then_releases_then_nightly() -> None:
    nightly = toolchain("1.97.0", "rustup", line="rustc 1.97.0-nightly (abc 2026-05-19)")
    older = toolchain("1.80.0", "rustup")
    ordered = preference([nightly, older, DEBIAN, STABLE], STABLE)
    assert ordered == [STABLE, older, DEBIAN, nightly]
