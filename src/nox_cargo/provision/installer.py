"""Check which needs are present, and install the missing ones, printing each step and its time.

rustup installs toolchains, targets and components into rustup's own home (that is what rustup
is for); PyPI tools go into `<tools-dir>/pypi/<project>` (`pip install --target`, staged in a
temporary directory and renamed into place, so a killed install leaves nothing half-written)
and crates.io tools into `<tools-dir>/cargo` (`cargo install --root`).

Policy `auto` installs; `never` raises `Unavailable` naming the exact commands, so a stage skips
locally and fails under CI.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nox_cargo.console import get_console
from nox_cargo.errors import CommandFailed, Unavailable
from nox_cargo.process import run
from nox_cargo.provision.needs import Need, commands, unique
from nox_cargo.provision.tooldir import ToolDir


def rustup_home(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("RUSTUP_HOME") or Path(environ.get("HOME") or Path.home()) / ".rustup")


def toolchain_dir(home: Path, name: str, host: str) -> Path | None:
    """rustup's directory of toolchain `name` (`1.63` is `1.63-<host>` on disk), if installed."""
    for candidate in (name, f"{name}-{host}"):
        directory = home / "toolchains" / candidate
        if (directory / "bin").is_dir():
            return directory
    return None


def has_component(directory: Path, component: str, host: str) -> bool:
    """Whether rustup's component list of a toolchain has `component` (clippy, rust-src...)."""
    listing = directory / "lib" / "rustlib" / "components"
    try:
        lines = listing.read_text(encoding="utf-8").split()
    except OSError:
        return False
    accepted = {component, f"{component}-preview"}
    accepted |= {f"{a}-{host}" for a in list(accepted)}
    return any(line in accepted for line in lines)


@dataclass(frozen=True)
class Provisioner:
    """Presence checks and installs for one run (unit tests give it fake paths, no processes)."""

    tools: ToolDir
    environ: Mapping[str, str]
    host: str
    policy: str = "auto"
    python: str = sys.executable
    which: Callable[[str], str | None] = field(default=shutil.which)

    def present(self, need: Need) -> bool:
        if need.kind in ("pypi", "crate"):
            return self.tools.provides(need, self.environ)
        home = rustup_home(self.environ)
        if need.kind == "rustup-toolchain":
            return toolchain_dir(home, need.name, self.host) is not None
        directory = toolchain_dir(home, need.toolchain, self.host)
        if directory is None:
            return False
        if need.kind == "rustup-target":
            return (directory / "lib" / "rustlib" / need.name / "lib").is_dir()
        return has_component(directory, need.name, self.host)

    def missing(self, needs: Sequence[Need]) -> list[Need]:
        return [n for n in unique(list(needs)) if not self.present(n)]

    def ensure(self, needs: Sequence[Need], for_what: str) -> list[Need]:
        """Install what `for_what` needs and is missing; returns what was installed."""
        missing = self.missing(needs)
        if not missing:
            return []
        listed = ", ".join(n.describe() for n in missing)
        if self.policy == "never":
            raise Unavailable(
                f'{for_what} needs {listed}, and provisioning is off (`provision = "never"`).',
                f"{commands(missing)}, or run `nox -s provision -- --provision`, or drop "
                '`--no-provision` / set `provision = "auto"`.',
            )
        console = get_console()
        installed: list[Need] = []
        for batch in _batches(missing):
            if all(self.present(n) for n in batch):
                continue  # brought in by an earlier install (cargo-zigbuild pulls in ziglang)
            first = batch[0]
            what = _describe(batch)
            if first.is_rustup and self.which("rustup") is None:
                raise Unavailable(
                    f"{for_what} needs {what}, and rustup is not installed.",
                    "install rustup (https://rustup.rs), or give the config's `toolchain` a "
                    "toolchain that has it.",
                )
            console.info(f"provision: {what} (for {for_what})")
            started = time.monotonic()
            try:
                self._install(batch)
            except CommandFailed as exc:
                raise Unavailable(
                    f"Cannot provision {what} for {for_what}: "
                    f"`{shlex.join(exc.argv)}` failed ({_first_error(exc.tail)}).",
                    f"check the network (rustup, PyPI and crates.io must be reachable), then "
                    f"rerun; or install it by hand: {commands(batch)}.",
                ) from None
            console.success(f"provisioned {what} in {time.monotonic() - started:.1f}s")
            installed += batch
        return installed

    def _install(self, batch: Sequence[Need]) -> None:
        need = batch[0]
        if need.kind == "rustup-toolchain":
            argv = ["rustup", "toolchain", "install", need.name, "--profile", "minimal"]
            run([*argv, "--no-self-update"], capture=True)
        elif need.kind in ("rustup-target", "rustup-component"):
            verb = "target" if need.kind == "rustup-target" else "component"
            names = [n.name for n in batch]
            run(["rustup", verb, "add", "--toolchain", need.toolchain, *names], capture=True)
        elif need.kind == "pypi":
            self._pip(need)
        else:
            argv = ["cargo", "install", "--locked", "--root", str(self.tools.cargo_root)]
            if need.version:
                argv += ["--version", need.version]
            run([*argv, need.name], capture=True)

    def _pip(self, need: Need) -> None:
        final = self.tools.pypi_dir(need.name)
        staging = final.with_name(f".{final.name}.{os.getpid()}.tmp")
        shutil.rmtree(staging, ignore_errors=True)
        staging.parent.mkdir(parents=True, exist_ok=True)
        try:
            run(
                [
                    self.python,
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--no-input",
                    "--no-warn-script-location",
                    "--target",
                    str(staging),
                    f"{need.name}{need.version}",
                ],
                capture=True,
                env={"PIP_ROOT_USER_ACTION": "ignore"},
            )
            if not staging.is_dir():
                raise CommandFailed((self.python, "-m", "pip"), 1, f"pip left no {staging}")
            try:
                staging.replace(final)
            except OSError:
                if not self.tools.has_pypi(need.name):  # not a concurrent install that won
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _batches(needs: Sequence[Need]) -> list[list[Need]]:
    """One rustup call per toolchain for its targets (and one for its components): a rustup
    call costs a channel sync, so five targets cost one, not five."""
    batches: list[list[Need]] = []
    for need in needs:
        previous = batches[-1][0] if batches else None
        if (
            previous is not None
            and need.kind in ("rustup-target", "rustup-component")
            and (previous.kind, previous.toolchain) == (need.kind, need.toolchain)
        ):
            batches[-1].append(need)
        else:
            batches.append([need])
    return batches


def _describe(batch: Sequence[Need]) -> str:
    if len(batch) == 1:
        return batch[0].describe()
    first = batch[0]
    kind = "std" if first.kind == "rustup-target" else "rustup components"
    names = ", ".join(n.name for n in batch)
    return (
        f"the {kind} for {names} (toolchain {first.toolchain})"
        if kind == "std"
        else (f"{kind} {names} of toolchain {first.toolchain}")
    )


def _first_error(tail: str) -> str:
    lines = [ln.strip() for ln in tail.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.lower().startswith("error")]
    return (errors or lines or ["no output"])[0 if errors else -1]
