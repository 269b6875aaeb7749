"""`bench`: measure the host release binary, compare with a base, gate regressions."""

from __future__ import annotations

import argparse
from pathlib import Path

import nox

from nox_cargo.bench import doctor_rows  # noqa: F401 - registers the doctor rows
from nox_cargo.bench.runner import bench_target, run_bench
from nox_cargo.errors import NoxCargoError
from nox_cargo.project import Project
from nox_cargo.sessions.runner import add_session, parser, run_stage


def _path(project: Project, value: Path | None) -> Path | None:
    return project.root / value if value is not None else None


def _body(project: Project, args: argparse.Namespace) -> object:
    """Flags win over the config keys (`-c bench.base=REF`, `NOX_CARGO_BENCH_BASE`...).

    The keys are the form that works through `requires=`: nox hands a session's posargs to its
    prerequisites too, and `build(target=…)` accepts `-c`, not `--base`.
    """
    config = project.config.bench
    return run_bench(
        project,
        base_ref=args.base or config.base or None,
        baseline_path=_path(project, args.baseline or config.baseline),
        save_path=_path(project, args.save or config.save),
    )


def define_bench(project: Project) -> None:
    p = parser(
        "bench",
        "Benchmark the host release binary (startup, workloads, throughput, peak RSS, sizes); "
        "with a base, fail on a regression. Through nox, give the base as `-c bench.base=REF` "
        "(or bench.baseline / bench.save): nox passes these arguments to the prerequisite "
        "build too, which accepts -c but not the flags below.",
    )
    p.add_argument(
        "--base",
        metavar="REF",
        help="git ref to build in a worktree and measure interleaved with the head (reliable)",
    )
    p.add_argument(
        "--baseline",
        type=Path,
        metavar="FILE",
        help="compare with a result saved by --save (cross-run: less reliable than --base)",
    )
    p.add_argument("--save", type=Path, metavar="FILE", help="save this result as a baseline")
    try:
        target_id: str | None = bench_target(project.config)
    except NoxCargoError:
        target_id = None  # the session reports the config problem when it runs
    ids = {t.id for t in project.config.target_registry}
    requires = [f"build(target={target_id})"] if target_id in ids else None

    def bench(session: nox.Session) -> None:
        """Benchmark the release binary; `-- --base REF` gates it against REF, interleaved."""
        run_stage(session, "bench", _body, p, project.root)

    add_session(bench, "bench", requires=requires)
