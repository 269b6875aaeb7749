"""The smoke run of a freshly built binary: natively, under qemu-user, or under wine.

A foreign binary runs through `qemu-<arch>-static` (Linux triples of another architecture) or
`wine64`/`wine` (Windows triples) when they are installed; otherwise the smoke run is skipped with
the reason, which is not a failure: the build itself succeeded. A run that exits non-zero is.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nox_cargo.build.targets import host_can_run, parse_triple
from nox_cargo.console import get_console
from nox_cargo.errors import NoxCargoError
from nox_cargo.process import run

# Rust arch → qemu-user's name for it.
QEMU_ARCH = {
    "x86_64": "x86_64",
    "aarch64": "aarch64",
    "armv7": "arm",
    "arm": "arm",
    "i686": "i386",
    "i586": "i386",
    "riscv64gc": "riscv64",
    "powerpc64le": "ppc64le",
    "s390x": "s390x",
}


@dataclass(frozen=True)
class SmokeRunner:
    """How to start a binary of the triple here."""

    prefix: tuple[str, ...]
    how: str
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SmokeSkip:
    reason: str
    fix: str


def runner_for(
    triple: str, host: str, which: Callable[[str], str | None], report_dir: Path
) -> SmokeRunner | SmokeSkip:
    """Native when the host runs the triple, else an emulator that is installed, else a skip."""
    if host_can_run(host, triple):
        return SmokeRunner((), "natively")
    t, h = parse_triple(triple), parse_triple(host)
    if t.binary_format == "wasm":
        return SmokeSkip("WebAssembly binaries are run by the wasm stage", "")
    if t.is_linux and h.is_linux:
        qemu_arch = QEMU_ARCH.get(t.arch)
        if qemu_arch is None:
            return SmokeSkip(f"qemu-user has no emulator for {t.arch}", "")
        for name in (f"qemu-{qemu_arch}-static", f"qemu-{qemu_arch}"):
            if which(name):
                return SmokeRunner((name,), f"under {name}")
        return SmokeSkip(
            f"{triple} is foreign here and qemu-{qemu_arch}-static is not installed",
            "`apt-get install qemu-user-static`",
        )
    if t.is_windows and h.is_linux and t.arch in ("x86_64", "i686"):
        for name in ("wine64", "wine"):
            if which(name):
                env = {
                    "WINEPREFIX": str(report_dir / "wine"),
                    "WINEDEBUG": "-all",
                    # No Mono/Gecko installer prompts when the prefix is created.
                    "WINEDLLOVERRIDES": "mscoree,mshtml=",
                }
                return SmokeRunner((name,), f"under {name}", env)
        return SmokeSkip(
            f"{triple} is foreign here and wine is not installed", "`apt-get install wine64`"
        )
    return SmokeSkip(f"this {h.os} {h.arch} machine cannot run {triple} binaries", "")


def shown_command(prefix: Sequence[str], binary: Path, args: Sequence[str]) -> str:
    """The smoke run as a shell can take it back: every word quoted by `shlex.join`."""
    return shlex.join([*prefix, str(binary), *args])


def smoke_run(binary: Path, runner: SmokeRunner, args: Sequence[str], cwd: Path) -> str:
    """Run `binary args` and return its first output line; non-zero exit is an error."""
    if "WINEPREFIX" in runner.env:
        Path(runner.env["WINEPREFIX"]).mkdir(parents=True, exist_ok=True)
        get_console().info("wine: the first start in a new prefix takes a while")
    done = run([*runner.prefix, binary, *args], cwd=cwd, env=runner.env, capture=True, check=False)
    output = (done.stdout.strip() or done.stderr.strip()).splitlines()
    if not done.ok:
        shown = "\n".join((done.stdout + done.stderr).strip().splitlines()[-20:])
        raise NoxCargoError(
            f"The smoke run `{shown_command(runner.prefix, binary, args)}` exited with "
            f"{done.returncode}:\n{shown}",
            "the binary builds but does not start; run it by hand to see why, or change "
            "`build.smoke-args`.",
        )
    return output[0] if output else ""
