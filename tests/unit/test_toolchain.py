"""Toolchain facts and the MSRV choice, on synthetic toolchains (no rustc runs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nox_cargo.build import toolchain as tc
from nox_cargo.errors import ToolchainError, Unavailable
from nox_cargo.workspace import Version


def make(version: str, source: str = "rustup", targets: tuple[str, ...] = ()) -> tc.Toolchain:
    v = Version.parse(version)
    rustup_name = f"{version}-x86_64-unknown-linux-gnu" if source == "rustup" else None
    return tc.Toolchain(
        name=f"{source}:{version}",
        source=source,
        rustc=Path(f"/opt/{version}/bin/rustc"),
        cargo=Path(f"/opt/{version}/bin/cargo"),
        version=v,
        version_line=f"rustc {version}",
        host="x86_64-unknown-linux-gnu",
        sysroot=Path(f"/opt/{version}"),
        targets=frozenset(targets),
        rustup_name=rustup_name,
    )


def test_parse_rustc_vv() -> None:
    text = (
        "rustc 1.63.0\nbinary: rustc\ncommit-hash: unknown\nhost: aarch64-unknown-linux-gnu\n"
        "release: 1.63.0\nLLVM version: 14.0.6\n"
    )
    line, version, host = tc.parse_version_verbose(text)
    assert (line, version, host) == ("rustc 1.63.0", Version(1, 63, 0), "aarch64-unknown-linux-gnu")


def test_unreadable_rustc_vv() -> None:
    with pytest.raises(ToolchainError):
        tc.parse_version_verbose("garbage")


def test_wasip1_is_wasi_before_1_78() -> None:
    old = make("1.63.0", "system", ("wasm32-wasi",))
    new = make("1.95.0", "rustup", ("wasm32-wasip1",))
    assert old.triple_name("wasm32-wasip1") == "wasm32-wasi"
    assert old.has_std("wasm32-wasip1")
    assert new.has_std("wasm32-wasip1")
    assert not make("1.95.0", "rustup", ("wasm32-wasi",)).has_std("wasm32-wasip1")


def test_installed_targets_read_the_sysroot(tmp_path: Path) -> None:
    for triple in ("x86_64-unknown-linux-gnu", "wasm32-wasi"):
        (tmp_path / "lib" / "rustlib" / triple / "lib").mkdir(parents=True)
    (tmp_path / "lib" / "rustlib" / "etc").mkdir()
    assert tc.installed_targets(tmp_path) == {"x86_64-unknown-linux-gnu", "wasm32-wasi"}


def test_msrv_picks_the_matching_minor() -> None:
    toolchains = [make("1.95.0"), make("1.63.0", "system")]
    assert tc.select_msrv(toolchains, Version(1, 63), "").version == Version(1, 63, 0)


def test_msrv_without_a_matching_toolchain_is_unavailable_with_the_fix() -> None:
    with pytest.raises(Unavailable) as info:
        tc.select_msrv([make("1.95.0")], Version(1, 63), "")
    assert "1.63" in info.value.message
    assert "rustup toolchain install 1.63" in (info.value.hint or "")


def test_msrv_requested_but_missing_or_too_old() -> None:
    with pytest.raises(ToolchainError, match="not found"):
        tc.select_msrv([make("1.95.0")], Version(1, 63), "1.70")
    with pytest.raises(ToolchainError, match="older than"):
        tc.select_msrv([make("1.60.0", "system")], Version(1, 63), "system:1.60.0")


def test_cargo_invocation_per_source() -> None:
    assert make("1.95.0").cargo_invocation() == (["cargo", "+1.95.0-x86_64-unknown-linux-gnu"], {})
    argv, env = make("1.63.0", "system").cargo_invocation()
    assert argv == ["/opt/1.63.0/bin/cargo"]
    assert env["RUSTC"] == "/opt/1.63.0/bin/rustc"
