"""Checks of a built image: size budget, filesystem (no shell, nothing but the binary),
non-root user, the smoke run under hard restrictions, and hadolint on the Dockerfile."""

from __future__ import annotations

import shlex
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from nox_cargo.docker.context import BINARY_IN_CONTEXT
from nox_cargo.process import run

MIB = 1024 * 1024
USER = "65532:65532"
SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "busybox", "toybox"})
# What the runtime itself puts in every container's filesystem (mount points and stubs).
RUNTIME_STUBS = frozenset(
    {
        ".dockerenv",
        "dev",
        "dev/console",
        "dev/pts",
        "dev/shm",
        "etc",
        "etc/hostname",
        "etc/hosts",
        "etc/mtab",
        "etc/resolv.conf",
        "proc",
        "sys",
    }
)
SMOKE_FLAGS = ("--network", "none", "--read-only", "--cap-drop", "ALL", "--user", USER)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def size_check(image_size: int, binary_size: int, budget: int) -> Check:
    limit = min(budget, binary_size + MIB)
    return Check(
        "size",
        image_size <= limit,
        f"{image_size} B; budget {budget} B (`docker.size-budget`), "
        f"binary {binary_size} B + 1 MiB = {binary_size + MIB} B",
    )


def user_check(user: str) -> Check:
    return Check("user", user == USER, f"USER {user or '(root)'}; expected {USER}")


def filesystem_names(image_id: str, scratch: Path) -> list[str]:
    """Every path of the image's filesystem, via `docker create` + `docker export -o`."""
    created = run(["docker", "create", image_id], capture=True, quiet=True)
    container = created.stdout.strip()
    exported = scratch / f"export-{container[:12]}.tar"
    try:
        run(["docker", "export", "--output", str(exported), container], capture=True)
        with tarfile.open(exported, mode="r:") as tar:
            return sorted(str(PurePosixPath(m.name.rstrip("/"))) for m in tar.getmembers())
    finally:
        run(["docker", "rm", container], capture=True, quiet=True, check=False)
        exported.unlink(missing_ok=True)


def filesystem_check(names: list[str]) -> Check:
    shells = [n for n in names if PurePosixPath(n).name in SHELLS]
    extra = [n for n in names if n not in RUNTIME_STUBS and n != BINARY_IN_CONTEXT]
    missing = BINARY_IN_CONTEXT not in names
    problems = []
    if shells:
        problems.append(f"shell(s) present: {', '.join(shells)}")
    if extra:
        problems.append(f"unexpected paths: {', '.join(extra[:10])}")
    if missing:
        problems.append(f"/{BINARY_IN_CONTEXT} is missing")
    return Check(
        "filesystem",
        not problems,
        "; ".join(problems) or f"/{BINARY_IN_CONTEXT} only (plus the runtime's mount stubs)",
    )


def smoke(image_id: str, platform: str, args: tuple[str, ...], version: str) -> Check:
    argv = ["docker", "run", "--rm", "--platform", platform, *SMOKE_FLAGS, image_id, *args]
    done = run(argv, capture=True, check=False)
    output = (done.stdout + done.stderr).strip()
    ok = done.ok and version in done.stdout
    return Check(
        "smoke",
        ok,
        f"`{shlex.join(args)}` exit {done.returncode}: {output.splitlines()[0] if output else ''}"
        + ("" if version in done.stdout else f" (expected {version} on stdout)"),
    )


def hadolint(dockerfile: Path) -> Check:
    done = run(["hadolint", "--no-color", str(dockerfile)], capture=True, check=False)
    text = (done.stdout + done.stderr).strip()
    return Check("hadolint", done.ok, text or "clean")


def labels_check(actual: Mapping[str, str], expected: Mapping[str, str]) -> Check:
    wrong = [k for k, v in expected.items() if actual.get(k) != v]
    return Check(
        "labels",
        not wrong,
        "; ".join(f"{k}={actual.get(k)!r}, expected {expected[k]!r}" for k in wrong)
        or ", ".join(f"{k.rsplit('.', 1)[1]}={v}" for k, v in expected.items()),
    )


_ELF_MACHINES = {62: "amd64", 183: "arm64", 3: "386", 40: "arm", 243: "riscv64", 22: "s390x"}


def elf_arch(header: bytes) -> str | None:
    """The Docker arch name of an ELF header's e_machine, or None when unknown / not ELF."""
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    raw = header[18:20]
    machine = int.from_bytes(raw, "little") if header[5] == 1 else int.from_bytes(raw, "big")
    return _ELF_MACHINES.get(machine)
