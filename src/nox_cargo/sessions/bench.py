"""`bench`: measure the host release binary, compare with a base, gate regressions."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from nox_cargo.bench.target import bench_target
from nox_cargo.config import Config
from nox_cargo.errors import NoxCargoError
from nox_cargo.project import Project


def _path(project: Project, value: Path | None) -> Path | None:
    return project.root / value if value is not None else None


def run_bench(project: Project, **options: Any) -> object:
    """The bench runner, imported when a bench runs (not when nox defines the sessions)."""
    from nox_cargo.bench.runner import run_bench as run_it

    return run_it(project, **options)


def run(project: Project, args: argparse.Namespace, value: str = "") -> object:
    """Flags win over the config keys (`-c bench.base=REF`, `NOX_CARGO_BENCH_BASE`...)."""
    config = project.config.bench
    return run_bench(
        project,
        base_ref=args.base or config.base or None,
        baseline_path=_path(project, args.baseline or config.baseline),
        save_path=_path(project, args.save or config.save),
        compare=tuple(args.compare or ()),
        history_path=_path(project, args.history or config.history),
    )


def requires(config: Config, value: str) -> list[tuple[str, str]]:
    """The build of the benchmarked target; none when the config cannot say which (the session
    then reports the config problem itself)."""
    try:
        target_id = bench_target(config)
    except NoxCargoError:
        return []
    ids = {t.id for t in config.target_registry}
    return [("build", target_id)] if target_id in ids else []
