"""The guard itself: a unit test that tries to spawn a process fails."""

from __future__ import annotations

import subprocess

import pytest

from nox_cargo.process import run
from tests.unit.conftest import SubprocessForbidden


def test_subprocess_is_forbidden() -> None:
    with pytest.raises(SubprocessForbidden):
        subprocess.run(["true"], check=False)


def test_process_run_is_forbidden_too() -> None:
    with pytest.raises(SubprocessForbidden):
        run(["cargo", "--version"], capture=True, quiet=True)
