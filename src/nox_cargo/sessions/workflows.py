"""The `workflows` session: keep .github/workflows in step with the registry, the sessions and
the security rules.

    nox -s workflows                 # = -- --check: diff of the generated blocks, rules, zizmor
    nox -s workflows -- --write      # regenerate the blocks in place, then check the rest
    nox -s workflows -- --matrix build   # the `include` list of one matrix, as JSON
    nox -s workflows -- --actionlint     # also run actionlint (CI's workflows job does)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import nox

from nox_cargo.console import get_console
from nox_cargo.errors import NoxCargoError
from nox_cargo.github import audit, drift, invocations, matrix, rules
from nox_cargo.github import workflow_yaml as wy
from nox_cargo.project import Project
from nox_cargo.sessions.registry import registered_stages

WORKFLOWS_DIR = Path(".github") / "workflows"


class WorkflowDrift(NoxCargoError):
    """The generated blocks of the workflows differ from what the config and sessions say."""


def facts(project: Project, sessions: tuple[str, ...]) -> matrix.Facts:
    version = project.workspace.rust_version
    msrv = f"{version.major}.{version.minor}" if version else None
    return matrix.Facts.from_config(
        project.config,
        sessions,
        project.root,
        project.workspace_path,
        msrv,
        registered_stages() or None,
    )


def validate(directory: Path, sessions: tuple[str, ...]) -> int:
    """Rules and session names of every workflow file; returns how many `nox -s` were checked."""
    problems: list[str] = []
    checked = 0
    for path in drift.workflow_files(directory):
        workflow = wy.load(path)
        problems += rules.pins(path, path.read_text(encoding="utf-8"))
        problems += rules.structure(path, workflow)
        found = invocations.collect(path, workflow)
        checked += len(found)
        problems += invocations.unknown(found, sessions)
    if problems:
        raise wy.WorkflowError(
            f"The workflows in {directory} break {len(problems)} rule(s):\n"
            + "\n".join(f"  - {p}" for p in problems),
            "fix each line; docs/github-actions.md explains the rules.",
        )
    return checked


def run_workflows(project: Project, args: argparse.Namespace, value: str = "") -> None:
    console = get_console()
    sessions = tuple(nox.registry.get())
    directory = project.root / WORKFLOWS_DIR
    known = facts(project, sessions)
    if args.matrix:
        print(matrix.matrix_json(known, args.matrix), flush=True)
        return
    states = drift.plan(directory, known)
    if args.write:
        for path in drift.write(states):
            console.info(f"regenerated {path.relative_to(project.root)}")
    else:
        difference = drift.diff(states, project.root)
        if difference:
            raise WorkflowDrift(
                "The workflows no longer match the target registry and the sessions:\n"
                + difference.rstrip("\n"),
                "run `nox -s workflows -- --write` and commit the result.",
            )
    checked = validate(directory, sessions)
    console.success(
        f"{len(states)} workflow files match the registry; {checked} `nox -s` calls name "
        "real sessions"
    )
    files = drift.workflow_files(directory)
    console.success(f"zizmor --offline: {audit.zizmor(files, project.environ, project.root)}")
    if args.actionlint:
        audit.actionlint(files, project.environ, project.root)
        console.success("actionlint: no findings")
