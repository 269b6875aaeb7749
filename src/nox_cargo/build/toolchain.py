"""Which Rust toolchains this machine has: rustup's, `rustc` on PATH, the system's.

A toolchain knows its rustc and cargo, version, host, sysroot and the targets whose std is
installed (`<sysroot>/lib/rustlib/<triple>/lib`). The build stage picks strategies on top of this.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from nox_cargo.errors import NoxCargoError, ToolchainError
from nox_cargo.process import run
from nox_cargo.workspace import Version

# Targets renamed upstream: the old name is what an older rustc calls the same std.
TARGET_ALIASES: dict[str, tuple[str, Version]] = {
    # new name: (old name, first version with the new name)
    "wasm32-wasip1": ("wasm32-wasi", Version(1, 78)),
}


@dataclass(frozen=True)
class Toolchain:
    name: str  # e.g. "rustup:stable-x86_64-unknown-linux-gnu" or "system:/usr/bin/rustc"
    source: str  # "rustup" | "path" | "system"
    rustc: Path
    cargo: Path | None
    version: Version
    version_line: str
    host: str
    sysroot: Path
    targets: frozenset[str] = field(default_factory=frozenset)
    rustup_name: str | None = None

    def triple_name(self, triple: str) -> str:
        """The name this rustc uses for `triple` (wasm32-wasip1 is wasm32-wasi before 1.78)."""
        alias = TARGET_ALIASES.get(triple)
        if alias and self.version < alias[1]:
            return alias[0]
        return triple

    def has_std(self, triple: str) -> bool:
        return self.triple_name(triple) in self.targets

    def cargo_invocation(self) -> tuple[list[str], dict[str, str]]:
        """argv prefix and environment that run *this* toolchain's cargo and rustc."""
        if self.rustup_name is not None:
            return ["cargo", f"+{self.rustup_name}"], {}
        if self.cargo is None:
            raise ToolchainError(
                f"The toolchain {self.name} has rustc but no cargo beside it.",
                "install its cargo (Debian: `apt-get install cargo`).",
            )
        env = {"RUSTC": str(self.rustc)}
        rustdoc = self.rustc.with_name("rustdoc")
        if rustdoc.exists():
            env["RUSTDOC"] = str(rustdoc)
        return [str(self.cargo)], env

    def describe(self) -> str:
        return f"{self.version_line} ({self.name})"


def installed_targets(sysroot: Path) -> frozenset[str]:
    rustlib = sysroot / "lib" / "rustlib"
    if not rustlib.is_dir():
        return frozenset()
    return frozenset(p.name for p in rustlib.iterdir() if (p / "lib").is_dir())


def parse_version_verbose(text: str) -> tuple[str, Version, str]:
    """(first line, version, host) from `rustc -vV`."""
    fields = {}
    for line in text.splitlines()[1:]:
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    first = text.splitlines()[0] if text.strip() else ""
    try:
        return first, Version.parse(fields["release"]), fields["host"]
    except (KeyError, ValueError):
        raise ToolchainError(
            f"Cannot read `rustc -vV` output: {text[:200]!r}.",
            "check that this rustc runs: `rustc -vV`.",
        ) from None


def probe(rustc: Path, name: str, source: str, rustup_name: str | None = None) -> Toolchain:
    """Ask one rustc what it is (two quiet calls)."""
    info = run([rustc, "-vV"], capture=True, quiet=True)
    line, version, host = parse_version_verbose(info.stdout)
    sysroot = Path(run([rustc, "--print", "sysroot"], capture=True, quiet=True).stdout.strip())
    cargo = rustc.with_name("cargo")
    return Toolchain(
        name=name,
        source=source,
        rustc=rustc,
        cargo=cargo if cargo.exists() else None,
        version=version,
        version_line=line,
        host=host,
        sysroot=sysroot,
        targets=installed_targets(sysroot),
        rustup_name=rustup_name,
    )


def _rustup_home(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("RUSTUP_HOME") or Path.home() / ".rustup")


def _is_rustup_proxy(path: Path, environ: Mapping[str, str]) -> bool:
    cargo_home = Path(environ.get("CARGO_HOME") or Path.home() / ".cargo")
    try:
        return (
            path.resolve().parent == (cargo_home / "bin").resolve()
            or path.resolve().name == "rustup"
        )
    except OSError:
        return False


def candidate_rustcs(environ: Mapping[str, str]) -> Iterable[tuple[Path, str, str, str | None]]:
    """(rustc, name, source, rustup toolchain) of every toolchain worth probing."""
    toolchains = _rustup_home(environ) / "toolchains"
    if toolchains.is_dir():
        for directory in sorted(toolchains.iterdir()):
            rustc = directory / "bin" / "rustc"
            if rustc.is_file():
                yield rustc, f"rustup:{directory.name}", "rustup", directory.name
    on_path = shutil.which("rustc", path=environ.get("PATH"))
    if on_path and not _is_rustup_proxy(Path(on_path), environ):
        yield Path(on_path), f"path:{on_path}", "path", None
    for system in ("/usr/bin/rustc", "/usr/local/bin/rustc"):
        path = Path(system)
        if path.is_file() and os.access(path, os.X_OK) and not _is_rustup_proxy(path, environ):
            yield path, f"system:{system}", "system", None


