"""The wasm stage without cargo: package, toolchain, profile errors, breakdown, the WASI run."""

from __future__ import annotations

import dataclasses
import importlib.util
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import pytest

from nox_cargo import config as cfg
from nox_cargo.build import builder
from nox_cargo.build import toolchain as tc
from nox_cargo.build.strategies import Machine
from nox_cargo.errors import CommandFailed, ConfigError, NoxCargoError, Unavailable, UsageError
from nox_cargo.project import Project
from nox_cargo.provision import installer
from nox_cargo.wasm import binary, runtime
from nox_cargo.wasm import module as wasm_module
from nox_cargo.workspace import Package, Version, Workspace
from tests.conftest import require
from tests.unit.test_wasm_binary import body, module


def package(name: str, bins: tuple[str, ...]) -> Package:
    return Package(name, "0.3.0", Path(f"/w/{name}/Cargo.toml"), Version(1, 63), bins, None, None)


WORKSPACE = Workspace(
    root=Path("/w"),
    target_dir=Path("/w/target"),
    members=(
        package("weft", ("weft",)),
        package("weft-core", ()),
        package("weft-wasm", ("weft-wasm",)),
    ),
    metadata={},
)


def fake_project(tmp_path: Path, overrides: Sequence[str] = ()) -> Project:
    """A project whose PATH has only a `rustup` (never run: unit tests cannot spawn)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "rustup").touch(mode=0o755)
    return cast(
        Project,
        types.SimpleNamespace(
            config=cfg.load(None, {}, overrides),
            workspace=WORKSPACE,
            workspace_path=WORKSPACE.root,
            locked=["--locked"],
            # rustup's home is the test's own: what the real machine has does not matter.
            environ={
                "PATH": str(bin_dir),
                "HOME": str(tmp_path),
                "RUSTUP_HOME": str(tmp_path / "rustup"),
            },
            report_dir=tmp_path / "report",
            dist_dir=tmp_path / "dist",
            base_dir=tmp_path,
        ),
    )


def test_configured_package_and_its_bin() -> None:
    chosen, bin_name = wasm_module.select_binary(WORKSPACE, "weft-wasm")
    assert (chosen.name, bin_name) == ("weft-wasm", "weft-wasm")


def test_package_not_in_the_workspace() -> None:
    with pytest.raises(ConfigError) as info:
        wasm_module.select_binary(WORKSPACE, "weft-web")
    assert "wasm.package = 'weft-web'" in info.value.message
    assert "not a member" in info.value.message
    assert "weft-wasm" in (info.value.hint or "")


def test_package_without_a_bin() -> None:
    with pytest.raises(ConfigError, match="has no bin target"):
        wasm_module.select_binary(WORKSPACE, "weft-core")


def test_unset_package_with_several_bins_is_ambiguous() -> None:
    with pytest.raises(ConfigError) as info:
        wasm_module.select_binary(WORKSPACE, "")
    assert "weft, weft-wasm" in info.value.message
    assert "package =" in (info.value.hint or "")


def test_unset_package_with_one_bin() -> None:
    only = Workspace(Path("/w"), Path("/w/target"), (package("solo", ("solo",)),), {})
    assert wasm_module.select_binary(only, "")[1] == "solo"


def toolchain(version: str, targets: tuple[str, ...]) -> tc.Toolchain:
    return tc.Toolchain(
        name=f"t:{version}",
        source="system",
        rustc=Path(f"/opt/{version}/rustc"),
        cargo=Path(f"/opt/{version}/cargo"),
        version=Version.parse(version),
        version_line=f"rustc {version}",
        host="x86_64-unknown-linux-gnu",
        sysroot=Path(f"/opt/{version}"),
        targets=frozenset(targets),
    )


def test_missing_wasm_std_is_unavailable_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = [toolchain("1.95.0", ("x86_64-unknown-linux-gnu",))]
    monkeypatch.setattr(tc, "discover", lambda environ=None: found)
    monkeypatch.setattr(tc, "default_toolchain", lambda ts, environ=None: ts[0])
    with pytest.raises(Unavailable) as info:
        wasm_module.select_toolchain(fake_project(tmp_path), "wasm32-wasip1")
    assert "wasm32-wasip1" in info.value.message
    assert "install the std for wasm32-wasip1" in (info.value.hint or "")
    assert "libstd-rust-dev-wasm32" in (info.value.hint or "")


def test_rustup_adds_the_missing_std_to_the_default_toolchain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stable = dataclasses.replace(
        toolchain("1.95.0", ("x86_64-unknown-linux-gnu",)),
        rustup_name="stable",
        sysroot=tmp_path / "sysroot",
    )
    monkeypatch.setattr(tc, "discover", lambda environ=None: [stable])
    monkeypatch.setattr(tc, "default_toolchain", lambda ts, environ=None: stable)
    commands: list[list[str]] = []

    def fake_run(argv: list[str], **kwargs: Any) -> None:
        commands.append([str(a) for a in argv])
        (tmp_path / "sysroot" / "lib" / "rustlib" / "wasm32-wasip1" / "lib").mkdir(parents=True)

    monkeypatch.setattr(installer, "run", fake_run)
    chosen = wasm_module.select_toolchain(fake_project(tmp_path), "wasm32-wasip1")
    assert commands == [["rustup", "target", "add", "--toolchain", "stable", "wasm32-wasip1"]]
    assert chosen.has_std("wasm32-wasip1")


def test_rustup_that_cannot_download_is_unavailable_with_its_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stable = dataclasses.replace(
        toolchain("1.95.0", ("x86_64-unknown-linux-gnu",)), rustup_name="stable"
    )
    monkeypatch.setattr(tc, "discover", lambda environ=None: [stable])
    monkeypatch.setattr(tc, "default_toolchain", lambda ts, environ=None: stable)

    def offline(argv: list[str], **kwargs: Any) -> None:
        raise CommandFailed(argv, 1, "info: downloading component\nerror: could not download")

    monkeypatch.setattr(installer, "run", offline)
    with pytest.raises(Unavailable) as info:
        wasm_module.select_toolchain(fake_project(tmp_path), "wasm32-wasip1")
    assert "error: could not download" in info.value.message
    assert "libstd-rust-dev-wasm32" in (info.value.hint or "")


def test_an_old_rustc_with_wasm32_wasi_std_is_used_when_the_config_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stable = toolchain("1.95.0", ("x86_64-unknown-linux-gnu",))
    debian = toolchain("1.63.0", ("x86_64-unknown-linux-gnu", "wasm32-wasi"))
    monkeypatch.setattr(tc, "discover", lambda environ=None: [stable, debian])
    monkeypatch.setattr(tc, "default_toolchain", lambda ts, environ=None: stable)
    with pytest.raises(Unavailable, match="has no std for wasm32-wasip1"):
        wasm_module.select_toolchain(fake_project(tmp_path), "wasm32-wasip1")  # the project's
    pinned = fake_project(tmp_path, [f"toolchain={debian.rustc}"])
    chosen = wasm_module.select_toolchain(pinned, "wasm32-wasip1")
    assert chosen is debian
    assert chosen.triple_name("wasm32-wasip1") == "wasm32-wasi"


def test_missing_profile_names_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []

    def fake_run(argv: Sequence[str], **kwargs: Any) -> None:
        calls.append((list(argv), kwargs.get("env")))
        raise CommandFailed(argv, 101, "error: profile `tiny` is not defined", None)

    monkeypatch.setattr(wasm_module, "run", fake_run)
    project = fake_project(tmp_path, ["wasm.profile=tiny"])
    debian = toolchain("1.63.0", ("wasm32-wasi",))
    with pytest.raises(NoxCargoError) as info:
        wasm_module.build(project, debian, "wasm32-wasip1", WORKSPACE.members[2], "weft-wasm")
    argv, env = calls[0]
    assert argv[:2] == ["/opt/1.63.0/cargo", "build"]
    assert argv[argv.index("--target") : argv.index("--target") + 2] == ["--target", "wasm32-wasi"]
    assert "--locked" in argv
    assert env["CARGO_PROFILE_TINY_STRIP"] == "debuginfo"
    assert "does not define the cargo profile `tiny`" in info.value.message
    assert "[profile.tiny]" in (info.value.hint or "")
    assert 'opt-level = "z"' in (info.value.hint or "")


def test_other_cargo_failures_pass_through(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_run(argv: Sequence[str], **kwargs: Any) -> None:
        raise CommandFailed(argv, 101, "error[E0425]: cannot find value `x`", None)

    monkeypatch.setattr(wasm_module, "run", fake_run)
    debian = toolchain("1.63.0", ("wasm32-wasi",))
    with pytest.raises(CommandFailed, match="E0425"):
        wasm_module.build(
            fake_project(tmp_path), debian, "wasm32-wasip1", WORKSPACE.members[2], "weft-wasm"
        )


def test_unconfigured_triple_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not one of the configured wasm targets"):
        wasm_module.run_wasm(fake_project(tmp_path), "wasm32-unknown-unknown")


def test_breakdown_names_the_shipped_functions() -> None:
    named = module(
        [body(10), body(400), body(50)], names={2: "a", 3: "_ZN4weft3big17h0123456789abcdefE"}
    )
    shipped = binary.strip_custom(named)
    result = wasm_module.breakdown(binary.parse(named), binary.parse(shipped), 2)
    assert result.named
    assert result.functions == ((3, "weft::big", 402), (4, "function[4]", 51))
    assert result.sections[0][0] == "code"
    assert all(not label.startswith("custom") for label, _ in result.sections)


def test_breakdown_without_names_falls_back_to_indices() -> None:
    stripped = binary.parse(binary.strip_custom(module([body(10), body(400)], names={2: "a"})))
    result = wasm_module.breakdown(stripped, stripped, 5)
    assert not result.named
    assert "names stripped" in result.note
    assert result.functions == ((3, "function[3]", 402), (2, "function[2]", 11))


def test_breakdown_refuses_names_of_different_code() -> None:
    named = binary.parse(module([body(10), body(400)], names={2: "a", 3: "b"}))
    other = binary.parse(module([body(10), body(401)]))
    result = wasm_module.breakdown(named, other, 5)
    assert not result.named
    assert "differs" in result.note


def test_smoke_input_from_config_and_missing(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("a b a\n")
    data, origin = wasm_module.smoke_input(fake_project(tmp_path, ["wasm.smoke-input=in.txt"]))
    assert data == b"a b a\n"
    assert origin.endswith("in.txt")
    with pytest.raises(ConfigError, match=r"wasm\.smoke-input"):
        wasm_module.smoke_input(fake_project(tmp_path, ["wasm.smoke-input=nope.txt"]))
    builtin, label = wasm_module.smoke_input(fake_project(tmp_path))
    assert label == "built-in text"
    assert builtin.count(b"the") > 3


ECHO_WAT = """
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    ;; iovec at 0: buffer 64, length 1000; read stdin once, write what was read, exit 3
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const 1000))
    (drop (call $read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
    (i32.store (i32.const 4) (i32.load (i32.const 8)))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $exit (i32.const 3))))
