"""Unit tests are fast and hermetic: any attempt to start a process fails the test."""

from __future__ import annotations

import os
import subprocess
from typing import Any, NoReturn

import pytest


class SubprocessForbidden(AssertionError):
    pass


def _forbidden(*args: Any, **kwargs: Any) -> NoReturn:
    raise SubprocessForbidden(
        f"unit tests must not start processes (tried: {args[:1]!r}); "
        "mock nox_cargo.process.run or move the test to tests/integration"
    )


@pytest.fixture(autouse=True)
def _no_subprocess(monkeypatch: pytest.MonkeyPatch) -> None:
    # The one door every subprocess.Popen goes through on POSIX; Popen itself stays intact.
    monkeypatch.setattr(subprocess, "_fork_exec", _forbidden)
    for name in (
        "system",
        "execv",
        "execve",
        "execvp",
        "execvpe",
        "posix_spawn",
        "posix_spawnp",
        "fork",
    ):
        if hasattr(os, name):
            monkeypatch.setattr(os, name, _forbidden)
