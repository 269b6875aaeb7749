"""Reading a workflow file: YAML into plain data, with the quirks of YAML 1.1 undone.

PyYAML reads the key `on` as the boolean True (YAML 1.1); `triggers` finds it either way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nox_cargo.errors import NoxCargoError


class WorkflowError(NoxCargoError):
    """A workflow file cannot be read, or breaks a rule nox-cargo's workflows follow."""


def load(path: Path) -> dict[str, Any]:
    try:
        import yaml
    except ImportError:  # pragma: no cover - the `github` extra brings it
        raise WorkflowError(
            "Checking the workflows needs PyYAML, which is not installed.",
            "`pip install 'nox-cargo[github]'` (or `pip install pyyaml`).",
        ) from None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise WorkflowError(
            f"{path} is not valid YAML: {exc}.", f"fix the syntax of {path}."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkflowError(f"Cannot read {path}: {exc}.", f"check {path}.") from None
    if not isinstance(data, dict) or not isinstance(data.get("jobs"), dict):
        raise WorkflowError(f"{path} is not a workflow (no `jobs:` mapping).", f"check {path}.")
    return data


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    """The `on:` section as a mapping of event name -> settings."""
    raw = workflow["on"] if "on" in workflow else workflow.get(True)
    if isinstance(raw, str):
        return {raw: None}
    if isinstance(raw, list):
        return dict.fromkeys(map(str, raw))
    if isinstance(raw, dict):
        return {str(k): v for k, v in raw.items()}
    return {}


def jobs(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(k): v for k, v in workflow["jobs"].items() if isinstance(v, dict)}


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    raw = job.get("steps") or []
    return [s for s in raw if isinstance(s, dict)]
