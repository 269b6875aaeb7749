"""`cargo metadata` → the workspace facts the pipeline needs. Cargo.toml is never parsed by hand."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nox_cargo.errors import CommandFailed, ToolchainError, WorkspaceError
from nox_cargo.process import run


@dataclass(frozen=True, order=True)
class Version:
    """A Rust version such as 1.63 or 1.78.0 (pre-release tags are ignored for ordering)."""

    major: int
    minor: int
    patch: int = 0

    @classmethod
    def parse(cls, text: str) -> Version:
        core = text.strip().split("-", 1)[0].split("+", 1)[0]
        parts = core.split(".")
        if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
            raise ValueError(f"{text!r} is not a version")
        numbers = [int(p) for p in parts] + [0] * (3 - len(parts))
        return cls(numbers[0], numbers[1], numbers[2])

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    manifest_path: Path
    rust_version: Version | None
    binaries: tuple[str, ...]
    license: str | None
    repository: str | None
    # The crate types of the package's library target (`lib`, `rlib`, `cdylib`, ...), if any.
    lib_kinds: tuple[str, ...] = ()
    lib_name: str = ""  # the library target's name (`-` already `_`), if any
    benches: tuple[str, ...] = ()  # `[[bench]]` targets (cargo's kind "bench")
    dev_dependencies: tuple[str, ...] = ()  # package names of the dev-dependencies

    @property
    def is_cdylib(self) -> bool:
        return "cdylib" in self.lib_kinds


def report_dir_of(target_dir: Path) -> Path:
    """Reports, caches and helper binaries of nox-cargo live here, under the target dir."""
    return target_dir / "nox-cargo"


@dataclass(frozen=True)
class Workspace:
    """The workspace as cargo sees it."""

    root: Path
    target_dir: Path
    members: tuple[Package, ...]
    metadata: Mapping[str, Any]

    @property
    def manifest(self) -> Path:
        return self.root / "Cargo.toml"

    @property
    def lockfile(self) -> Path:
        return self.root / "Cargo.lock"

    @property
    def report_dir(self) -> Path:
        return report_dir_of(self.target_dir)

    @property
    def rust_version(self) -> Version | None:
        """The workspace's MSRV: the highest rust-version any member declares."""
        versions = [p.rust_version for p in self.members if p.rust_version]
        return max(versions) if versions else None

    def binaries(self) -> dict[str, Package]:
        """Every bin target of the workspace and the package it belongs to."""
        return {binary: pkg for pkg in self.members for binary in pkg.binaries}

    def package(self, name: str) -> Package:
        for pkg in self.members:
            if pkg.name == name:
                return pkg
        raise WorkspaceError(
            f"Package `{name}` is not a member of the workspace at {self.root}.",
            f"use one of: {', '.join(p.name for p in self.members)}.",
        )

    def release_binaries(self, configured: tuple[str, ...]) -> dict[str, Package]:
        """The configured binaries (all bins when none are configured), checked against cargo."""
        available = self.binaries()
        if not available:
            raise WorkspaceError(
                f"The workspace at {self.root} has no bin target, so there is nothing to build "
                "or release (a library-only workspace).",
                "add a binary (`src/main.rs` or a `[[bin]]` table) to a member, or run only the "
                "lint and test stages (`nox -s lint test`).",
            )
        if not configured:
            return available
        unknown = [b for b in configured if b not in available]
        if unknown:
            raise WorkspaceError(
                f"Binary `{unknown[0]}` (config key `binaries`) is not a bin target of the "
                f"workspace at {self.root}.",
                f"use one of: {', '.join(sorted(available)) or '(the workspace has no binaries)'}.",
            )
        return {b: available[b] for b in configured}

    def version_of(self, binary: str) -> str:
        return self.binaries()[binary].version


_LIB_KINDS = {"lib", "rlib", "dylib", "cdylib", "staticlib", "proc-macro"}


def _library(targets: list[dict[str, Any]]) -> dict[str, Any]:
    for target in targets:
        kinds = tuple(k for k in target.get("kind", []) if k in _LIB_KINDS)
        if kinds:
            return {"lib_kinds": kinds, "lib_name": str(target["name"]).replace("-", "_")}
    return {}


def parse_metadata(data: Mapping[str, Any]) -> Workspace:
    """Build a Workspace from `cargo metadata --format-version 1` output."""
    try:
        member_ids = set(data["workspace_members"])
        members = []
        for pkg in data["packages"]:
            if pkg["id"] not in member_ids:
                continue
            rust_version = pkg.get("rust_version")
            members.append(
                Package(
                    name=pkg["name"],
                    version=pkg["version"],
                    manifest_path=Path(pkg["manifest_path"]),
                    rust_version=Version.parse(rust_version) if rust_version else None,
                    binaries=tuple(t["name"] for t in pkg["targets"] if "bin" in t.get("kind", [])),
                    license=pkg.get("license"),
                    repository=pkg.get("repository"),
                    **_library(pkg["targets"]),
                    benches=tuple(
                        t["name"] for t in pkg["targets"] if "bench" in t.get("kind", [])
                    ),
                    dev_dependencies=tuple(
                        sorted(
                            {
                                str(d["name"])
                                for d in pkg.get("dependencies") or ()
                                if d.get("kind") == "dev"
                            }
                        )
                    ),
                )
            )
        return Workspace(
            root=Path(data["workspace_root"]),
            target_dir=Path(data["target_directory"]),
            members=tuple(sorted(members, key=lambda p: p.name)),
            metadata=data.get("metadata") or {},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise WorkspaceError(
            f"`cargo metadata` returned data nox-cargo cannot read ({exc!r}).",
            "check that `cargo metadata --format-version 1 --no-deps` works in the workspace.",
        ) from None


def load_workspace(path: Path, cargo: str = "cargo") -> Workspace:
    """Run `cargo metadata` in `path` (a directory holding the workspace's Cargo.toml)."""
    if not path.exists():
        raise WorkspaceError(
            f"The workspace path {path} does not exist.",
            "set `workspace` in the config to the directory of your Cargo workspace.",
        )
    if not path.is_dir() or not (path / "Cargo.toml").is_file():
        raise WorkspaceError(
            f"{path} is not a Cargo workspace: it has no Cargo.toml.",
            "point `workspace` at the directory that holds the workspace's Cargo.toml.",
        )
    try:
        done = run(
            [cargo, "metadata", "--format-version", "1", "--no-deps", "--offline"],
            cwd=path,
            capture=True,
            quiet=True,
        )
    except CommandFailed as exc:
        raise WorkspaceError(
            f"`cargo metadata` failed in {path}:\n{exc.tail}",
            "fix the Cargo.toml error above; `cargo metadata --no-deps` must succeed.",
        ) from None
    except ToolchainError:
        raise ToolchainError(
            "cargo is not installed or not on PATH.",
            "install Rust with rustup (https://rustup.rs) and open a new shell.",
        ) from None
    try:
        data = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise WorkspaceError(
            f"`cargo metadata` printed something that is not JSON ({exc.msg}).",
            "run it by hand in the workspace and look at its output.",
        ) from None
    workspace = parse_metadata(data)
    if workspace.root.resolve() != path.resolve():
        raise WorkspaceError(
            f"{path} is a package inside the workspace at {workspace.root}, not its root.",
            f"set `workspace` to {workspace.root}.",
        )
    return workspace
