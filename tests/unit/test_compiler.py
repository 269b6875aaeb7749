"""The project's compiler: config `toolchain` > rust-toolchain.toml > the default, matched to the
installed toolchains, and a missing pin provisioned (or named, with provisioning off)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nox_cargo import config as cfg
from nox_cargo.build import compiler
from nox_cargo.errors import ConfigError, Unavailable
from nox_cargo.project import Project
from nox_cargo.provision import needs as nd
from tests.unit.test_strategies import DEBIAN, HOST, STABLE, toolchain

OLD = toolchain("1.63.0", "rustup")  # rustup name "1.63.0-<host>"


def project(tmp_path: Path, **table: Any) -> Project:
    (tmp_path / "ws").mkdir(exist_ok=True)
    config = cfg.load(cfg.ConfigSource({"workspace": "ws", **table}, "test", tmp_path), {})
    environ = {"HOME": str(tmp_path), "RUSTUP_HOME": str(tmp_path / "rustup"), "PATH": ""}
    return Project(tmp_path, config, None, environ)


def test_rust_toolchain_toml_and_the_legacy_file(tmp_path: Path) -> None:
    toml = tmp_path / "rust-toolchain.toml"
    toml.write_text(
        '[toolchain]\nchannel = "1.93"\ncomponents = ["clippy", "rustfmt"]\n'
        'targets = ["wasm32-wasip1"]\nprofile = "minimal"\n'
    )
    spec = compiler.read_toolchain_file(toml)
    assert spec == compiler.CompilerSpec(
        "1.93", "rust-toolchain.toml", ("clippy", "rustfmt"), ("wasm32-wasip1",)
    )
    assert spec.needs() == (
        nd.toolchain("1.93"),
        nd.component("clippy", "1.93"),
        nd.component("rustfmt", "1.93"),
        nd.target("wasm32-wasip1", "1.93"),
    )
    legacy = tmp_path / "rust-toolchain"
    legacy.write_text("nightly-2025-01-01\n")
    assert compiler.read_toolchain_file(legacy).name == "nightly-2025-01-01"


@pytest.mark.parametrize(
    "text", ["[toolchain]\ncomponents = []\n", "not toml [", '[other]\nchannel = "1"\n']
)
def test_an_unreadable_toolchain_file_is_a_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "rust-toolchain.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        compiler.read_toolchain_file(path)
    assert str(path) in info.value.message


def test_the_config_wins_then_the_file_found_upwards_then_the_default(tmp_path: Path) -> None:
    workspace = tmp_path / "a" / "ws"
    workspace.mkdir(parents=True)
    assert compiler.spec_for("", workspace).origin == "the default toolchain"
    (tmp_path / "a" / "rust-toolchain.toml").write_text('[toolchain]\nchannel = "1.80"\n')
    assert compiler.spec_for("", workspace).name == "1.80"  # as rustup finds it: upwards
    configured = compiler.spec_for("/usr/bin/rustc", workspace)
    assert (configured.name, configured.origin, configured.is_path) == (
        "/usr/bin/rustc",
        "config `toolchain`",
        True,
    )
    assert configured.needs() == ()


def test_a_pin_matches_the_rustup_toolchain_by_name_or_a_rustc_by_path() -> None:
    toolchains = [STABLE, OLD, DEBIAN]
    assert compiler.match(compiler.CompilerSpec("1.63.0", "f"), toolchains, HOST) is OLD
    assert compiler.match(compiler.CompilerSpec(f"1.95.0-{HOST}", "f"), toolchains, HOST) is STABLE
    assert compiler.match(compiler.CompilerSpec("/usr/bin/rustc", "c"), toolchains, HOST) is DEBIAN
    assert compiler.match(compiler.CompilerSpec("1.70", "f"), toolchains, HOST) is None


def test_resolve_uses_the_default_unless_pinned(tmp_path: Path) -> None:
    proj = project(tmp_path)
    assert compiler.resolve(proj, [STABLE, DEBIAN], STABLE, HOST, None) == (
        STABLE,
        "the default toolchain",
    )
    pinned = project(tmp_path, toolchain="1.63.0")
    found, origin = compiler.resolve(pinned, [STABLE, OLD, DEBIAN], STABLE, HOST, None)
    assert found is OLD and origin == "config `toolchain`: 1.63.0"
    with pytest.raises(Unavailable, match="No Rust toolchain is installed"):
        compiler.resolve(proj, [], None, HOST, None)


def test_a_missing_pin_is_named_with_provisioning_off(tmp_path: Path) -> None:
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "rust-toolchain.toml").write_text('[toolchain]\nchannel = "1.70"\n')
    proj = project(tmp_path, provision="never")
    with pytest.raises(Unavailable) as info:
        compiler.ensure_pinned(proj)
    assert "rustup toolchain 1.70" in info.value.message
    assert "`rustup toolchain install 1.70 --profile minimal`" in (info.value.hint or "")
    provisioner = compiler.provisioner_for(proj, HOST)
    with pytest.raises(Unavailable):
        compiler.resolve(proj, [STABLE], STABLE, HOST, provisioner)
