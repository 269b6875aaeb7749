"""Which target `bench` measures: read when the sessions are defined, so it imports little."""

from __future__ import annotations

from nox_cargo.build.targets import host_triple_guess
from nox_cargo.config import Config
from nox_cargo.errors import ConfigError


def bench_target(config: Config, host: str | None = None) -> str:
    """`bench.target`, else the first registry target whose triple is the host triple."""
    if config.bench.target:
        return config.bench.target
    host = host or host_triple_guess()
    for target in config.target_registry:
        if target.triple == host:
            return target.id
    raise ConfigError(
        f"No target of the registry builds for this host ({host}), so `bench` does not know "
        "which build to measure.",
        f'set `bench.target` to a target id, or add a `targets` entry with triple = "{host}" '
        "(`[[tool.nox-cargo.targets]]` in pyproject.toml or "
        "`[[workspace.metadata.nox-cargo.targets]]` in Cargo.toml).",
    )
