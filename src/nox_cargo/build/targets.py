"""The target registry: target id ↔ triple, and what a triple implies.

The registry itself is `Config.target_registry` (the five defaults, replaced or extended by
`[[tool.nox-cargo.targets]]`). This module answers the questions every stage asks about an entry:
which target an id names, the OS/arch/env of its triple, the file name of a binary built for it,
the binary format, and whether it links statically by default.
"""

from __future__ import annotations

import platform
from collections.abc import Sequence
from dataclasses import dataclass

from nox_cargo.config import Config, Target
from nox_cargo.errors import ConfigError

# OS names as they appear in triples, mapped to the OS a runner must have.
_OS_WORDS = {
    "linux": "linux",
    "darwin": "macos",
    "macos": "macos",
    "ios": "ios",
    "windows": "windows",
    "freebsd": "freebsd",
    "netbsd": "netbsd",
    "openbsd": "openbsd",
    "android": "android",
    "androideabi": "android",
    "wasi": "wasi",
    "wasip1": "wasi",
    "wasip2": "wasi",
    "none": "none",
}
_ENV_WORDS = ("musl", "gnu", "msvc", "gnueabihf", "gnueabi", "musleabihf", "musleabi", "gnux32")


@dataclass(frozen=True)
class Triple:
    """A target triple split into the parts the pipeline cares about."""

    triple: str
    arch: str  # x86_64, aarch64, armv7, i686, wasm32...
    vendor: str  # unknown, pc, apple... ("" when the triple has none)
    os: str  # linux, macos, windows, wasi, ... ("unknown" for wasm32-unknown-unknown)
    env: str  # musl, gnu, msvc, ... ("" when the triple has none)

    @property
    def is_windows(self) -> bool:
        return self.os == "windows"

    @property
    def is_macos(self) -> bool:
        return self.os == "macos"

    @property
    def is_linux(self) -> bool:
        return self.os == "linux"

    @property
    def is_musl(self) -> bool:
        return self.env.startswith("musl")

    @property
    def is_msvc(self) -> bool:
        return self.env == "msvc"

    @property
    def binary_format(self) -> str:
        """The executable format: elf, pe, macho or wasm."""
        if self.arch.startswith("wasm"):
            return "wasm"
        if self.is_windows:
            return "pe"
        if self.os in ("macos", "ios"):
            return "macho"
        return "elf"

    def binary_name(self, name: str) -> str:
        """The file name of bin target `name` built for this triple (`.exe` on Windows)."""
        if self.is_windows:
            return f"{name}.exe"
        if self.binary_format == "wasm":
            return f"{name}.wasm"
        return name

    @property
    def static_by_default(self) -> bool:
        """musl and MSVC link the C runtime statically by default (`+crt-static`); gnu does not."""
        return self.is_musl or self.is_msvc


def parse_triple(triple: str) -> Triple:
    """Split `triple`; unknown OS words are kept as they are (the pipeline treats them as ELF)."""
    parts = triple.split("-")
    arch = parts[0]
    rest = parts[1:]
    if not rest:
        return Triple(triple, arch, "", "unknown", "")
    env = ""
    if len(rest) >= 2 and (rest[-1] in _ENV_WORDS or rest[-1].startswith(("musl", "gnu"))):
        env = rest.pop()
    os_word = next((w for w in reversed(rest) if w in _OS_WORDS), None)
    if os_word is None:
        # wasm32-unknown-unknown, x86_64-unknown-none...: the last word is the OS.
        vendor = rest[0] if len(rest) > 1 else ""
        return Triple(triple, arch, vendor, rest[-1], env)
    index = rest.index(os_word)
    vendor = rest[0] if index > 0 else ""
    return Triple(triple, arch, vendor, _OS_WORDS[os_word], env)


def is_static(target: Target) -> bool:
    """Whether `target` links statically: its `static` key, else the triple's default."""
    if target.static is not None:
        return target.static
    return parse_triple(target.triple).static_by_default


def valid_ids(registry: Sequence[Target]) -> list[str]:
    return [t.id for t in registry]


def lookup(config: Config, target_id: str) -> Target:
    """The registry entry `target_id`, or an error listing the valid ids."""
    registry = config.target_registry
    for target in registry:
        if target.id == target_id:
            return target
    ids = ", ".join(valid_ids(registry)) or "(none: the registry is empty)"
    raise ConfigError(
        f"Unknown target id `{target_id}`; the target registry has: {ids}.",
        "use one of those ids, or add the target (id, triple, runner) as a `targets` entry of "
        "the nox-cargo config: `[[tool.nox-cargo.targets]]` in pyproject.toml or "
        "`[[workspace.metadata.nox-cargo.targets]]` in Cargo.toml.",
    )


def host_can_run(host: str, triple: str) -> bool:
    """Whether a binary for `triple` runs directly on a machine whose rustc host is `host`."""
    h, t = parse_triple(host), parse_triple(triple)
    if t.binary_format == "wasm":
        return False
    if h.os != t.os:
        return False
    if h.arch == t.arch:
        return True
    # x86_64 Linux/Windows runs i686 binaries; Apple silicon runs x86_64 under Rosetta.
    return (h.arch, t.arch) in {("x86_64", "i686"), ("x86_64", "i586")} or (
        h.is_macos and (h.arch, t.arch) == ("aarch64", "x86_64")
    )


def host_triple_guess() -> str:
    """This machine's triple from the platform module, for when no rustc can be asked."""
    arch = platform.machine().lower().replace("amd64", "x86_64").replace("arm64", "aarch64")
    system = platform.system().lower()
    if system == "darwin":
        return f"{arch}-apple-darwin"
    if system == "windows":
        return f"{arch}-pc-windows-msvc"
    return f"{arch}-unknown-linux-gnu"
