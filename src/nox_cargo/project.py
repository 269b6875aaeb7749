"""The project a nox run works on: its config, its Cargo workspace, and where things go."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from nox_cargo import config as cfg
from nox_cargo.errors import ConfigError
from nox_cargo.workspace import Workspace, load_workspace, report_dir_of

_CI_FALSE = {"", "0", "false", "no"}


def in_ci(environ: Mapping[str, str]) -> bool:
    """`CI` set to anything but a false-ish value: every CI service sets it."""
    return environ.get("CI", "").strip().lower() not in _CI_FALSE


@functools.cache
def _workspace_at(path: Path) -> Workspace:
    """One `cargo metadata` per workspace per process: every session of a nox run shares it."""
    return load_workspace(path)


def _mtime(root: Path) -> tuple[int, int, int]:
    """The config file's identity: a project loaded again after an edit reads the new config."""
    try:
        stat = (root / "pyproject.toml").stat()
    except OSError:
        return (0, 0, 0)
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


# One load per (root, overrides, strict, environment) per process: nox runs every session of a
# call in one process, and each session asks for the same project.
_LOADED: dict[tuple[object, ...], Project] = {}


@dataclass(frozen=True)
class Project:
    """Config plus workspace. Cheap to build: cargo runs when the workspace is first asked for
    (once per workspace per process)."""

    root: Path
    config: cfg.Config
    source: cfg.ConfigSource | None
    environ: Mapping[str, str]
    strict_flag: bool = False

    @classmethod
    def load(
        cls,
        root: Path,
        environ: Mapping[str, str] | None = None,
        overrides: Sequence[str] = (),
        strict: bool = False,
    ) -> Project:
        env = dict(os.environ if environ is None else environ)
        root = root.resolve()
        memo = (root, tuple(overrides), strict, frozenset(env.items()), _mtime(root))
        if memo not in _LOADED:
            _LOADED[memo] = cls._load(root, env, overrides, strict)
        return _LOADED[memo]

    @classmethod
    def _load(
        cls, root: Path, env: dict[str, str], overrides: Sequence[str], strict: bool
    ) -> Project:
        source = cfg.pyproject_source(root)
        if source is None:
            # No pyproject table: the Rust convention, [workspace.metadata.nox-cargo], in the
            # workspace at the project root, as cargo metadata reports it.
            base = cfg.load(None, env, overrides)
            workspace = _workspace_at((root / base.workspace).resolve())
            source = cfg.cargo_source(workspace.manifest, workspace.metadata)
        config = cfg.load(source, env, overrides)
        return cls(root, config, source, env, strict)

    @property
    def base_dir(self) -> Path:
        return self.source.base_dir if self.source else self.root

    @property
    def workspace_path(self) -> Path:
        return (self.base_dir / self.config.workspace).resolve()

    @property
    def workspace(self) -> Workspace:
        workspace = _workspace_at(self.workspace_path)
        if (
            self.source is not None
            and "nox-cargo" in workspace.metadata
            and not self.source.description.startswith(str(workspace.manifest))
        ):
            raise ConfigError(
                f"nox-cargo is configured twice: in {self.source.description} and in "
                f"{workspace.manifest} [{cfg.CARGO_TABLE}].",
                "keep one of the two tables.",
            )
        return workspace

    @property
    def strict(self) -> bool:
        """Skips become failures: `--strict`, `strict = true`, or running in CI."""
        return self.strict_flag or self.config.strict or in_ci(self.environ)

    @property
    def dist_dir(self) -> Path:
        return (self.base_dir / self.config.dist_dir).resolve()

    @property
    def target_dir(self) -> Path:
        """The workspace's target dir: cargo's answer, recorded between runs while what decides
        it is unchanged (see nox_cargo.cache.target_dir), so a cached session starts no cargo."""
        from nox_cargo.cache.target_dir import target_dir

        return target_dir(
            self.workspace_path,
            self.environ,
            lambda: self.workspace.target_dir,
            # The config file too (Cargo.toml is already in): asking cargo also checks, through
            # `workspace`, that the config is not given in both files.
            also=[self.root / "pyproject.toml"],
        )

    @property
    def report_dir(self) -> Path:
        return report_dir_of(self.target_dir)

    @property
    def locked(self) -> list[str]:
        """`--locked` when the workspace has a Cargo.lock: CI must never rewrite it."""
        return ["--locked"] if self.workspace.lockfile.is_file() else []
