"""Keeping cargo warm: what nox-cargo writes must not make cargo rebuild what it already built.

A package whose build script prints no `cargo:rerun-if-changed` is rebuilt whenever the newest
mtime among its files changes, and cargo counts every file under the package directory that git
does not ignore (every file at all outside a git checkout), except `target/`. A `dist/` inside such
a package (a one-crate repository with its pyproject beside Cargo.toml) would make every `build`
recompile the top crate: the previous build's staged binary and manifest are newer than the sources.

So the files under such a dist dir get one fixed, old mtime after each stage: SOURCE_DATE_EPOCH
(the reproducible-builds clock: the last commit's time, or the environment's), else 1980-01-01.
Their content is untouched, and the stage cache compares contents, not mtimes.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path

ZIP_EPOCH = 315532800  # 1980-01-01, the oldest time a zip entry can carry


def _within(path: Path, directory: Path) -> bool:
    try:
        path.relative_to(directory)
    except ValueError:
        return False
    return True


def settle_mtimes(dist_dir: Path, workspace_root: Path, environ: Mapping[str, str]) -> int:
    """Give every file under `dist_dir` the fixed mtime when cargo's scan can see it; the count."""
    dist = dist_dir.resolve()
    if not dist.is_dir() or not _within(dist, workspace_root.resolve()):
        return 0
    text = environ.get("SOURCE_DATE_EPOCH", "").strip()
    stamp = int(text) if text.isdigit() else _commit_time(workspace_root) or ZIP_EPOCH
    settled = 0
    for directory, _, files in os.walk(dist):
        for name in files:
            path = Path(directory) / name
            try:
                if int(path.stat().st_mtime) != stamp:
                    os.utime(path, (stamp, stamp))
                    settled += 1
            except OSError:
                continue
    return settled


@functools.cache
def _commit_time(root: Path) -> int | None:
    from nox_cargo import git
    from nox_cargo.errors import NoxCargoError

    try:
        return git.source_date_epoch(root, {})
    except NoxCargoError:
        return None
