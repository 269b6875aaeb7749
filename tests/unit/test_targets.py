"""The target registry's questions: triples, file names, static defaults, lookups, linkers."""

from __future__ import annotations

from pathlib import Path

import pytest

from nox_cargo import config as cfg
from nox_cargo.build import linkers, targets
from nox_cargo.build.smoke import SmokeRunner, SmokeSkip, runner_for
from nox_cargo.config import Target
from nox_cargo.errors import ConfigError, ToolchainError

HOST = "x86_64-unknown-linux-gnu"


@pytest.mark.parametrize(
    ("triple", "arch", "os", "env", "fmt"),
    [
        ("x86_64-unknown-linux-musl", "x86_64", "linux", "musl", "elf"),
        ("aarch64-unknown-linux-gnu", "aarch64", "linux", "gnu", "elf"),
        ("armv7-unknown-linux-gnueabihf", "armv7", "linux", "gnueabihf", "elf"),
        ("x86_64-apple-darwin", "x86_64", "macos", "", "macho"),
        ("aarch64-apple-darwin", "aarch64", "macos", "", "macho"),
        ("x86_64-pc-windows-msvc", "x86_64", "windows", "msvc", "pe"),
        ("x86_64-pc-windows-gnu", "x86_64", "windows", "gnu", "pe"),
        ("wasm32-wasip1", "wasm32", "wasi", "", "wasm"),
        ("wasm32-unknown-unknown", "wasm32", "unknown", "", "wasm"),
    ],
)
def test_parse_triple(triple: str, arch: str, os: str, env: str, fmt: str) -> None:
    parsed = targets.parse_triple(triple)
    assert (parsed.arch, parsed.os, parsed.env, parsed.binary_format) == (arch, os, env, fmt)


def test_binary_names() -> None:
    assert targets.parse_triple("x86_64-pc-windows-gnu").binary_name("weft") == "weft.exe"
    assert targets.parse_triple("x86_64-pc-windows-msvc").binary_name("weft") == "weft.exe"
    assert targets.parse_triple("aarch64-apple-darwin").binary_name("weft") == "weft"
    assert targets.parse_triple("x86_64-unknown-linux-musl").binary_name("weft") == "weft"


def test_static_defaults_and_overrides() -> None:
    assert targets.is_static(Target("a", "x86_64-unknown-linux-musl"))
    assert targets.is_static(Target("b", "x86_64-pc-windows-msvc"))
    assert not targets.is_static(Target("c", "x86_64-unknown-linux-gnu"))
    assert targets.is_static(Target("d", "x86_64-unknown-linux-gnu", static=True))
    assert not targets.is_static(Target("e", "x86_64-unknown-linux-musl", static=False))
    assert not targets.is_static(Target("f", "aarch64-apple-darwin"))


def test_lookup_by_id_and_unknown_id_lists_the_valid_ones() -> None:
    config = cfg.Config()
    assert targets.lookup(config, "aarch64-macos").runner == "macos-15"
    with pytest.raises(ConfigError) as info:
        targets.lookup(config, "aarch64-muls")
    assert "aarch64-muls" in info.value.message
    for valid in ("x86_64-musl", "aarch64-musl", "x86_64-macos", "aarch64-macos", "x86_64-windows"):
        assert valid in info.value.message


def test_configured_targets_extend_and_replace_the_defaults() -> None:
    config = cfg.load(
        cfg.ConfigSource(
            {
                "targets": [
                    {"id": "x86_64-gnu", "triple": HOST, "static": True},
                    {"id": "aarch64-musl", "triple": "aarch64-unknown-linux-musl", "runner": "x"},
                ]
            },
            "test",
            Path(),
        ),
        {},
    )
    assert targets.lookup(config, "x86_64-gnu").static is True
    assert targets.lookup(config, "aarch64-musl").runner == "x"
    assert len(config.target_registry) == 6
    only = cfg.load(None, {}, ["build.default-targets=false"])
    with pytest.raises(ConfigError, match="registry is empty"):
        targets.lookup(only, "x86_64-musl")


def test_host_can_run() -> None:
    assert targets.host_can_run(HOST, "x86_64-unknown-linux-musl")
    assert targets.host_can_run(HOST, "i686-unknown-linux-gnu")
    assert not targets.host_can_run(HOST, "aarch64-unknown-linux-gnu")
    assert not targets.host_can_run(HOST, "x86_64-pc-windows-gnu")
    assert targets.host_can_run("aarch64-apple-darwin", "x86_64-apple-darwin")


@pytest.mark.parametrize(
    ("triple", "linker", "package"),
    [
        ("aarch64-unknown-linux-gnu", "aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu"),
        ("x86_64-pc-windows-gnu", "x86_64-w64-mingw32-gcc", "gcc-mingw-w64-x86-64"),
        ("aarch64-unknown-linux-musl", "aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu"),
    ],
)
def test_cross_linkers(triple: str, linker: str, package: str) -> None:
    found = linkers.required_linker(Target("t", triple), HOST)
    assert found is not None
    assert (found.command, found.package) == (linker, package)


def test_no_linker_for_the_host_host_musl_or_wasm() -> None:
    for triple in (HOST, "x86_64-unknown-linux-musl", "wasm32-wasip1"):
        assert linkers.required_linker(Target("t", triple), HOST) is None


def test_configured_linker_wins_and_a_missing_one_names_the_package() -> None:
    target = Target("t", "aarch64-unknown-linux-gnu", linker="aarch64-linux-gnu-gcc")
    linker = linkers.required_linker(target, HOST)
    assert linker is not None and linker.configured
    with pytest.raises(ToolchainError) as info:
        linkers.check(linker, target.triple, lambda name: None)
    assert "aarch64-linux-gnu-gcc" in info.value.message
    assert info.value.hint == (
        "`apt-get install gcc-aarch64-linux-gnu` (provides aarch64-linux-gnu-gcc)."
    )
    assert linkers.check(linker, target.triple, lambda name: f"/usr/bin/{name}") == (
        "/usr/bin/aarch64-linux-gnu-gcc"
    )
    assert linkers.env_var("aarch64-unknown-linux-gnu") == (
        "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER"
    )


def test_smoke_runners(tmp_path: Path) -> None:
    everything = {"qemu-aarch64-static", "wine"}

    def which(name: str) -> str | None:
        return name if name in everything else None

    assert runner_for(HOST, HOST, which, tmp_path) == SmokeRunner((), "natively")
    qemu = runner_for("aarch64-unknown-linux-musl", HOST, which, tmp_path)
    assert qemu == SmokeRunner(("qemu-aarch64-static",), "under qemu-aarch64-static")
    wine = runner_for("x86_64-pc-windows-gnu", HOST, which, tmp_path)
    assert isinstance(wine, SmokeRunner) and wine.prefix == ("wine",)
    assert wine.env["WINEPREFIX"] == str(tmp_path / "wine") and wine.env["WINEDEBUG"] == "-all"
    none = runner_for("aarch64-unknown-linux-gnu", HOST, lambda name: None, tmp_path)
    assert isinstance(none, SmokeSkip) and "qemu-user-static" in none.fix
    mac = runner_for("aarch64-apple-darwin", HOST, which, tmp_path)
    assert isinstance(mac, SmokeSkip) and "cannot run aarch64-apple-darwin" in mac.reason
