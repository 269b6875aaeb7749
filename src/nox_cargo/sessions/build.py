"""`build(target=<id>)`: one session per target of the registry; `build` runs them all."""

from __future__ import annotations

import argparse

import nox

from nox_cargo.build import builder, targets
from nox_cargo.project import Project
from nox_cargo.sessions.runner import Define, define_matrix, parser, run_stage


def define_build(project: Project) -> None:
    registry = project.config.target_registry

    def make(target_id: str) -> Define:
        name = f"build(target={target_id})"
        p = parser(name, f"Release build of {target_id}: binaries and manifest in dist/.")
        p.add_argument(
            "--dry-run",
            action="store_true",
            help="print the strategy, commands and environment without running them",
        )

        def body(session: nox.Session) -> None:
            def stage(proj: Project, args: argparse.Namespace) -> object:
                return builder.build_target(proj, target_id, dry_run=args.dry_run)

            run_stage(session, name, stage, p, project.root)

        return body

    described = {
        t.id: f"{t.triple}, {'static' if targets.is_static(t) else 'dynamic'}" for t in registry
    }
    define_matrix(
        "build",
        "target",
        [t.id for t in registry],
        "Release binaries for every target of the registry",
        make,
        describe=lambda target_id: (
            f"Release build of {target_id} ({described[target_id]}): binaries + manifest in "
            f"dist/{target_id}/."
        ),
    )
