"""Crash-safe writes: a temp file in the same directory, fsync, `os.replace`.

A run killed at any moment leaves the old file or the new one under the final name, never half.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from nox_cargo.errors import NoxCargoError


@contextlib.contextmanager
def atomic_open(path: Path, mode: int = 0o644) -> Iterator[BinaryIO]:
    """A binary file that appears at `path` whole when the block ends, or not at all.

    The bytes go to `.<name>.<random>.tmp` beside `path`, are fsynced, get `mode`, and are
    renamed over `path`; an exception (or a kill) leaves `path` as it was.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        Path(tmp).chmod(mode)
        Path(tmp).replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            Path(tmp).unlink()
        raise
    _fsync_dir(path.parent)


def atomic_write_bytes(path: Path, data: bytes, mode: int = 0o644) -> None:
    with atomic_open(path, mode) as fh:
        fh.write(data)


def atomic_write_text(path: Path, text: str, mode: int = 0o644) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode)


def atomic_copy(src: Path, dst: Path, mode: int | None = None) -> None:
    """Copy `src` to `dst` atomically; the mode is `src`'s unless given."""
    final_mode = mode if mode is not None else (src.stat().st_mode & 0o777)
    with src.open("rb") as inp, atomic_open(dst, final_mode) as out:
        shutil.copyfileobj(inp, out, 1 << 20)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def locked(directory: Path, name: str = ".nox-cargo.lock") -> Iterator[None]:
    """Serialize concurrent runs on one directory (e.g. two `nox` writing the same dist/)."""
    directory.mkdir(parents=True, exist_ok=True)
    lock_path = directory / name
    with lock_path.open("a") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        except OSError as exc:  # pragma: no cover - exotic filesystems
            raise NoxCargoError(f"Cannot lock {lock_path}: {exc.strerror}.", None) from None
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
