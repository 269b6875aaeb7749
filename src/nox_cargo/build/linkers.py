"""The C linker a triple needs when a toolchain on this machine cross-compiles to it.

rustc links through a C compiler driver. For the host triple that is plain `cc`; for another
glibc or MinGW triple it is that triple's cross gcc, which Debian/Ubuntu ship as a package. musl
triples of the host's architecture link with the self-contained CRT objects and need nothing.
A musl triple of another architecture links with the toolchain's own rust-lld and musl's
self-contained CRT when its cross gcc is absent (see strategies). A missing linker is found here,
before cargo runs, with the package that provides it.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass

from nox_cargo.build.targets import parse_triple
from nox_cargo.config import Target
from nox_cargo.errors import ToolchainError


@dataclass(frozen=True)
class Linker:
    """A linker command and where it comes from."""

    command: str
    package: str  # the Debian/Ubuntu package providing it ("" when unknown)
    configured: bool = False  # from the target's `linker` key
    self_contained: bool = False  # rust-lld with the target's self-contained CRT objects

    def describe(self) -> str:
        if self.self_contained:
            return f"rust-lld ({self.command}) and musl's self-contained CRT"
        return self.command

    def install_hint(self) -> str:
        if self.package:
            return f"`apt-get install {shlex.quote(self.package)}` (provides {self.command})"
        return (
            f"install `{shlex.quote(self.command)}` or set the target's `linker` key to one you "
            "have"
        )


# triple → (linker, Debian package) for cross-compiling from a Linux host.
KNOWN_CROSS_LINKERS: dict[str, tuple[str, str]] = {
    "aarch64-unknown-linux-gnu": ("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu"),
    "x86_64-unknown-linux-gnu": ("x86_64-linux-gnu-gcc", "gcc-x86-64-linux-gnu"),
    "armv7-unknown-linux-gnueabihf": ("arm-linux-gnueabihf-gcc", "gcc-arm-linux-gnueabihf"),
    "arm-unknown-linux-gnueabihf": ("arm-linux-gnueabihf-gcc", "gcc-arm-linux-gnueabihf"),
    "i686-unknown-linux-gnu": ("i686-linux-gnu-gcc", "gcc-i686-linux-gnu"),
    "riscv64gc-unknown-linux-gnu": ("riscv64-linux-gnu-gcc", "gcc-riscv64-linux-gnu"),
    "x86_64-pc-windows-gnu": ("x86_64-w64-mingw32-gcc", "gcc-mingw-w64-x86-64"),
    "i686-pc-windows-gnu": ("i686-w64-mingw32-gcc", "gcc-mingw-w64-i686"),
    # musl of another architecture: the glibc cross gcc links the self-contained CRT fine.
    "aarch64-unknown-linux-musl": ("aarch64-linux-gnu-gcc", "gcc-aarch64-linux-gnu"),
    "x86_64-unknown-linux-musl": ("x86_64-linux-gnu-gcc", "gcc-x86-64-linux-gnu"),
    "armv7-unknown-linux-musleabihf": ("arm-linux-gnueabihf-gcc", "gcc-arm-linux-gnueabihf"),
}


def required_linker(target: Target, host: str) -> Linker | None:
    """The linker cargo must be told about to build `target` on `host`, or None (cc / built in)."""
    if target.linker:
        package = next(
            (pkg for cmd, pkg in KNOWN_CROSS_LINKERS.values() if cmd == target.linker), ""
        )
        return Linker(target.linker, package, configured=True)
    if target.triple == host:
        return None
    t, h = parse_triple(target.triple), parse_triple(host)
    if t.binary_format == "wasm":
        return None  # rust-lld
    if t.is_musl and t.arch == h.arch and t.os == h.os:
        return None  # self-contained CRT objects, host cc
    if t.os == h.os and t.arch == h.arch and t.env == h.env:
        return None
    if t.os == h.os == "linux" and t.arch == h.arch:
        return None  # same arch, other libc (gnu ↔ musl): host cc links it
    known = KNOWN_CROSS_LINKERS.get(target.triple)
    if known is None:
        guess = f"{t.arch}-linux-gnu-gcc" if t.is_linux else f"{target.triple}-gcc"
        return Linker(guess, "")
    return Linker(*known)


def check(linker: Linker, triple: str, which: Callable[[str], str | None]) -> str:
    """The linker's full path; a missing one is an error naming the package that provides it."""
    found = which(linker.command)
    if found is None:
        origin = "configured by the target's `linker` key" if linker.configured else "needed"
        raise ToolchainError(
            f"The linker `{shlex.quote(linker.command)}` ({origin} to link {triple} here) is not "
            "installed.",
            linker.install_hint() + ".",
        )
    return found


def env_var(triple: str) -> str:
    """`CARGO_TARGET_<TRIPLE>_LINKER`."""
    return "CARGO_TARGET_" + triple.upper().replace("-", "_").replace(".", "_") + "_LINKER"


def c_compiler_names(triple: str, host: str) -> list[str]:
    """The C compilers cc-rs looks for when it builds C code for a musl `triple` on `host`."""
    t, h = parse_triple(triple), parse_triple(host)
    names = [f"{t.arch}-linux-musl-gcc"]
    if t.arch == h.arch and h.is_linux:
        names.append("musl-gcc")
    return names
