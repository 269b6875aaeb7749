"""The digest of a workspace's sources: every file cargo could read, hashed; fast when unchanged.

The files are those under the workspace root that git does not ignore (`git ls-files --cached
--others --exclude-standard`; a walk that skips `target/` and hidden directories outside git),
plus Cargo.lock whether ignored or not, minus the target and dist directories. Each file's sha256
is remembered with its size, mtime, inode and ctime in `files.json` beside the cache entries,
so a second digest reads only files whose metadata changed. A remembered hash is trusted only
when the file had not changed for 2 s when it was hashed (a write within the same clock tick as
the hash could otherwise go unseen; git's "racy clean" rule).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from nox_cargo.errors import NoxCargoError
from nox_cargo.fsutil import atomic_write_text

RACY_NS = 2_000_000_000
_SKIP_DIRS = {"target", ".git", "node_modules", "__pycache__"}


def listed_files(root: Path, exclude: Sequence[Path] = ()) -> list[str]:
    """Files under `root` (relative, '/'-separated, sorted) that belong to the sources."""
    names = _git_files(root)
    if names is None:
        names = _walk(root)
    excluded = [e.resolve() for e in exclude]
    kept = []
    for name in names:
        path = root / name
        if any(_is_within(path, e) for e in excluded):
            continue
        if path.is_file():
            kept.append(name)
    if (root / "Cargo.lock").is_file() and "Cargo.lock" not in kept:
        kept.append("Cargo.lock")
    return sorted(set(kept))


def _is_within(path: Path, directory: Path) -> bool:
    try:
        path.resolve().relative_to(directory)
    except ValueError:
        return False
    return True


def _git_files(root: Path) -> list[str] | None:
    from nox_cargo.process import run

    try:
        done = run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root,
            capture=True,
            quiet=True,
            check=False,
        )
    except NoxCargoError:  # git is not installed
        return None
    if not done.ok:  # not a git checkout
        return None
    return [name for name in done.stdout.split("\0") if name]


def _walk(root: Path) -> list[str]:
    found: list[str] = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = [d for d in subdirs if d not in _SKIP_DIRS and not d.startswith(".")]
        base = Path(directory).relative_to(root)
        found.extend((base / f).as_posix() for f in files)
    return found


class FileHashes:
    """sha256 per file, remembered by (size, mtime, inode, ctime) in a JSON file."""

    def __init__(self, memo_path: Path | None, clock: Callable[[], int] = time.time_ns) -> None:
        self.memo_path = memo_path
        self.clock = clock  # when a file is hashed (ns): the racy rule compares it
        self.memo: dict[str, list[int | str]] = {}
        self.changed = False
        if memo_path is not None:
            self.memo = _read_memo(memo_path)

    def digest(self, path: Path) -> str:
        stat = path.stat()
        key = str(path)
        known = self.memo.get(key)
        # ctime too: nox-cargo gives dist/ files a fixed mtime, and a replaced file may get the
        # inode of the one it replaced.
        signature = [stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_ctime_ns]
        if known is not None and known[:4] == signature and isinstance(known[5], str):
            hashed_at = known[4]
            if isinstance(hashed_at, int) and stat.st_ctime_ns + RACY_NS < hashed_at:
                return known[5]
        digest = self.read(path)
        self.memo[key] = [*signature, self.clock(), digest]
        self.changed = True
        return digest

    def read(self, path: Path) -> str:
        """Read and hash a file (the only place the memo reads file contents)."""
        from nox_cargo.manifest import sha256_file  # not imported by a run that reads nothing

        return sha256_file(path)

    def save(self) -> None:
        if self.memo_path is None or not self.changed:
            return
        atomic_write_text(self.memo_path, json.dumps(self.memo, separators=(",", ":")))
        self.changed = False


def _read_memo(path: Path) -> dict[str, list[int | str]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, list) and len(v) == 6
    }


def tree_digest(root: Path, names: Iterable[str], hashes: FileHashes) -> str:
    """One sha256 over every (name, content digest) pair: a rename or a new file changes it."""
    total = hashlib.sha256()
    for name in names:
        total.update(name.encode("utf-8") + b"\0" + hashes.digest(root / name).encode() + b"\n")
    return total.hexdigest()
