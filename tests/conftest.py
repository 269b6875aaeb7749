"""Shared fixtures: the repository paths, and the rule that CI never passes by skipping."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
WEFT = REPO / "examples" / "weft"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require(condition: bool, reason: str) -> None:
    """Skip when a machine lacks a tool; under CI the same condition fails the test."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"CI must have this: {reason}")
    pytest.skip(reason)


def require_tool(*names: str) -> None:
    for name in names:
        require(
            shutil.which(name) is not None, f"`{name}` is not installed (see .ci/install-system.sh)"
        )