# discover()'s answers in this process, by what they depend on (see _discovery_key).
_DISCOVERED: dict[tuple[object, ...], list[Toolchain]] = {}


def _discovery_key(
    candidates: list[tuple[Path, str, str, str | None]],
) -> tuple[object, ...]:
    """Each candidate rustc's identity and its rustlib dir's mtime (a `rustup target add` adds
    a directory there): a nox run probes each toolchain once, and again only after a change."""
    parts: list[object] = []
    for rustc, name, _, _ in candidates:
        stamps = []
        for path in (rustc, rustc.parent.parent / "lib" / "rustlib"):
            try:
                stat = path.stat()
            except OSError:
                continue
            stamps.append((stat.st_mtime_ns, stat.st_ino))
        parts.append((str(rustc), name, tuple(stamps)))
    return tuple(parts)


def discover(environ: Mapping[str, str] | None = None) -> list[Toolchain]:
    """Every distinct toolchain on this machine (by sysroot), newest first (probed once per
    process while nothing changes)."""
    env = os.environ if environ is None else environ
    candidates = list(candidate_rustcs(env))
    key = _discovery_key(candidates)
    if key not in _DISCOVERED:
        _DISCOVERED[key] = _probe_all(candidates)
    return list(_DISCOVERED[key])


def _probe_all(candidates: list[tuple[Path, str, str, str | None]]) -> list[Toolchain]:
    found: dict[Path, Toolchain] = {}
    for rustc, name, source, rustup_name in candidates:
        try:
            toolchain = probe(rustc, name, source, rustup_name)
        except NoxCargoError:
            continue  # a broken toolchain is not a candidate; doctor shows what does work
        found.setdefault(toolchain.sysroot.resolve(), toolchain)
    return sorted(found.values(), key=lambda t: (t.version, t.source == "rustup"), reverse=True)


def default_toolchain(
    toolchains: list[Toolchain], environ: Mapping[str, str] | None = None
) -> Toolchain | None:
    """The toolchain plain `cargo` runs: rustup's default, else rustc on PATH."""
    env = os.environ if environ is None else environ
    on_path = shutil.which("rustc", path=env.get("PATH"))
    if on_path is None:
        return None
    if not _is_rustup_proxy(Path(on_path), env):
        exact = next((t for t in toolchains if t.rustc == Path(on_path)), None)
        if exact is not None:
            return exact
    # rustup's proxy, or a wrapper around a toolchain discovered under another name (discovery
    # keeps one toolchain per sysroot): the toolchain whose sysroot this rustc reports.
    try:
        done = run([on_path, "--print", "sysroot"], capture=True, quiet=True)
    except NoxCargoError:
        return None
    sysroot = Path(done.stdout.strip()).resolve()
    return next((t for t in toolchains if t.sysroot.resolve() == sysroot), None)


def select_msrv(
    toolchains: list[Toolchain], rust_version: Version | None, requested: str
) -> Toolchain:
    """The toolchain for `test(toolchain=msrv)`.

    `requested` (config `test.msrv-toolchain`) names a rustup toolchain or a rustc path.
    Otherwise: the oldest toolchain that still satisfies the workspace's rust-version, and
    only if it is at that exact minor version (testing the MSRV on 1.95 proves nothing).
    """
    if rust_version is None:
        raise _no_msrv(
            "the workspace declares no `rust-version`",
            "add `rust-version` to the packages' Cargo.toml",
        )
    if requested:
        for toolchain in toolchains:
            if requested in (toolchain.rustup_name, str(toolchain.rustc), toolchain.name):
                return _check_not_older(toolchain, rust_version)
        raise ToolchainError(
            f"The MSRV toolchain `{requested}` (config `test.msrv-toolchain`) was not found; "
            f"found: {', '.join(t.name for t in toolchains) or 'none'}.",
            f"install it (`rustup toolchain install {requested}`) or correct the key.",
        )
    matching = [
        t
        for t in toolchains
        if (t.version.major, t.version.minor) == (rust_version.major, rust_version.minor)
    ]
    if not matching:
        found = ", ".join(f"{t.version} ({t.name})" for t in toolchains) or "none"
        wanted = f"{rust_version.major}.{rust_version.minor}"
        raise _no_msrv(
            f"no toolchain matches the workspace's rust-version {wanted} (found: {found})",
            f"`rustup toolchain install {wanted}`, or on Debian 12 "
            "`apt-get install rustc cargo` for 1.63",
        )
    return matching[0]


def _check_not_older(toolchain: Toolchain, rust_version: Version) -> Toolchain:
    if toolchain.version < rust_version:
        raise ToolchainError(
            f"{toolchain.describe()} is older than the workspace's rust-version {rust_version}.",
            f"use a toolchain >= {rust_version}.",
        )
    return toolchain


def _no_msrv(reason: str, fix: str) -> NoxCargoError:
    from nox_cargo.errors import Unavailable

    return Unavailable(f"Cannot test on the MSRV: {reason}.", fix + ".")
