"""The clean build context: a fresh temp dir under report_dir holding only the Dockerfile and the
verified binary bytes, so nothing else of the repository can reach the image."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from nox_cargo.errors import ConfigError
from nox_cargo.fsutil import atomic_write_bytes
from nox_cargo.manifest import BuildManifest, ManifestError

BINARY_IN_CONTEXT = "app"


def parent_dir(report_dir: Path) -> Path:
    """Where the docker stage keeps its temporary dirs (under the cargo target dir)."""
    path = report_dir / "docker"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def staged(
    report_dir: Path,
    dockerfile: Path,
    dist_dir: Path,
    build: BuildManifest,
    binary: str,
    epoch: int,
) -> Iterator[Path]:
    """Yield a context dir with `Dockerfile` and `app` (the build's bytes, sha256-checked).

    `app` gets mtime SOURCE_DATE_EPOCH: COPY keeps it, so the image's layer is the same bytes on
    every run.
    """
    if not dockerfile.is_file():
        raise ConfigError(
            f"The Dockerfile template {dockerfile} (`docker.dockerfile`) does not exist.",
            "restore it, or point `docker.dockerfile` at your FROM scratch template.",
        )
    source = build.verified_path(dist_dir, binary)
    data = source.read_bytes()
    expected = build.artifact(binary).sha256
    if hashlib.sha256(data).hexdigest() != expected:
        raise ManifestError(
            f"{source} changed while it was staged (sha256 differs from {expected}).",
            f'run `nox -s "build(target={build.target_id})"` again.',
        )
    directory = Path(tempfile.mkdtemp(prefix="context-", dir=parent_dir(report_dir)))
    try:
        atomic_write_bytes(directory / BINARY_IN_CONTEXT, data, mode=0o755)
        os.utime(directory / BINARY_IN_CONTEXT, (epoch, epoch))
        atomic_write_bytes(directory / "Dockerfile", dockerfile.read_bytes())
        atomic_write_bytes(directory / ".dockerignore", b"*\n!app\n!Dockerfile\n")
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)
