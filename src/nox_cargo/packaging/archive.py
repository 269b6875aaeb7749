"""Reproducible archives: the same entries give the same bytes on any machine, umask, TZ or day.

Entries are sorted; every mtime is SOURCE_DATE_EPOCH; owners are 0/0 with empty names; modes are
0755 (executables) or 0644; gzip headers carry no name and no time; xz uses a fixed preset; zip
entries have a fixed creator system and attributes and no extra timestamp fields.
"""

from __future__ import annotations

import gzip
import io
import lzma
import tarfile
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from nox_cargo.errors import ConfigError

Format = Literal["zip", "tar.gz", "tar.xz"]
FORMATS: tuple[Format, ...] = ("zip", "tar.gz", "tar.xz")
EXECUTABLE = 0o755
REGULAR = 0o644
XZ_PRESET = 6
ZIP_EPOCH_MIN = 315532800  # 1980-01-01T00:00:00Z, the earliest time a zip entry can hold
ZIP_EPOCH_MAX = 4354819198  # 2107-12-31T23:59:58Z, the latest (a 7-bit year from 1980)
_ZIP_UNIX = 3  # create_system: Unix, so external_attr carries the mode


@dataclass(frozen=True)
class Entry:
    """One regular file of an archive."""

    name: str
    data: bytes
    executable: bool = False

    @property
    def mode(self) -> int:
        return EXECUTABLE if self.executable else REGULAR


def extension(fmt: Format) -> str:
    return f".{fmt}"


def build(entries: Sequence[Entry], fmt: Format, epoch: int) -> bytes:
    """The archive's bytes; a pure function of `entries`, `fmt` and `epoch`."""
    ordered = sorted(entries, key=lambda e: e.name)
    names = [e.name for e in ordered]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate archive entries: {names}")
    if fmt == "zip":
        return _zip(ordered, epoch)
    tar = _tar(ordered, epoch)
    if fmt == "tar.gz":
        out = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=9, mtime=0) as gz:
            gz.write(tar)
        return out.getvalue()
    if fmt == "tar.xz":
        return lzma.compress(tar, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=XZ_PRESET)
    raise ValueError(f"unknown archive format {fmt!r}")


def _tar(entries: Sequence[Entry], epoch: int) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in entries:
            info = tarfile.TarInfo(entry.name)
            info.size = len(entry.data)
            info.mtime = epoch
            info.mode = entry.mode
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.type = tarfile.REGTYPE
            tar.addfile(info, io.BytesIO(entry.data))
    return out.getvalue()


def _zip(entries: Sequence[Entry], epoch: int) -> bytes:
    if epoch > ZIP_EPOCH_MAX:
        raise ConfigError(
            f"SOURCE_DATE_EPOCH={epoch} is after 2107-12-31, the last date a zip entry can hold "
            f"(at most {ZIP_EPOCH_MAX}).",
            "set SOURCE_DATE_EPOCH to the last commit's time (`git log -1 --format=%ct`), or use "
            '`package.format = "tar.gz"` for non-Windows targets.',
        )
    stamp = time.gmtime(max(epoch, ZIP_EPOCH_MIN))[:6]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for entry in entries:
            info = zipfile.ZipInfo(entry.name, date_time=stamp)
            info.create_system = _ZIP_UNIX
            info.external_attr = (0o100000 | entry.mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.extra = b""
            info.comment = b""
            zf.writestr(info, entry.data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return out.getvalue()


def format_of(name: str) -> Format | None:
    """The format an archive's file name says, or None when it is not an archive."""
    for fmt in FORMATS:
        if name.endswith(extension(fmt)):
            return fmt
    return None


def read_entry(path: Path, name: str) -> bytes:
    """The bytes of entry `name` of the archive at `path` (zip, tar.gz or tar.xz)."""
    fmt = format_of(path.name)
    if fmt == "zip":
        with zipfile.ZipFile(path) as zf:
            return zf.read(name)
    with tarfile.open(path, mode="r:*") as tar:
        handle = tar.extractfile(name)
        if handle is None:
            raise KeyError(name)
        return handle.read()
