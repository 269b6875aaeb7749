"""The `workflows` session: keep .github/workflows in step with the registry, the sessions and
the security rules.

    nox -s workflows                 # = -- --check: diff of the generated blocks, rules, zizmor
    nox -s workflows -- --write      # regenerate the blocks in place, then check the rest
    nox -s workflows -- --matrix build   # the `include` list of one matrix, as JSON
    nox -s workflows -- --actionlint     # also run actionlint (CI's workflows job does)
    nox -s workflows -- --rehearse [JOB] # run the Linux jobs here as a runner would
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import nox

from nox_cargo.console import get_console
from nox_cargo.errors import NoxCargoError
from nox_cargo.github import audit, drift, invocations, matrix, rules, runners
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


def label_uses(known: matrix.Facts, directory: Path) -> list[runners.LabelUse]:
    """Every runner label the registry and the workflow files configure, with where it is."""
    uses = [runners.LabelUse(t.runner, f"target `{t.id}`") for t in known.targets]
    for path in drift.workflow_files(directory):
        for job_id, job in wy.jobs(wy.load(path)).items():
            where = f"{path.name}: job `{job_id}`"
            for label in runners.literal_labels(job.get("runs-on")):
                uses.append(runners.LabelUse(label, where))
            runs_on = job.get("runs-on")
            if isinstance(runs_on, str) and "${{" in runs_on:
                for combo in invocations.matrix_combinations(job):
                    label = invocations.expand_templates(runs_on, combo)
                    if "${{" not in label:
                        uses.append(runners.LabelUse(label, where))
    return uses


def check_runners(known: matrix.Facts, directory: Path, today: dt.date | None = None) -> None:
    """Fail on a retired runner label (naming the replacement); warn on one retiring soon."""
    day = today or dt.datetime.now(dt.UTC).date()
    for warning in runners.check(label_uses(known, directory), day):
        get_console().warn(warning)


def run_workflows(project: Project, args: argparse.Namespace, value: str = "") -> None:
    console = get_console()
    sessions = tuple(nox.registry.get())
    directory = project.root / WORKFLOWS_DIR
    known = facts(project, sessions)
    if args.matrix:
        print(matrix.matrix_json(known, args.matrix), flush=True)
        return
    if args.rehearse is not None:
        from nox_cargo.github import rehearsal

        if args.event not in ("push", "pull_request"):
            raise NoxCargoError(
                f"A rehearsal pretends to be a push or a pull request, not {args.event!r}.",
                "use `--event push` (the default) or `--event pull_request`.",
            )
        rehearsal.rehearse(project, directory, args.rehearse, event=args.event)
        return
    check_runners(known, directory)
    states = drift.plan(directory, known, create=args.write)
    if args.write:
        created = {s.path for s in states if not s.current}
        for path in drift.write(states):
            verb = "created" if path in created else "regenerated"
            console.info(f"{verb} {path.relative_to(project.root)}")
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
