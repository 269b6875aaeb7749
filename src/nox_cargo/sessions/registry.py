"""The nox sessions of a stage table: one per parameter value, plus the parent that runs them all.

nox's `requires=` can only be templated by python version, so a per-value dependency (package
needs *its* build) needs one session per value; the parent is what nox builds for a parametrized
session anyway: a no-op that requires every child.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Sequence

import nox

from nox_cargo.project import Project
from nox_cargo.sessions.runner import Cached, parser_for, run_stage
from nox_cargo.stage import Option, Stage, check_unique, find

Define = Callable[[nox.Session], None]

_registered: list[Stage] = []


def registered_stages() -> tuple[Stage, ...]:
    """The stages of this nox run, in order (the `doctor` and `workflows` bodies read them)."""
    return tuple(_registered)


def register_stages(project: Project, stages: Sequence[Stage]) -> list[str]:
    """Define every session of `stages`; returns plain `nox`'s sessions, in order."""
    check_unique(stages)
    _registered[:] = stages
    for stage in stages:
        _define(project, stage, stages)
    if find(stages, "build") is not None:
        from nox_cargo.sessions.build import define_card_alias

        define_card_alias(project, sys.argv[1:], os.environ.get("NOXSESSION", ""))
    return [stage.name for stage in stages if stage.in_pipeline]


def _requires(project: Project, stage: Stage, value: str, stages: Sequence[Stage]) -> list[str]:
    names = []
    for name, needed in stage.requires(project.config, value):
        other = find(stages, name)
        if other is None:
            raise ValueError(f"stage {stage.name} requires {name}, which is not declared")
        names.append(other.session(needed))
    return names


def _define(project: Project, stage: Stage, stages: Sequence[Stage]) -> None:
    config = project.config
    others = [option for s in stages if s is not stage for option in s.options]
    children = []
    for value in stage.values(config):
        name = stage.session(value)
        body = _body(project, stage, value, others)
        _add(body, name, _requires(project, stage, value, stages), stage.in_pipeline)
        children.append(name)
    if stage.param is not None:

        def parent(session: nox.Session) -> None:
            pass

        parent.__doc__ = stage.parent_description(config)
        _add(parent, stage.name, children, stage.in_pipeline)


def _body(project: Project, stage: Stage, value: str, others: Sequence[Option]) -> Define:
    """The session function of one value: parse its posargs, run the stage, report."""
    name = stage.session(value)
    always_run = tuple(option.dest for option in stage.options if not option.cacheable)

    def body(session: nox.Session) -> None:
        run_stage(
            session,
            name,
            lambda proj, args: stage.run(proj, args, value),
            parser_for(stage, project.config, value),  # built when the session runs, not at -l
            project.root,
            others,
            cached=Cached(stage.inputs, value, always_run) if stage.inputs else None,
        )

    body.__doc__ = stage.description(project.config, value)
    body.__name__ = re.sub(r"\W+", "_", name).strip("_")
    return body


def _add(func: Define, name: str, requires: list[str], default: bool) -> None:
    """Register a cargo-driving session: no virtualenv, tools run as installed."""
    nox.session(name=name, venv_backend="none", requires=requires or None, default=default)(func)
