"""nox-cargo: the CI/CD pipeline of a Rust Cargo workspace as nox sessions."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from nox_cargo.errors import NoxCargoError

if TYPE_CHECKING:
    from nox_cargo.stage import Stage

__version__ = "0.1.0"

__all__ = ["__version__", "register"]


def register(root: Path | str | None = None, stages: Sequence[Stage] | None = None) -> list[str]:
    """Define the pipeline's nox sessions from the config found at `root` (default: cwd).

    Call it from a noxfile. `stages` defaults to `nox_cargo.pipeline.STAGES`; a project adds a
    stage of its own with `register(stages=(*STAGES, Stage(...)))`. It sets
    `nox.options.sessions` to the pipeline, so plain `nox` runs every stage in order, and returns
    that list. A broken config stops nox with the error and its fix (exit code 2), before any
    session runs.
    """
    import nox

    from nox_cargo.console import get_console
    from nox_cargo.pipeline import STAGES
    from nox_cargo.project import Project
    from nox_cargo.sessions.registry import register_stages

    try:
        project = Project.load(Path(root) if root is not None else Path.cwd())
        project.config.check_references()
        pipeline = register_stages(project, STAGES if stages is None else stages)
    except NoxCargoError as exc:
        get_console().error(exc.message, exc.hint)
        sys.exit(exc.exit_code)
    except Exception as exc:
        from nox_cargo.sessions.runner import bug_report, debug_requested

        report = bug_report(exc, debug_requested())
        get_console().error(report.message, report.hint)
        sys.exit(70)  # EX_SOFTWARE
    nox.options.sessions = pipeline
    return pipeline
