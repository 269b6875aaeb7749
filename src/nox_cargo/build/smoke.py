"""The smoke run of a freshly built binary: natively, under qemu-user, or under wine.

A foreign binary runs through `qemu-<arch>-static` (Linux triples of another architecture) or
`wine64`/`wine` (Windows triples) when they are installed and can work; otherwise the smoke run is
not run, with the reason recorded in the manifest, which is not a failure: the build itself
succeeded and its headers were checked. A run that exits non-zero is a failure.

Wine runs a PE only when it has every DLL the PE imports: Debian 12's wine 8.0 lacks
`bcryptprimitives.dll`, which binaries from rustc >= 1.78 import. The import table is read first
(`headers`), and a DLL wine does not ship turns the smoke run into "not run: wine lacks X".
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable, Sequence
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


def wine_dll_dirs(wine: str) -> list[Path]:
    """The directories of the PE DLLs a wine installation ships (wine >= 7 layout)."""
    prefix = Path(wine).resolve().parent.parent
    candidates = [
        prefix / "lib" / "x86_64-linux-gnu" / "wine" / "x86_64-windows",
        prefix / "lib" / "wine" / "x86_64-windows",
        prefix / "lib64" / "wine" / "x86_64-windows",
    ]
    return [c for c in candidates if c.is_dir()]


def wine_lacks(imports: Iterable[str], dll_dirs: Sequence[Path]) -> list[str]:
    """The imported DLLs none of wine's DLL directories has (nothing known: nothing lacking)."""
    if not dll_dirs:
        return []
    shipped = {p.name.lower() for d in dll_dirs for p in d.iterdir()}
    return [
        name
        for name in imports
        if name.lower() not in shipped
        and not name.lower().startswith(("api-ms-win-", "ext-ms-win-"))
    ]


def cannot_run(
    runner: SmokeRunner, imports: Sequence[str], binary: str, which: Callable[[str], str | None]
) -> SmokeSkip | None:
    """Why `runner` cannot start this binary although it is installed (wine missing a DLL)."""
    if "WINEPREFIX" not in runner.env:
        return None
    wine = which(runner.prefix[0]) or runner.prefix[0]
    lacking = wine_lacks(imports, wine_dll_dirs(wine))
    if not lacking:
        return None
    return SmokeSkip(
        f"{binary} imports {', '.join(lacking)}, which this wine does not have",
        "run it on a Windows runner (the target's `runner`), or install a wine that ships "
        f"{lacking[0]} (wine >= 9)",
    )
