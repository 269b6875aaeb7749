"""nox-cargo imports and registers every stage on a Windows runner, where POSIX-only modules
(fcntl, resource, termios) do not exist; its lock file uses msvcrt there."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nox.registry
import pytest

from tests.conftest import REPO

POSIX_ONLY = ("fcntl", "resource", "termios", "pwd", "grp", "pty", "tty")


class FakeMsvcrt(types.ModuleType):
    """`msvcrt.locking` as Windows has it, recording each call."""

    LK_LOCK = 1
    LK_UNLCK = 0

    def __init__(self) -> None:
        super().__init__("msvcrt")
        self.calls: list[tuple[int, int]] = []

    def locking(self, fd: int, mode: int, nbytes: int) -> None:
        self.calls.append((mode, nbytes))


@pytest.fixture
def windows(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMsvcrt]:
    """A fresh import of nox_cargo as on Windows; the real modules come back afterwards."""
    saved = {name: mod for name, mod in sys.modules.items() if name.startswith("nox_cargo")}
    for name in saved:
        del sys.modules[name]
    fake = FakeMsvcrt()
    monkeypatch.setattr(sys, "platform", "win32")
    for name in POSIX_ONLY:
        monkeypatch.setitem(sys.modules, name, None)  # `import fcntl` raises ImportError
    monkeypatch.setitem(sys.modules, "msvcrt", fake)
    registry: dict[str, Any] = nox.registry._REGISTRY
    before = dict(registry)
    try:
        yield fake
    finally:
        for name in [n for n in sys.modules if n.startswith("nox_cargo")]:
            del sys.modules[name]
        sys.modules.update(saved)
        registry.clear()
        registry.update(before)


def test_posix_only_modules_are_really_unavailable(windows: FakeMsvcrt) -> None:
    with pytest.raises(ImportError):
        import fcntl  # noqa: F401


def test_every_session_registers_without_posix_modules(windows: FakeMsvcrt) -> None:
    registry: dict[str, Any] = nox.registry._REGISTRY
    registry.clear()
    from nox_cargo.pipeline import STAGES
    from nox_cargo.project import Project
    from nox_cargo.sessions.registry import register_stages

    pipeline = register_stages(Project.load(REPO, environ={}), STAGES)
    names = set(nox.registry.get())
    assert pipeline and set(pipeline) <= names
    assert {"workflows", "doctor", "checksums", "verify", "bench"} <= names
    assert {"build(target=x86_64-windows)", "lint(step=clippy)", "package(target=x86_64-musl)"} <= (
        names
    )
    assert not any(name in sys.modules and sys.modules[name] is not None for name in POSIX_ONLY)


def test_the_lock_file_uses_msvcrt_on_windows(windows: FakeMsvcrt, tmp_path: Path) -> None:
    from nox_cargo.fsutil import locked

    with locked(tmp_path):
        assert windows.calls == [(FakeMsvcrt.LK_LOCK, 1)]
    assert windows.calls == [(FakeMsvcrt.LK_LOCK, 1), (FakeMsvcrt.LK_UNLCK, 1)]
    assert (tmp_path / ".nox-cargo.lock").is_file()
