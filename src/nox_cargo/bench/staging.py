"""Measured binaries are run from fresh copies with equal histories and equal path lengths.

Why: the same bytes start at different speeds depending on the history of the file they are run
from. Measured here on a 27 MB ripgrep binary: a fresh copy vs a copy whose pages had been dropped
from the page cache and read back ran 7.8 % apart (paired 99 % CI [+6.7 %, +9.1 %], three runs
out of three), while two fresh copies of it ran 0.0 % apart ([-1.3 %, +1.3 %]). `dist/<target>/`
(written by the build, read by package and checksums) and the cached base build have different
histories, so comparing them directly measures the page cache as well as the change: enough to
flag identical code as a regression, or to hide most of a 10 % slowdown.

So each side is copied to `<bench dir>/run/<label>/<name>`, the same way and right before it is
measured; labels of equal length keep argv[0] (and so the new process's stack layout) the same
size. `bench.fresh-copies = false` runs the binaries where they are (for a binary that finds
files relative to its own path).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from nox_cargo.bench.measure import Side
from nox_cargo.fsutil import atomic_copy


def fresh_copies(sides: Sequence[Side], run_dir: Path) -> list[Side]:
    """Each side's binary copied into `run_dir/<label>/`, replacing an earlier copy."""
    width = max(len(side.label) for side in sides)
    copies = []
    for side in sides:
        # Equal-length directory names: "base" and "head" already are; pad others.
        directory = run_dir / side.label.ljust(width, "_")
        if directory.exists():
            shutil.rmtree(directory)
        target = directory / side.binary.name
        atomic_copy(side.binary, target)
        copies.append(Side(side.label, target))
    return copies
