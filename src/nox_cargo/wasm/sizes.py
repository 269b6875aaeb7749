"""Exact sizes of a module (raw, gzip -9, brotli) and the budget gate over them.

gzip: measured with GNU gzip when it is installed, exactly as `gzip -9 -c FILE | wc -c` counts it
(the header stores the file name, so the file is compressed under its own name). GNU gzip has its
own deflate, and its output is not byte-for-byte zlib's; without the CLI the figure comes from
Python's zlib at level 9 (`gzip.compress(data, 9, mtime=0)`, no file name), and the report names
which one was used. brotli: the `brotli` Python package (quality 11) or the `brotli` CLI
(`brotli -q 11`), when either is present. Sizes are exact integers; the gate compares bytes.
"""

from __future__ import annotations

import gzip
import importlib
import shutil
import tempfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nox_cargo.config import ByteSize
from nox_cargo.process import run


@dataclass(frozen=True)
class Measure:
    name: str  # "raw" | "gzip" | "brotli"
    actual: int
    method: str  # how it was measured, for the report


@dataclass(frozen=True)
class GateRow:
    measure: Measure
    budget: int | None  # None: measured, not gated
    key: str  # the config key of the budget

    @property
    def headroom(self) -> int | None:
        return None if self.budget is None else self.budget - self.measure.actual

    @property
    def ok(self) -> bool:
        return self.budget is None or self.measure.actual <= self.budget


def human(size: int) -> str:
    """Exact bytes, with KiB/MiB alongside once it helps: `204078 B (199.3 KiB)`."""
    return f"{size} B ({ByteSize(abs(size)).human()})" if abs(size) >= 1024 else f"{size} B"


def raw_size(path: Path) -> Measure:
    return Measure("raw", path.stat().st_size, "file size")


def gzip_python(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def gzip_size(path: Path, scratch: Path, use_cli: bool | None = None) -> Measure:
    """The `gzip -9 -c FILE | wc -c` figure (GNU gzip), or zlib level 9 without the CLI."""
    cli = shutil.which("gzip") if use_cli is None or use_cli else None
    if cli:
        with tempfile.TemporaryDirectory(dir=scratch, prefix="gzip-") as tmp:
            copy = Path(tmp) / path.name  # the header stores the name: keep the file's own
            shutil.copyfile(path, copy)
            run([cli, "-9", "-f", str(copy)], quiet=True, capture=True)
            size = copy.with_name(copy.name + ".gz").stat().st_size
        return Measure("gzip", size, "gzip -9 (GNU gzip, header with file name)")
    level9 = gzip_python(path.read_bytes())
    return Measure("gzip", level9, f"Python zlib {zlib.ZLIB_VERSION} level 9, mtime=0")


def brotli_size(path: Path, scratch: Path) -> Measure | None:
    """Brotli at quality 11, from the Python package or the CLI; None when neither exists."""
    try:
        brotli = importlib.import_module("brotli")
    except ImportError:
        brotli = None
    if brotli is not None:
        compressed = brotli.compress(path.read_bytes(), quality=11)
        return Measure("brotli", len(compressed), "Python brotli, quality 11")
    cli = shutil.which("brotli")
    if cli is None:
        return None
    with tempfile.TemporaryDirectory(dir=scratch, prefix="brotli-") as tmp:
        out = Path(tmp) / (path.name + ".br")
        run([cli, "-q", "11", "-f", "-o", str(out), str(path)], quiet=True, capture=True)
        size = out.stat().st_size
    return Measure("brotli", size, "brotli CLI, quality 11")


def gate(measures: Sequence[Measure], budgets: dict[str, tuple[int | None, str]]) -> list[GateRow]:
    """One row per measure; `budgets` maps a measure name to (budget or None, config key)."""
    return [GateRow(m, *budgets.get(m.name, (None, ""))) for m in measures]


GATE_COLUMNS = ("size", "budget", "actual", "headroom / overrun", "verdict", "measured with")


def _cells(row: GateRow) -> tuple[str, str, str, str, str, str]:
    actual = human(row.measure.actual)
    if row.budget is None:
        return (row.measure.name, "—", actual, "—", "not gated", row.measure.method)
    headroom = row.headroom or 0
    if row.ok:
        margin, verdict = f"{human(headroom)} headroom", "ok"
    else:
        margin, verdict = f"{human(-headroom)} over", "OVER BUDGET"
    return (row.measure.name, human(row.budget), actual, margin, verdict, row.measure.method)


def gate_table(rows: Sequence[GateRow]) -> list[tuple[str, ...]]:
    """The rows of the gate table (console and job summary)."""
    return [_cells(row) for row in rows]


def plain_table(rows: Sequence[GateRow]) -> str:
    """The gate as aligned plain text, for the error message of a failed gate."""
    cells = [GATE_COLUMNS[:5], *(_cells(row)[:5] for row in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(5)]
    return "\n".join(
        ("  " + "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True))).rstrip()
        for line in cells
    )
