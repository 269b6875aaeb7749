"""The stage table: sessions, `nox -l` lines, `-- --help`, plain nox's order, doctor and the CI
matrices are all derived from the declarations; one more declaration is one more stage."""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Iterator

import nox
import pytest

from nox_cargo import doctor
from nox_cargo.github import matrix
from nox_cargo.pipeline import STAGES
from nox_cargo.project import Project
from nox_cargo.sessions.registry import register_stages, registered_stages
from nox_cargo.sessions.runner import parser_for
from nox_cargo.stage import CIMatrix, Option, Param, Stage
from tests.conftest import REPO


def toy_rows(probes: doctor.Probes) -> Iterable[doctor.Row]:
    yield doctor.Row("toy", "spinning top", True, "spins")


def spin(project: Project, args: argparse.Namespace, value: str) -> None:
    pass


TOY = Stage(
    name="toy",
    summary="Spin a toy on every colour",
    param=Param("colour", lambda config: ("red", "blue")),
    options=(Option(("--fast",), "spin faster"),),
    run=spin,
    requires=lambda config, colour: [("build", config.target_registry[0].id)],
    doctor=(toy_rows,),
    ci=CIMatrix(lambda facts, colour: {"runner": f"{colour}-runner"}),
)


@pytest.fixture
def nox_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, object]]:
    """A fresh nox registry and session selection for one test."""
    fresh: dict[str, object] = {}
    monkeypatch.setattr(nox.registry, "_REGISTRY", fresh)
    monkeypatch.setattr(nox.options, "sessions", None)
    yield fresh


@pytest.fixture
def repo_project() -> Project:
    return Project.load(REPO, environ={})


def test_one_declaration_adds_a_stage_everywhere(
    nox_registry: dict[str, object], repo_project: Project
) -> None:
    stages = (*STAGES[:2], TOY, *STAGES[2:])
    pipeline = register_stages(repo_project, stages)
    # plain `nox` (nox_cargo.register sets nox.options.sessions to this list)
    assert pipeline[:3] == ["lint", "test", "toy"]
    # nox -l: the sessions, their descriptions and requirements
    sessions = nox.registry.get()
    assert list(sessions)[list(sessions).index("test") + 1 :][:3] == [
        "toy(colour=red)",
        "toy(colour=blue)",
        "toy",
    ]
    first = repo_project.config.target_registry[0].id
    red = sessions["toy(colour=red)"]
    assert red.__doc__ == "Spin a toy on every colour (colour=red)."
    assert red.requires == [f"build(target={first})"]
    assert sessions["toy"].__doc__ == "Spin a toy on every colour: every colour (red, blue)."
    # doctor: its rows are the registered stages' rows
    assert TOY in registered_stages()
    providers = [p for stage in registered_stages() for p in stage.doctor]
    assert toy_rows in providers
    # the CI matrix
    facts = matrix.Facts(
        targets=repo_project.config.target_registry,
        sessions=tuple(sessions),
        stages=stages,
    )
    assert "toy-matrix" in matrix.blocks(facts)
    assert matrix.session_matrix(facts, "toy-matrix") == [
        {"colour": "red", "runner": "red-runner"},
        {"colour": "blue", "runner": "blue-runner"},
    ]


def test_nox_list_and_every_help_are_the_same_text(
    nox_registry: dict[str, object], repo_project: Project
) -> None:
    register_stages(repo_project, STAGES)
    sessions = nox.registry.get()
    checked = 0
    for stage in STAGES:
        for value in stage.values(repo_project.config):
            name = stage.session(value)
            help_text = parser_for(stage, repo_project.config, value).format_help()
            listed = sessions[name].__doc__
            assert listed, name
            assert " ".join(listed.split()) in " ".join(help_text.split()), name
            checked += 1
    assert checked >= 20


def test_a_requirement_on_an_undeclared_stage_is_refused(
    nox_registry: dict[str, object], repo_project: Project
) -> None:
    orphan = Stage(
        "orphan", "needs a stage that is not there", spin, requires=lambda c, v: [("x", "")]
    )
    with pytest.raises(ValueError, match="requires x"):
        register_stages(repo_project, (orphan,))


def test_a_stage_declared_twice_is_refused(
    nox_registry: dict[str, object], repo_project: Project
) -> None:
    with pytest.raises(ValueError, match="declared twice: toy"):
        register_stages(repo_project, (TOY, TOY))
