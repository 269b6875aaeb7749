"""Crash-safe writes: a temp file in the same directory, fsync, `os.replace`.

A run killed at any moment leaves the old file or the new one under the final name, never half.
A directory that cannot be written (missing permission, a file in its place, a full disk) is a
`NoxCargoError` naming it, never an `OSError` traceback.

Test hook (documented in docs/packaging.md): `_NOX_CARGO_TEST_SIGNAL_AFTER_WRITE=N:SIGNAME` makes
the process send itself SIGNAME right after the N-th change of the process has landed (an atomic
write, or a removal that a stage reports with `changed()`), so a test can interrupt a stage exactly
at each of its write boundaries. The leading underscore keeps
it out of the `NOX_CARGO_*` configuration namespace.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import shutil
import signal
import sys
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
    ensure_dir(path.parent)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise unwritable(path.parent, exc) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        Path(tmp).chmod(mode)
        Path(tmp).replace(path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            Path(tmp).unlink()
        if isinstance(exc, OSError) and exc.errno in _WRITE_ERRNOS:
            raise unwritable(path.parent, exc) from None
        raise
    fsync_dir(path.parent)
    changed()


if sys.platform == "win32":
    import msvcrt

    def _lock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_LOCK, 1)

    def _unlock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


_WRITE_ERRNOS = {
    errno.EACCES,
    errno.EPERM,
    errno.EROFS,
    errno.ENOSPC,
    getattr(errno, "EDQUOT", errno.ENOSPC),  # quota exceeded (not on every platform)
    errno.ENOTDIR,
    errno.EISDIR,
}
TEST_SIGNAL_VAR = "_NOX_CARGO_TEST_SIGNAL_AFTER_WRITE"
_changes = itertools.count(1)


def changed() -> None:
    """Count one change of the release set (an atomic write, or a removal the caller makes);
    the test hook signals this process after the N-th (see the module doc)."""
    number = next(_changes)
    spec = os.environ.get(TEST_SIGNAL_VAR)
    if not spec:
        return
    count, _, name = spec.partition(":")
    if count.strip() == str(number):
        os.kill(os.getpid(), getattr(signal, name.strip() or "SIGKILL"))


def unwritable(directory: Path, exc: OSError) -> NoxCargoError:
    """The one paragraph for a directory nox-cargo cannot write into."""
    why = exc.strerror or str(exc)
    if directory.exists() and not directory.is_dir():
        return NoxCargoError(
            f"{directory} is not a directory (a file is in its place), so nothing can be "
            "written there.",
            f"remove or rename the file {directory}, or point `dist-dir` elsewhere.",
        )
    return NoxCargoError(
        f"Cannot write into {directory}: {why}.",
        f"make {directory} writable for this user (or point `dist-dir` at a writable "
        "directory), and check that the disk is not full.",
    )


def ensure_dir(directory: Path) -> None:
    """`mkdir -p`, or the one paragraph saying why it cannot be."""
    for parent in (directory, *directory.parents):
        if parent.exists() and not parent.is_dir():
            raise unwritable(parent, FileExistsError(errno.EEXIST, "File exists"))
        if parent.exists():
            break
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise unwritable(directory, exc) from None


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


def fsync_dir(directory: Path) -> None:
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


def regular_file_inside(root: Path, relative: str | Path, key: str) -> Path:
    """`root/relative`, resolved, when it is a regular file inside `root` (symlinks followed and
    checked); otherwise a `ConfigError` naming the config `key` it came from.

    Everything a config key points at that ends up in an artifact goes through here, so a
    symlink cannot carry a host file (`ln -s /etc/hostname NOTICE`) into a release.
    """
    from nox_cargo.errors import ConfigError

    given = root / relative
    base = root.resolve()
    try:
        resolved = given.resolve(strict=True)
    except FileNotFoundError:
        raise ConfigError(
            f"{given} (listed in config key `{key}`) does not exist.",
            f"add {relative} to the workspace, or remove it from `{key}`.",
        ) from None
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise ConfigError(
            f"{given} (listed in config key `{key}`) cannot be resolved: {exc}.",
            f"replace it with a regular file, or remove it from `{key}`.",
        ) from None
    if not resolved.is_relative_to(base):
        raise ConfigError(
            f"{given} (listed in config key `{key}`) is a link to {resolved}, outside the "
            f"workspace {base}: release files must come from the workspace, not this host.",
            f"replace the link with the file itself, or remove {relative} from `{key}`.",
        )
    if not resolved.is_file():
        kind = "a directory" if resolved.is_dir() else "a special file (fifo, socket, device)"
        raise ConfigError(
            f"{given} (listed in config key `{key}`) is not a regular file: it is {kind}.",
            f"list regular files in `{key}`.",
        )
    return resolved


@contextlib.contextmanager
def locked(directory: Path, name: str = ".nox-cargo.lock") -> Iterator[None]:
    """Serialize concurrent runs on one directory (e.g. two `nox` writing the same dist/)."""
    ensure_dir(directory)
    lock_path = directory / name
    try:
        fh = lock_path.open("a")
    except OSError as exc:
        raise unwritable(directory, exc) from None
    with fh:
        try:
            _lock(fh.fileno())
        except OSError as exc:  # pragma: no cover - exotic filesystems
            raise NoxCargoError(f"Cannot lock {lock_path}: {exc.strerror}.", None) from None
        try:
            yield
        finally:
            _unlock(fh.fileno())
