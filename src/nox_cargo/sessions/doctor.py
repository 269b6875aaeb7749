"""`doctor`: the rows every stage declares, as one table."""

from __future__ import annotations

import argparse

from nox_cargo import doctor
from nox_cargo.console import get_console
from nox_cargo.project import Project
from nox_cargo.sessions.registry import registered_stages

MARK = {True: "ok", False: "missing", None: "info"}


def show(project: Project, args: argparse.Namespace, value: str = "") -> None:
    providers = [provider for stage in registered_stages() for provider in stage.doctor]
    rows = doctor.collect(project, providers)
    get_console().table(
        "nox-cargo doctor",
        ["area", "item", "status", "detail", "fix"],
        [(r.area, r.item, MARK[r.ok], r.detail, r.fix) for r in rows],
    )
