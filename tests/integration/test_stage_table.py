"""A stage added by one declaration in a project's noxfile, seen through nox itself: `nox -l`,
its `-- --help`, `doctor` and the generated CI matrix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.conftest import make_project, run_nox

pytestmark = pytest.mark.integration

NOXFILE = """\
import nox_cargo
from nox_cargo.doctor import Row
from nox_cargo.pipeline import STAGES
from nox_cargo.stage import CIMatrix, Param, Stage

TOY = Stage(
    name="toy",
    summary="Spin a toy on every colour",
    param=Param("colour", lambda config: ("red", "blue")),
    run=lambda project, args, colour: print(f"spinning {colour}"),
    doctor=(lambda probes: [Row("toy", "spinning top", True, "spins")],),
    ci=CIMatrix(lambda facts, colour: {"runner": f"{colour}-runner"}),
)

nox_cargo.register(stages=(*STAGES[:2], TOY, *STAGES[2:]))
"""


def test_a_declared_stage_reaches_nox_doctor_and_ci(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project")
    (project / "noxfile.py").write_text(NOXFILE)

    listed = run_nox(project, "-l")
    assert listed.returncode == 0, listed.stdout
    names = [line.split(" -> ")[0][2:] for line in listed.stdout.splitlines() if " -> " in line]
    after_test = names[names.index("test") + 1 :]
    assert after_test[:3] == ["toy(colour=red)", "toy(colour=blue)", "toy"]
    assert "* toy(colour=red) -> Spin a toy on every colour (colour=red)." in listed.stdout

    helped = run_nox(project, "-s", "toy(colour=blue)", "--", "--help")
    assert helped.returncode == 0, helped.stdout
    assert "Spin a toy on every colour (colour=blue)." in helped.stdout

    ran = run_nox(project, "-s", "toy")
    assert ran.returncode == 0, ran.stdout
    assert ran.stdout.index("spinning red") < ran.stdout.index("spinning blue")

    checked = run_nox(project, "-s", "doctor")
    assert checked.returncode == 0, checked.stdout
    assert "spinning top" in checked.stdout

    generated = run_nox(project, "-s", "workflows", "--", "--matrix", "toy")
    assert generated.returncode == 0, generated.stdout
    start = generated.stdout.index('{\n  "include"')
    data, _ = json.JSONDecoder().raw_decode(generated.stdout[start:])
    assert data == {
        "include": [
            {"colour": "red", "runner": "red-runner"},
            {"colour": "blue", "runner": "blue-runner"},
        ]
    }