"""


def test_wasi_run_in_process(tmp_path: Path) -> None:
    require(importlib.util.find_spec("wasmtime") is not None, "pip install wasmtime")
    import wasmtime

    path = tmp_path / "echo.wasm"
    path.write_bytes(bytes(wasmtime.wat2wasm(ECHO_WAT)))
    result = runtime.run_wasi(path, b"hello weft\n", (), tmp_path / "scratch")
    assert result.stdout == b"hello weft\n"
    assert result.exit_code == 3
    assert result.runtime.startswith("wasmtime")


def test_wasi_run_rejects_a_corrupt_module(tmp_path: Path) -> None:
    require(importlib.util.find_spec("wasmtime") is not None, "pip install wasmtime")
    path = tmp_path / "bad.wasm"
    path.write_bytes(b"\x00asm\x01\x00\x00\x00\x01\x05\x01")
    with pytest.raises(NoxCargoError, match="wasmtime rejects"):
        runtime.run_wasi(path, b"", (), tmp_path / "scratch")


def test_missing_wasmtime_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_module(name: str) -> None:
        raise ImportError(name)

    monkeypatch.setattr("nox_cargo.wasm.runtime.importlib.import_module", no_module)
    with pytest.raises(Unavailable) as info:
        runtime.load_wasmtime()
    assert info.value.hint == "pip install wasmtime"


def test_doctor_row_names_the_toolchain_the_stage_would_use(tmp_path: Path) -> None:
    from nox_cargo import doctor

    stable = toolchain("1.95.0", ("x86_64-unknown-linux-gnu",))
    debian = toolchain("1.63.0", ("wasm32-wasi",))
    pinned = doctor.Probes(fake_project(tmp_path, [f"toolchain={debian.rustc}"]))
    pinned.__dict__.update(toolchains=[stable, debian], default_toolchain=stable)
    rows = {row.item: row for row in wasm_module.wasm_stage_rows(pinned)}
    row = rows["toolchain for wasm32-wasip1"]
    assert row.ok
    assert "rustc 1.63.0" in row.detail
    assert row.detail.endswith("as wasm32-wasi")
    facts = doctor.Probes(fake_project(tmp_path))  # the project's compiler is the default
    facts.__dict__.update(toolchains=[stable, debian], default_toolchain=stable)
    row = {r.item: r for r in wasm_module.wasm_stage_rows(facts)}["toolchain for wasm32-wasip1"]
    assert not row.ok
    assert "rustup target add wasm32-wasip1" in row.fix


def synthetic_machine(default: str | None, *toolchains: tc.Toolchain) -> Machine:
    by_version = {t.version_line.split()[1]: t for t in toolchains}
    return builder.machine_from(
        list(toolchains), by_version[default] if default else None, {"PATH": "/nonexistent"}
    )


WASM_STD = ("wasm32-wasip1", "x86_64-unknown-linux-gnu")
NIGHTLY = dataclasses.replace(
    toolchain("1.97.0", WASM_STD), version_line="rustc 1.97.0-nightly (abc 2026-11-30)"
)
RELEASE = toolchain("1.95.0", WASM_STD)
MSRV = toolchain("1.63.0", ("wasm32-wasi", "x86_64-unknown-linux-gnu"))


@pytest.mark.parametrize(
    ("default", "rust_version", "expected"),
    [
        ("1.95.0", "1.63", RELEASE),  # the default toolchain is the project's compiler
        ("1.97.0-nightly", "1.63", NIGHTLY),  # whatever it is: never another that has the std
        ("1.63.0", "1.63", MSRV),  # a default at the MSRV is still the default
        ("1.63.0", "1.70", None),  # ... but not below the workspace's rust-version
        (None, "1.63", None),  # no toolchain at all
    ],
)
def test_wasm_picks_the_toolchain_build_would_pick(
    tmp_path: Path, default: str | None, rust_version: str, expected: tc.Toolchain | None
) -> None:
    machine = synthetic_machine(default, NIGHTLY, RELEASE, MSRV)
    members = tuple(
        dataclasses.replace(p, rust_version=Version.parse(rust_version)) for p in WORKSPACE.members
    )
    project = fake_project(tmp_path)
    project.__dict__["workspace"] = dataclasses.replace(WORKSPACE, members=members)
    target = cfg.Target("wasm", "wasm32-wasip1")
    if expected is None:
        with pytest.raises(Unavailable):
            builder.choose(project, builder.make_request(project, target), machine, prepare=False)
        with pytest.raises(Unavailable):
            wasm_module.select_toolchain(project, "wasm32-wasip1", machine)
        return
    by_build = builder.choose(
        project, builder.make_request(project, target), machine, prepare=False
    ).plan.toolchain
    by_wasm = wasm_module.select_toolchain(project, "wasm32-wasip1", machine)
    assert by_wasm is by_build
    assert by_wasm is expected


def lib_package(name: str, kinds: tuple[str, ...] = ("cdylib",)) -> Package:
    return dataclasses.replace(package(name, ()), lib_kinds=kinds, lib_name=name.replace("-", "_"))


def test_cdylib_packages_are_found_and_built_as_libraries() -> None:
    workspace = dataclasses.replace(
        WORKSPACE, members=(*WORKSPACE.members, lib_package("weft-web"), lib_package("weft-ui"))
    )
    chosen = wasm_module.select_modules(workspace, cfg.WasmConfig())
    assert [(s.package.name, s.artifact, s.kind) for s in chosen] == [
        ("weft-web", "weft_web", "library"),
        ("weft-ui", "weft_ui", "library"),
    ]
    assert chosen[0].budget_keys[0] == "wasm.raw-budget"


def test_each_listed_module_has_its_own_budgets() -> None:
    workspace = dataclasses.replace(WORKSPACE, members=(*WORKSPACE.members, lib_package("web")))
    config = cfg.WasmConfig(
        modules=(
            cfg.WasmModule("weft-wasm"),
            cfg.WasmModule("web", raw_budget=cfg.ByteSize(60_000)),
        )
    )
    command, library = wasm_module.select_modules(workspace, config)
    assert (command.kind, command.artifact, command.raw_budget) == ("command", "weft-wasm", 307200)
    assert (library.kind, library.raw_budget, library.gzip_budget) == ("library", 60_000, 122880)
    assert library.budget_keys[:2] == ("wasm.modules[package=web].raw-budget", "wasm.gzip-budget")
    with pytest.raises(ConfigError, match="no cdylib library"):
        wasm_module.select_modules(
            workspace, cfg.WasmConfig(modules=(cfg.WasmModule("weft-core"),))
        )


def test_package_and_modules_exclude_each_other() -> None:
    from nox_cargo.config.model import Invalid

    with pytest.raises(Invalid, match="not both"):
        cfg.WasmConfig(package="weft-wasm", modules=(cfg.WasmModule("weft"),))


def test_a_component_is_told_from_a_core_module() -> None:
    assert wasm_module.is_component(b"\0asm\x0d\x00\x01\x00")
    assert not wasm_module.is_component(module([body(3)]))
