"""The drift check: do the workflow files say what the registry and the sessions say?

`plan` renders every generated block of every workflow file; `check` turns the differences into
a unified diff (empty when in sync); `write` rewrites the changed files atomically. Lines outside
the markers are never touched.

Adoption: with `create`, a required workflow that is absent is written from nox-cargo's template
(`templates/`, which references nothing but nox-cargo's own sessions); a file of that name that
has no nox-cargo block was not written by nox-cargo and is never overwritten.
"""

from __future__ import annotations

import difflib
import importlib.resources
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from nox_cargo.errors import NoxCargoError
from nox_cargo.fsutil import atomic_write_text
from nox_cargo.github import markers, matrix


class WorkflowMissing(NoxCargoError):
    """A workflow file, or a generated block it must contain, is not there."""


class NotGenerated(NoxCargoError):
    """A workflow file of a name nox-cargo writes exists, but nox-cargo did not write it."""


def template(name: str) -> str:
    """nox-cargo's workflow `name` with empty generated blocks."""
    return (
        importlib.resources.files("nox_cargo.github")
        .joinpath("templates", name)
        .read_text(encoding="utf-8")
    )


@dataclass(frozen=True)
class FileState:
    """A workflow file as it is and as it should be."""

    path: Path
    current: str
    expected: str

    @property
    def drifted(self) -> bool:
        return self.current != self.expected

    def diff(self, root: Path) -> str:
        name = _display(self.path, root)
        return "".join(
            difflib.unified_diff(
                self.current.splitlines(keepends=True),
                self.expected.splitlines(keepends=True),
                fromfile=f"{name} (on disk)",
                tofile=f"{name} (generated)",
            )
        )


def _display(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def workflow_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.y*ml") if p.suffix in (".yml", ".yaml"))


def plan(directory: Path, facts: matrix.Facts, create: bool = False) -> list[FileState]:
    """Every workflow file with its generated blocks re-rendered from `facts`; with `create`,
    the required files that are absent too (from the templates)."""
    render = partial(matrix.render, facts)
    states = []
    for required in matrix.WORKFLOW_BLOCKS:
        path = directory / required
        if path.is_file():
            continue
        if not create:
            raise WorkflowMissing(
                f"{path} is missing: nox-cargo's CI needs it.",
                "`nox -s workflows -- --write` creates it from nox-cargo's template "
                "(see docs/github-actions.md).",
            )
        text = markers.rewrite(template(required), path, render, matrix.blocks(facts))
        states.append(FileState(path, "", text))
    for path in workflow_files(directory):
        text = path.read_text(encoding="utf-8")
        names = {block.name for block in markers.find_blocks(text, path)}
        required_blocks = matrix.WORKFLOW_BLOCKS.get(path.name, ())
        if required_blocks and not names:
            raise NotGenerated(
                f"{path} exists, but nox-cargo did not write it (it has no nox-cargo generated "
                "block), so nox-cargo will neither check nor overwrite it.",
                f"rename it (e.g. to {path.stem}-old{path.suffix}) and run `nox -s workflows -- "
                "--write` to get nox-cargo's, then carry over what you need; or add the "
                f"generated blocks ({', '.join(required_blocks)}) to it by hand.",
            )
        for block in required_blocks:
            if block not in names:
                raise WorkflowMissing(
                    f"{path} has no generated block {block!r}.",
                    f"add `{markers.BEGIN}{block}` and `{markers.END}` where it belongs (see "
                    "nox-cargo's copy of the file), then run `nox -s workflows -- --write`.",
                )
        expected = markers.rewrite(text, path, render, matrix.blocks(facts))
        states.append(FileState(path, text, expected))
    return states


def diff(states: Iterable[FileState], root: Path) -> str:
    return "".join(state.diff(root) for state in states if state.drifted)


def write(states: Iterable[FileState]) -> list[Path]:
    """Rewrite the drifted files; returns them."""
    written = []
    for state in states:
        if state.drifted:
            atomic_write_text(state.path, state.expected)
            written.append(state.path)
    return written
