"""build_target on a synthetic workspace and machine, with nox_cargo.process.run mocked."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from nox_cargo import config as cfg
from nox_cargo import git, project
from nox_cargo.build import builder as build
from nox_cargo.build import cdeps, smoke
from nox_cargo.build.strategies import Plan
from nox_cargo.doctor import Probes
from nox_cargo.errors import CommandFailed, NoxCargoError, ToolchainError, Unavailable
from nox_cargo.manifest import BuildManifest, sha256_file
from nox_cargo.process import Completed
from nox_cargo.project import Project
from nox_cargo.provision import installer
from nox_cargo.workspace import Package, Version, Workspace
from tests.unit.test_build_headers import elf
from tests.unit.test_strategies import DEBIAN, STABLE, machine

TARGETS = [
    {"id": "x86_64-gnu", "triple": "x86_64-unknown-linux-gnu", "static": True},
    {
        "id": "aarch64-gnu",
        "triple": "aarch64-unknown-linux-gnu",
        "static": True,
        "linker": "aarch64-linux-gnu-gcc",
    },
]


def make_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **extra: Any) -> Project:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "Cargo.lock").write_text("# lock\n")
    workspace = Workspace(
        root=root,
        target_dir=root / "target",
        members=(
            Package("weft", "0.3.0", root / "Cargo.toml", Version(1, 63), ("weft",), None, None),
        ),
        metadata={},
    )
    monkeypatch.setattr(project, "_workspace_at", lambda path: workspace)
    monkeypatch.setattr(cdeps, "c_code", lambda root, locked: ())  # no `cargo metadata` here
    table = {"targets": TARGETS, **extra}
    config = cfg.load(cfg.ConfigSource(table, "test config", tmp_path), {})
    # rustup's home and the tool dir are the test's own: the real machine's do not matter.
    environ = {
        "SOURCE_DATE_EPOCH": "1700000000",
        "PATH": "",
        "HOME": str(tmp_path),
        "RUSTUP_HOME": str(tmp_path / "rustup"),
    }
    return Project(tmp_path, config, None, environ)


class FakeRun:
    """Stands in for process.run: cargo 'builds' a synthetic ELF, binaries 'run'."""

    def __init__(self, binary: bytes, fail_prepare: bool = False) -> None:
        self.binary = binary
        self.fail_prepare = fail_prepare
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, argv: Iterable[Any], **kwargs: Any) -> Completed:
        args = tuple(str(a) for a in argv)
        self.calls.append(args)
        if args[:3] == ("rustup", "target", "add"):
            if self.fail_prepare:
                raise CommandFailed(args, 1, "info: downloading\nerror: could not download file")
        elif "build" in args:
            triple = args[args.index("--target") + 1]
            cwd = kwargs["cwd"]
            out = cwd / "target" / triple / "release" / "weft"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(self.binary)
        elif args[:2] == ("git", "rev-parse"):
            return Completed(args, 0, "0123abcd\n", "", 0.0)
        return Completed(args, 0, "weft 0.3.0\n", "", 0.01)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeRun:
    runner = FakeRun(elf(None, []))
    for module in (build, smoke, git, installer):
        monkeypatch.setattr(module, "run", runner)
    return runner


def test_dry_run_prints_the_commands_and_runs_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake: FakeRun,
    capsys: pytest.CaptureFixture[str],
) -> None:
    proj = make_project(tmp_path, monkeypatch, toolchain="/usr/bin/rustc")  # Debian's, by name
    m = machine(tools=("rustup", "aarch64-linux-gnu-gcc"))
    plan = build.build_target(proj, "aarch64-gnu", dry_run=True, machine=m)
    assert isinstance(plan, Plan) and plan.toolchain is DEBIAN
    assert fake.calls == []
    out = capsys.readouterr().out
    assert "strategy native" in out
    assert "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc" in out
    assert "--target aarch64-unknown-linux-gnu --bin weft --locked" in out
    assert not (tmp_path / "dist").exists()


def test_build_stages_the_binary_and_writes_the_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeRun
) -> None:
    proj = make_project(tmp_path, monkeypatch)
    manifest = build.build_target(proj, "x86_64-gnu", machine=machine())
    assert isinstance(manifest, BuildManifest)
    staged = tmp_path / "dist" / "x86_64-gnu" / "weft"
    assert staged.read_bytes() == elf(None, [])
    loaded = BuildManifest.load(tmp_path / "dist", "x86_64-gnu")
    assert loaded == manifest
    (artifact,) = loaded.artifacts
    assert (artifact.path, artifact.static, artifact.format) == ("x86_64-gnu/weft", True, "elf")
    assert artifact.sha256 == sha256_file(staged)
    assert loaded.strategy == "native" and loaded.toolchain_path == str(STABLE.rustc)
    assert loaded.rustflags == ("-C", "target-feature=+crt-static")
    assert (loaded.git_commit, loaded.source_date_epoch) == ("0123abcd", 1700000000)
    smoke_call = [c for c in fake.calls if c[0].endswith("/weft")]
    assert smoke_call == [(str(tmp_path / "ws/target/x86_64-unknown-linux-gnu/release/weft"),
                           "--version")]  # fmt: skip
    document = json.loads((tmp_path / "dist" / "x86_64-gnu" / "build-manifest.json").read_text())
    assert document["kind"] == "build"


def test_configured_static_but_dynamic_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeRun
) -> None:
    fake.binary = elf("/lib64/ld-linux-x86-64.so.2", ["libc.so.6"])
    proj = make_project(tmp_path, monkeypatch)
    with pytest.raises(NoxCargoError) as info:
        build.build_target(proj, "x86_64-gnu", machine=machine())
    assert "configured to link statically" in info.value.message
    assert "libc.so.6" in info.value.message
    assert not (tmp_path / "dist" / "x86_64-gnu").exists()


def test_failed_rustup_target_add_falls_through_to_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeRun
) -> None:
    fake.fail_prepare = True
    proj = make_project(tmp_path, monkeypatch)
    with pytest.raises(Unavailable) as info:
        build.build_target(proj, "aarch64-musl", machine=machine())
    message = info.value.message
    assert "has no std for aarch64-unknown-linux-musl" in message.splitlines()[0]
    assert "rustup: Cannot provision the aarch64-unknown-linux-musl std" in message
    assert "error: could not download file" in message
    assert (
        "`rustup target add --toolchain 1.95.0-x86_64-unknown-linux-gnu "
        "aarch64-unknown-linux-musl`" in (info.value.hint or "")
    )
    assert not any("build" in c for c in fake.calls)


def test_provision_never_skips_with_the_exact_command_and_runs_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeRun
) -> None:
    proj = make_project(tmp_path, monkeypatch, provision="never")
    with pytest.raises(Unavailable) as info:
        build.build_target(proj, "aarch64-musl", machine=machine())
    assert "provisioning is off" in info.value.message
    assert (
        "`rustup target add --toolchain 1.95.0-x86_64-unknown-linux-gnu "
        "aarch64-unknown-linux-musl`" in (info.value.hint or "")
    )
    assert fake.calls == []


def test_missing_linker_is_an_error_before_cargo_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeRun
) -> None:
    proj = make_project(tmp_path, monkeypatch, toolchain="/usr/bin/rustc")
    with pytest.raises(ToolchainError) as info:
        build.build_target(proj, "aarch64-gnu", machine=machine(tools=()))
    assert "gcc-aarch64-linux-gnu" in (info.value.hint or "")
    assert fake.calls == []


def test_unknown_target_id_lists_the_valid_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeRun
) -> None:
    proj = make_project(tmp_path, monkeypatch)
    with pytest.raises(NoxCargoError, match="x86_64-gnu, aarch64-gnu"):
        build.build_target(proj, "riscv-gnu", machine=machine())


def test_doctor_has_one_row_per_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    proj = make_project(tmp_path, monkeypatch)
    facts = Probes(proj)
    facts.__dict__["toolchains"] = [STABLE, DEBIAN]  # cached_property: no rustc is probed
    facts.__dict__["default_toolchain"] = STABLE
    compiler_row, *target_rows = build.target_rows(facts)
    assert compiler_row.item == "the project's compiler" and compiler_row.ok is True
    assert "rustc 1.95.0" in compiler_row.detail and "the default toolchain" in compiler_row.detail
    rows = {row.item.split()[0]: row for row in target_rows}
    assert list(rows) == [t.id for t in proj.config.target_registry]
    assert rows["x86_64-gnu"].ok is True and "native" in rows["x86_64-gnu"].detail
    # PATH is empty: the configured cross linker is missing.
    assert rows["aarch64-gnu"].ok is False
    assert "gcc-aarch64-linux-gnu" in rows["aarch64-gnu"].fix
    assert rows["aarch64-macos"].ok is None
    assert "needs a macOS runner (macos-15) or zig" in rows["aarch64-macos"].detail
    assert rows["x86_64-windows"].ok is False
    assert "needs a Windows runner (windows-latest)" in rows["x86_64-windows"].detail
    assert (
        "`rustup target add --toolchain 1.95.0-x86_64-unknown-linux-gnu "
        "aarch64-unknown-linux-musl`" in rows["aarch64-musl"].fix
    )
