"""`build(target=<id>)`: one target of the registry built, checked and staged in dist/<id>/."""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence

import nox

from nox_cargo.build import targets
from nox_cargo.config import DEFAULT_TARGETS, Config
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


# -- the card's name for the release matrix ---------------------------------------------------

CARD_MATRIX = "build-5"


def define_card_alias(project: Project, argv: Sequence[str], noxsession: str) -> list[str]:
    """`build-5`, and `build-5(target=<id>)` for the five default targets when asked for.

    The card that defines this project writes the build command as
    `nox -s "build-5(target=aarch64-musl)"`. Each such session is an alias: it requires
    `build(target=<id>)` and does nothing else, so `build(target=…)` stays the one canonical
    session. `nox -l` lists only the `build-5` line; the five children are registered when the
    command line (or NOXSESSION) names `build-5`, which is all nox needs to run them.
    """
    defaults = {t.id for t in DEFAULT_TARGETS}
    five = [t.id for t in project.config.target_registry if t.id in defaults]
    if not five:
        return []
    asked = any(CARD_MATRIX in word for word in [*argv, noxsession])
    children = [f"{CARD_MATRIX}(target={target_id})" for target_id in five] if asked else []
    for target_id, child in zip(five, children, strict=False):
        _session(
            child,
            f"The card's name for build(target={target_id}).",
            [f"build(target={target_id})"],
        )
    _session(
        CARD_MATRIX,
        f"The card's five-target release matrix: `{CARD_MATRIX}(target=<id>)` runs "
        f"`build(target=<id>)` ({', '.join(five)}).",
        children or [f"build(target={target_id})" for target_id in five],
    )
    return children


def _session(name: str, doc: str, requires: list[str]) -> None:
    def alias(session: nox.Session) -> None:
        pass

    alias.__doc__ = doc
    alias.__name__ = re.sub(r"\W+", "_", name).strip("_")
    nox.session(name=name, venv_backend="none", requires=requires, default=False)(alias)
