"""SHA256 sidecars (`<archive>.sha256`) and the aggregate `SHA256SUMS`, in `sha256sum` format.

Each line is `<64 hex>  <name>` (two spaces: text mode), LF-terminated, sorted by name, so
`sha256sum -c --strict SHA256SUMS` accepts the file as written.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from nox_cargo.errors import NoxCargoError
from nox_cargo.fsutil import atomic_write_text
from nox_cargo.manifest import sha256_file
from nox_cargo.packaging.archive import format_of

SUMS_NAME = "SHA256SUMS"
SIDECAR_SUFFIX = ".sha256"
_LINE = re.compile(r"^([0-9a-f]{64})  ([^\s/\\][^/\\]*)$")


class ChecksumError(NoxCargoError):
    """A checksum file is malformed, or disagrees with what it describes."""


def sidecar_path(archive: Path) -> Path:
    return archive.with_name(archive.name + SIDECAR_SUFFIX)


def render(digests: Mapping[str, str]) -> str:
    """`sha256sum` lines for `digests` (name → hex), sorted by name."""
    for name, digest in digests.items():
        if not _LINE.match(f"{digest}  {name}"):
            raise ChecksumError(f"Cannot write a checksum line for {name!r} ({digest!r}).")
    return "".join(f"{digests[name]}  {name}\n" for name in sorted(digests))


def parse(text: str, source: Path) -> dict[str, str]:
    """name → hex from a `sha256sum` file; any malformed line is an error naming the file."""
    if text and not text.endswith("\n"):
        raise ChecksumError(
            f"{source} does not end with a newline (truncated or edited).",
            "run `nox -s checksums` to rewrite it from the archives.",
        )
    digests: dict[str, str] = {}
    for number, line in enumerate(text.split("\n")[:-1], start=1):
        match = _LINE.match(line)
        if not match:
            raise ChecksumError(
                f"{source}:{number} is not a `<sha256>  <name>` line: {line!r}.",
                "run `nox -s checksums` to rewrite it from the archives.",
            )
        digest, name = match.groups()
        if name in digests:
            raise ChecksumError(f"{source} lists {name} twice (line {number}).")
        digests[name] = digest
    return digests


def read(path: Path) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ChecksumError(
            f"{path} is not UTF-8 text.", "run `nox -s checksums` to rewrite it."
        ) from None
    return parse(text, path)


def write_sidecar(archive: Path, digest: str) -> Path:
    path = sidecar_path(archive)
    atomic_write_text(path, render({archive.name: digest}))
    return path


def archives_in(dist_dir: Path) -> list[Path]:
    """The release archives at the top of dist/, sorted by name (temp files are hidden)."""
    if not dist_dir.is_dir():
        return []
    return sorted(
        p
        for p in dist_dir.iterdir()
        if p.is_file() and not p.name.startswith(".") and format_of(p.name) is not None
    )


# Release files beside the archives that SHA256SUMS also covers: SBOMs and the installers.
SBOM_SUFFIX = ".cdx.json"
INSTALLERS = ("install.sh", "install.ps1")


def is_asset(name: str) -> bool:
    """A file of dist/'s top level that is released and checksummed."""
    if name.startswith("."):
        return False
    return format_of(name) is not None or name.endswith(SBOM_SUFFIX) or name in INSTALLERS


def assets_in(dist_dir: Path) -> list[Path]:
    """Archives, SBOMs and installers at the top of dist/, sorted by name."""
    if not dist_dir.is_dir():
        return []
    return sorted(p for p in dist_dir.iterdir() if p.is_file() and is_asset(p.name))


def name_problem(path: Path) -> ChecksumError | None:
    """A file name a checksum line cannot hold (not UTF-8, or with a newline), or None."""
    try:
        path.name.encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(path.name).decode("utf-8", "backslashreplace")
        return ChecksumError(
            f"The file name {shown!r} in {path.parent} is not UTF-8, so no SHA256SUMS line can "
            "name it.",
            "rename it to a UTF-8 name (or remove it from dist/), then run the stage again.",
        )
    if not _LINE.match(f"{'0' * 64}  {path.name}"):
        return ChecksumError(
            f"The file name {path.name!r} in {path.parent} cannot be written as a SHA256SUMS "
            "line (it holds whitespace at its start or a control character).",
            "rename it (or remove it from dist/), then run the stage again.",
        )
    return None


def write_sums(dist_dir: Path) -> tuple[Path, dict[str, str]]:
    """Rewrite SHA256SUMS from the archives, SBOMs and installers dist/ holds, re-hashed now (and
    missing sidecars).

    An archive whose sidecar disagrees with its bytes is refused: SHA256SUMS must never bless a
    file that changed after it was packaged.
    """
    digests: dict[str, str] = {}
    for archive in assets_in(dist_dir):
        problem = name_problem(archive)
        if problem is not None:
            raise problem
        digest = sha256_file(archive)
        sidecar = sidecar_path(archive)
        if not sidecar.is_file():  # gathered without one: write it from the bytes
            write_sidecar(archive, digest)
        else:
            recorded = read(sidecar).get(archive.name)
            if recorded != digest:
                raise ChecksumError(
                    f"{archive} does not match its sidecar {sidecar.name} "
                    f"(sha256 {digest}, sidecar says {recorded}).",
                    "package that target again, or delete the stale archive from dist/.",
                )
        digests[archive.name] = digest
    if not any(format_of(name) for name in digests):
        raise ChecksumError(
            f"No release archives (.zip, .tar.gz, .tar.xz) in {dist_dir}.",
            "run `nox -s package` first (or gather the matrix's archives into dist/).",
        )
    path = dist_dir / SUMS_NAME
    atomic_write_text(path, render(digests))
    return path, digests
