"""Provisioning without processes: needs, the tool directory, presence checks, policy, and
each install's command (process.run mocked); plus the wine DLL check and C-code detection."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest

from nox_cargo.build import cdeps, smoke
from nox_cargo.build.headers import inspect_bytes
from nox_cargo.errors import CommandFailed, Unavailable
from nox_cargo.process import Completed
from nox_cargo.provision import installer
from nox_cargo.provision import needs as nd
from nox_cargo.provision.installer import Provisioner, has_component, toolchain_dir
from nox_cargo.provision.tooldir import ToolDir, default_tools_dir
from tests.unit.test_build_headers import macho

HOST = "x86_64-unknown-linux-gnu"


def rustup_home(tmp_path: Path) -> Path:
    """A rustup home with `stable` holding the host std, rustfmt and clippy."""
    home = tmp_path / "rustup"
    stable = home / "toolchains" / f"stable-{HOST}"
    (stable / "bin").mkdir(parents=True)
    (stable / "lib" / "rustlib" / HOST / "lib").mkdir(parents=True)
    (stable / "lib" / "rustlib" / "components").write_text(
        f"rustc-{HOST}\ncargo-{HOST}\nrust-std-{HOST}\nclippy-preview-{HOST}\nrust-src\n"
    )
    return home


def provisioner(tmp_path: Path, policy: str = "auto", path: str = "") -> Provisioner:
    environ = {"RUSTUP_HOME": str(rustup_home(tmp_path)), "PATH": path, "HOME": str(tmp_path)}
    return Provisioner(
        ToolDir(tmp_path / "tools"),
        environ,
        HOST,
        policy,
        python="/usr/bin/python3",
        which=lambda name: f"/usr/bin/{name}" if name == "rustup" else None,
    )


def test_each_need_has_the_exact_command_a_user_would_type() -> None:
    assert nd.toolchain("1.63").user_command() == "rustup toolchain install 1.63 --profile minimal"
    target = nd.target("aarch64-unknown-linux-musl", "stable")
    assert (
        target.user_command() == "rustup target add --toolchain stable aarch64-unknown-linux-musl"
    )
    assert nd.component("clippy", "1.63").user_command() == (
        "rustup component add --toolchain 1.63 clippy"
    )
    assert nd.ZIGLANG.user_command() == "pip install 'ziglang'"
    assert (
        nd.Need("crate", "cargo-nextest").user_command() == "cargo install --locked cargo-nextest"
    )
    with pytest.raises(ValueError, match="names its toolchain"):
        nd.Need("rustup-target", "x")


def test_unique_puts_toolchains_first_and_drops_duplicates() -> None:
    clippy = nd.component("clippy", "1.63")
    ordered = nd.unique([nd.ZIGLANG, clippy, nd.toolchain("1.63"), clippy])
    assert ordered == (nd.toolchain("1.63"), clippy, nd.ZIGLANG)


@pytest.mark.parametrize(
    ("platform", "environ", "expected"),
    [
        ("linux", {"HOME": "/h"}, "/h/.cache/nox-cargo/tools"),
        ("linux", {"HOME": "/h", "XDG_CACHE_HOME": "/c"}, "/c/nox-cargo/tools"),
        ("darwin", {"HOME": "/h"}, "/h/Library/Caches/nox-cargo/tools"),
        ("win32", {"HOME": "/h", "LOCALAPPDATA": "/l"}, "/l/nox-cargo/tools"),
    ],
)
def test_the_tool_dir_is_the_users_cache_dir(
    platform: str, environ: dict[str, str], expected: str
) -> None:
    assert default_tools_dir(environ, platform) == Path(expected)


def test_presence_of_rustup_toolchains_targets_and_components(tmp_path: Path) -> None:
    p = provisioner(tmp_path)
    home = Path(p.environ["RUSTUP_HOME"])
    assert toolchain_dir(home, "stable", HOST) == home / "toolchains" / f"stable-{HOST}"
    assert toolchain_dir(home, "1.63", HOST) is None
    assert p.present(nd.toolchain("stable"))
    assert not p.present(nd.toolchain("1.63"))
    assert p.present(nd.target(HOST, "stable"))
    assert not p.present(nd.target("aarch64-unknown-linux-musl", "stable"))
    assert not p.present(nd.target(HOST, "1.63"))  # no such toolchain: nothing in it either
    stable = home / "toolchains" / f"stable-{HOST}"
    assert has_component(stable, "clippy", HOST) and has_component(stable, "rust-src", HOST)
    assert not has_component(stable, "rustfmt", HOST)


def test_a_pypi_tool_is_present_in_the_tool_dir_or_on_path(tmp_path: Path) -> None:
    p = provisioner(tmp_path)
    assert not p.present(nd.CARGO_ZIGBUILD)
    dist = p.tools.pypi_dir("cargo-zigbuild") / "cargo_zigbuild-0.19.8.dist-info"
    dist.mkdir(parents=True)
    (p.tools.pypi_dir("cargo-zigbuild") / "bin").mkdir()
    assert p.present(nd.CARGO_ZIGBUILD)
    assert str(p.tools.pypi_dir("cargo-zigbuild") / "bin") in p.tools.env(p.environ)["PATH"]
    assert not p.present(nd.ZIGLANG)
    zig = p.tools.pypi_dir("cargo-zigbuild") / "ziglang" / "zig"  # cargo-zigbuild's dependency
    zig.parent.mkdir()
    zig.touch(mode=0o755)
    assert p.present(nd.ZIGLANG)  # no second download
    on_path = tmp_path / "elsewhere"
    on_path.mkdir()
    (on_path / "zig").touch(mode=0o755)
    assert provisioner(tmp_path / "second", path=str(on_path)).present(nd.ZIGLANG)


def test_never_names_the_commands_and_installs_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Any] = []
    monkeypatch.setattr(installer, "run", lambda argv, **kw: calls.append(argv))
    p = provisioner(tmp_path, policy="never")
    musl = nd.target("aarch64-unknown-linux-musl", "stable")
    assert p.ensure([nd.target(HOST, "stable")], "build(x)") == []  # present: fine
    with pytest.raises(Unavailable) as info:
        p.ensure([musl, nd.ZIGLANG], "build(aarch64-musl) via zig")
    assert "provisioning is off" in info.value.message
    assert "`rustup target add --toolchain stable aarch64-unknown-linux-musl`" in (
        info.value.hint or ""
    )
    assert "`pip install 'ziglang'`" in (info.value.hint or "")
    assert calls == []


def test_auto_runs_rustup_and_pip_into_the_tool_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, ...]] = []

    def fake_run(argv: Any, **kwargs: Any) -> Completed:
        args = tuple(str(a) for a in argv)
        calls.append(args)
        if "--target" in args:  # pip: lay out what a wheel install leaves
            staging = Path(args[args.index("--target") + 1])
            (staging / "ziglang-0.17.1.dist-info").mkdir(parents=True)
            (staging / "ziglang").mkdir()
        return Completed(args, 0, "", "", 0.1)

    monkeypatch.setattr(installer, "run", fake_run)
    p = provisioner(tmp_path)
    musl = nd.target("aarch64-unknown-linux-musl", "stable")
    darwin = nd.target("aarch64-apple-darwin", "stable")
    done = p.ensure([nd.ZIGLANG, musl, nd.component("rustfmt", "stable"), darwin], "build(x)")
    assert done == [musl, darwin, nd.component("rustfmt", "stable"), nd.ZIGLANG]
    # one rustup call per toolchain and kind: a call costs a channel sync
    assert calls[0] == ("rustup", "target", "add", "--toolchain", "stable",
                        "aarch64-unknown-linux-musl", "aarch64-apple-darwin")  # fmt: skip
    assert calls[1] == ("rustup", "component", "add", "--toolchain", "stable", "rustfmt")
    pip = calls[2]
    assert pip[:4] == ("/usr/bin/python3", "-m", "pip", "install") and pip[-1] == "ziglang"
    assert p.tools.has_pypi("ziglang")
    assert str(p.tools.pypi_dir("ziglang") / "ziglang") in p.tools.path_value({})
    assert not list((tmp_path / "tools" / "pypi").glob(".*.tmp"))  # staging renamed away


def test_a_failed_download_is_unavailable_with_the_tools_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def offline(argv: Any, **kwargs: Any) -> Completed:
        raise CommandFailed(tuple(argv), 1, "info: syncing channel\nerror: could not download")

    monkeypatch.setattr(installer, "run", offline)
    with pytest.raises(Unavailable) as info:
        provisioner(tmp_path).ensure([nd.toolchain("1.63")], "test(toolchain=msrv)")
    assert "Cannot provision rustup toolchain 1.63 for test(toolchain=msrv)" in info.value.message
    assert "(error: could not download)" in info.value.message
    assert "`rustup toolchain install 1.63 --profile minimal`" in (info.value.hint or "")


def test_macho_minimum_os_is_read_from_the_build_version() -> None:
    plain = macho(["/usr/lib/libSystem.B.dylib"])
    build_version = struct.pack("<IIIIII", 0x32, 24, 1, (11 << 16), (14 << 16), 0)
    header = struct.unpack_from("<IiiIIIII", plain)
    commands = plain[32:] + build_version
    data = (
        struct.pack(
            "<IiiIIIII", header[0], header[1], header[2], header[3], header[4] + 1,
            len(commands), header[6], header[7],
        )
        + commands
    )  # fmt: skip
    info = inspect_bytes(data)
    assert (info.format, info.arch, info.min_os) == ("macho", "aarch64", "11.0")
    assert inspect_bytes(plain).min_os is None


def test_wine_lacking_an_imported_dll_is_named(tmp_path: Path) -> None:
    dlls = tmp_path / "lib" / "x86_64-linux-gnu" / "wine" / "x86_64-windows"
    dlls.mkdir(parents=True)
    for name in ("kernel32.dll", "ntdll.dll", "bcrypt.dll"):
        (dlls / name).touch()
    wine = tmp_path / "bin" / "wine64"
    wine.parent.mkdir()
    wine.touch(mode=0o755)
    assert smoke.wine_dll_dirs(str(wine)) == [dlls]
    imports = ["KERNEL32.dll", "bcryptprimitives.dll", "api-ms-win-core-synch-l1-2-0.dll"]
    assert smoke.wine_lacks(imports, [dlls]) == ["bcryptprimitives.dll"]
    assert smoke.wine_lacks(imports, []) == []  # wine's layout unknown: nothing assumed
    runner = smoke.SmokeRunner(("wine64",), "under wine64", {"WINEPREFIX": "/p"})
    skip = smoke.cannot_run(runner, imports, "weft.exe", lambda name: str(wine))
    assert skip is not None
    assert skip.reason == "weft.exe imports bcryptprimitives.dll, which this wine does not have"
    qemu = smoke.SmokeRunner(("qemu-aarch64-static",), "under qemu")
    assert smoke.cannot_run(qemu, imports, "weft", lambda name: None) is None


def test_c_code_is_found_from_build_dependencies_on_cc_or_cmake() -> None:
    metadata = {
        "packages": [
            {"id": "ring 1", "name": "ring"},
            {"id": "cc 1", "name": "cc"},
            {"id": "app 1", "name": "app"},
            {"id": "serde 1", "name": "serde"},
        ],
        "resolve": {
            "nodes": [
                {"id": "ring 1", "deps": [{"pkg": "cc 1", "dep_kinds": [{"kind": "build"}]}]},
                {"id": "app 1", "deps": [{"pkg": "cc 1", "dep_kinds": [{"kind": None}]}]},
                {"id": "serde 1", "deps": []},
            ]
        },
    }
    assert cdeps.from_metadata(metadata) == ("ring (cc)",)
    assert cdeps.from_metadata({"packages": [], "resolve": None}) == ()
