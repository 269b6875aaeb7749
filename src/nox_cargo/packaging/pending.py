"""Markers of `package` runs in progress, so an interrupted run is named, not guessed at.

A `package(target=X)` run writes `.package-in-progress-X.json` into dist/ before its first write
(archive, sidecar, manifest, SHA256SUMS) and removes it after its last. A run killed in between
leaves the marker: the next `verify` then names the interrupted run and the command that completes
it (`nox -s "package(target=X)"`), and that command's run, finishing, removes the marker. The
marker is a dot file, so checksums and archive listings never see it.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from nox_cargo.fsutil import atomic_write_text, changed, fsync_dir

PREFIX = ".package-in-progress-"
SUFFIX = ".json"


def marker_path(dist_dir: Path, target_id: str) -> Path:
    return dist_dir / f"{PREFIX}{target_id}{SUFFIX}"


def command(target_id: str) -> str:
    """The command that completes (or repeats) an interrupted run."""
    return f'nox -s "package(target={target_id})"'


def mark(dist_dir: Path, target_id: str) -> Path:
    path = marker_path(dist_dir, target_id)
    record = {"target_id": target_id, "pid": os.getpid(), "started": int(time.time())}
    atomic_write_text(path, json.dumps(record, sort_keys=True) + "\n")
    return path


@contextlib.contextmanager
def started(dist_dir: Path, target_id: str) -> Iterator[None]:
    """Mark the run for its duration; an exception or a kill leaves the marker in place."""
    path = mark(dist_dir, target_id)
    yield
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    fsync_dir(dist_dir)
    changed()


@dataclass(frozen=True)
class Interrupted:
    target_id: str
    started: str  # UTC time, or "" when the marker is unreadable

    def describe(self) -> str:
        when = f" started {self.started}" if self.started else ""
        return (
            f"a `package(target={self.target_id})` run{when} was interrupted before it "
            f"finished, so dist/ holds part of its output; `{command(self.target_id)}` "
            "completes it"
        )


def interrupted(dist_dir: Path) -> list[Interrupted]:
    """The runs whose markers are in dist/, by target id."""
    if not dist_dir.is_dir():
        return []
    found = []
    for path in sorted(dist_dir.glob(f"{PREFIX}*{SUFFIX}")):
        target_id = path.name[len(PREFIX) : -len(SUFFIX)]
        when = ""
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(int(record["started"])))
        except (OSError, ValueError, KeyError, TypeError, OverflowError):
            pass
        found.append(Interrupted(target_id, when))
    return found
