"""`build(target=<id>)`: one target of the registry built, checked and staged in dist/<id>/."""

from __future__ import annotations

import argparse

from nox_cargo.build import targets
from nox_cargo.config import Config
from nox_cargo.project import Project


def describe(config: Config, target_id: str) -> str:
    target = targets.lookup(config, target_id)
    linkage = "static" if targets.is_static(target) else "dynamic"
    return (
        f"Release build of {target_id} ({target.triple}, {linkage}): binaries + manifest in "
        f"dist/{target_id}/."
    )


def run(project: Project, args: argparse.Namespace, target_id: str) -> object:
    from nox_cargo.build import builder

    return builder.build_target(project, target_id, dry_run=args.dry_run)
