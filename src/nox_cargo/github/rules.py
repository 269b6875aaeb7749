"""The rules nox-cargo's workflows follow by construction, checked on every `workflows` run.

zizmor audits the same files for the general classes of mistakes; these rules are narrower and
stricter: every action pinned to a full commit SHA with its version in a comment, no expression
inside a `run:` script, no `pull_request_target`, no default token permissions, no persisted
checkout credentials, no caches in a release.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from nox_cargo.github import workflow_yaml as wy

_USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>[^\s#]+)\s*(?:#\s*(?P<comment>.*))?$")
_PINNED = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$")
_VERSION_COMMENT = re.compile(r"^v\d+(\.\d+)*\b")
CACHE_ACTIONS = ("actions/cache", "Swatinem/rust-cache")


def pins(path: Path, text: str) -> list[str]:
    """Every `uses:` is `owner/repo@<40 hex> # vX.Y.Z` (local `./` actions excepted)."""
    problems = []
    for number, line in enumerate(text.splitlines(), 1):
        match = _USES.match(line)
        if match is None:
            continue
        ref = match["ref"].strip("'\"")
        if ref.startswith("./"):
            continue
        if not _PINNED.match(ref):
            problems.append(
                f"{path.name}:{number}: `{ref}` is not pinned to a full 40-hex commit SHA "
                "(tags and branches can be moved)."
            )
        elif not _VERSION_COMMENT.match(match["comment"] or ""):
            problems.append(
                f"{path.name}:{number}: `{ref}` has no version comment (`# v4.2.2`), so nobody "
                "can tell which release it is."
            )
    return problems


def structure(path: Path, workflow: dict[str, Any]) -> list[str]:
    """Triggers, permissions, checkout credentials, scripts and caches."""
    problems = []
    name = path.name
    if "pull_request_target" in wy.triggers(workflow):
        problems.append(
            f"{name}: `pull_request_target` runs with the base repository's secrets on code a "
            "fork controls; use `pull_request` plus a `workflow_run` follow-up."
        )
    if workflow.get("permissions") != {}:
        problems.append(
            f"{name}: top-level `permissions:` must be `{{}}`; grant each job what it needs."
        )
    is_release = any(t in wy.triggers(workflow) for t in ("release", "push")) and _tag_only(
        workflow
    )
    for job_id, job in wy.jobs(workflow).items():
        if "permissions" not in job:
            problems.append(f"{name}: job `{job_id}` has no `permissions:` of its own.")
        for index, step in enumerate(wy.steps(job)):
            label = f"{name}: job `{job_id}`, step `{step.get('name') or index + 1}`"
            script = step.get("run")
            if isinstance(script, str) and "${{" in script:
                problems.append(
                    f"{label}: `${{{{ … }}}}` inside `run:` is pasted into the script before the "
                    "shell sees it (template injection); pass the value through `env:`."
                )
            uses = str(step.get("uses") or "")
            if uses.startswith("actions/checkout@"):
                with_ = step.get("with") or {}
                if not isinstance(with_, dict) or with_.get("persist-credentials") is not False:
                    problems.append(f"{label}: checkout needs `persist-credentials: false`.")
            if is_release and uses.startswith(CACHE_ACTIONS):
                problems.append(
                    f"{label}: a release job restores a cache; a poisoned cache would ship."
                )
            if is_release and uses.startswith("actions/setup-python@"):
                with_ = step.get("with") or {}
                if isinstance(with_, dict) and with_.get("cache"):
                    problems.append(f"{label}: setup-python caches in a release job.")
    return problems


def _tag_only(workflow: dict[str, Any]) -> bool:
    """A workflow that publishes: one a tag (or a release) triggers, whatever else also does
    (the release chain also runs on pull requests and main, without publishing)."""
    on = wy.triggers(workflow)
    if "release" in on:
        return True
    push = on.get("push")
    return isinstance(push, dict) and "tags" in push
