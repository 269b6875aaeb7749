"""What the Docker engine here can do: reachable or not, BuildKit (buildx) or the legacy builder,
its native platform, and whether a foreign platform's binaries can run (qemu binfmt)."""

from __future__ import annotations

import platform as host_platform
from dataclasses import dataclass
from pathlib import Path

from nox_cargo.errors import NoxCargoError, Unavailable
from nox_cargo.process import run

INSTALL_HINT = "install Docker Engine (https://docs.docker.com/engine/install/) and start it"
BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")
QEMU_NAMES = {
    "arm64": "qemu-aarch64",
    "arm": "qemu-arm",
    "riscv64": "qemu-riscv64",
    "ppc64le": "qemu-ppc64le",
    "s390x": "qemu-s390x",
    "amd64": "qemu-x86_64",
    "386": "qemu-i386",
}
_MACHINE = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


@dataclass(frozen=True)
class Engine:
    server_version: str
    os: str
    arch: str
    buildx: bool

    @property
    def platform(self) -> str:
        return f"{self.os}/{self.arch}"


def probe() -> Engine:
    """The reachable engine, or Unavailable with the fix."""
    try:
        done = run(
            [
                "docker",
                "version",
                "--format",
                "{{.Server.Version}} {{.Server.Os}} {{.Server.Arch}}",
            ],
            capture=True,
            quiet=True,
            check=False,
        )
    except NoxCargoError:
        raise Unavailable("The docker CLI is not installed.", INSTALL_HINT) from None
    fields = done.stdout.split()
    if not done.ok or len(fields) != 3:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise Unavailable(
            "No Docker engine is reachable" + (f" ({detail[-1]})." if detail else "."),
            "start the Docker daemon (`sudo systemctl start docker`), or point DOCKER_HOST at one.",
        )
    buildx = run(["docker", "buildx", "version"], capture=True, quiet=True, check=False).ok
    return Engine(fields[0], fields[1], fields[2], buildx)


def can_run(engine: Engine, arch: str) -> tuple[bool, str]:
    """Whether a container of `arch` can run here; if not, why."""
    if arch == engine.arch:
        return True, ""
    qemu = QEMU_NAMES.get(arch)
    entry = BINFMT_DIR / qemu if qemu else None
    if entry is not None and entry.is_file():
        try:
            enabled = entry.read_text().splitlines()[0].strip() == "enabled"
        except (OSError, IndexError):
            enabled = False
        if enabled:
            return True, ""
    return False, (
        f"running a linux/{arch} container on this {engine.platform} engine needs a qemu binfmt "
        f"handler, and {entry or BINFMT_DIR} is not registered"
    )


def host_arch() -> str:
    machine = host_platform.machine().lower()
    return _MACHINE.get(machine, machine)
