"""Stage manifests: JSON records of what a stage produced, read by the stages after it.

`package` archives the bytes `build` recorded (checked by sha256), `docker` copies them, `bench`
reads sizes from them: nothing later re-derives what an earlier stage wrote down.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nox_cargo.errors import NoxCargoError
from nox_cargo.fsutil import atomic_write_text

SCHEMA_VERSION = 1


class ManifestError(NoxCargoError):
    """A manifest is missing, corrupt, of another kind or of an unknown schema version."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write(path: Path, kind: str, data: Mapping[str, Any]) -> None:
    """Atomically write a manifest of `kind` with the current schema version."""
    document = {"schema_version": SCHEMA_VERSION, "kind": kind, **data}
    atomic_write_text(path, json.dumps(document, indent=2, sort_keys=True) + "\n")


def read(path: Path, kind: str, produced_by: str) -> dict[str, Any]:
    """Read a manifest of `kind`; `produced_by` names the session that writes it (for the fix)."""
    if not path.is_file():
        raise ManifestError(
            f"No {kind} manifest at {path}.", f'run `nox -s "{produced_by}"` first.'
        )
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ManifestError(
            f"The {kind} manifest {path} is corrupt ({exc}).",
            f'delete it and run `nox -s "{produced_by}"` again.',
        ) from None
    if not isinstance(document, dict) or document.get("kind") != kind:
        raise ManifestError(
            f"{path} is not a {kind} manifest.",
            f'delete it and run `nox -s "{produced_by}"` again.',
        )
    if document.get("schema_version") != SCHEMA_VERSION:
        raise ManifestError(
            f"The {kind} manifest {path} has schema_version "
            f"{document.get('schema_version')!r}; this nox-cargo reads {SCHEMA_VERSION}.",
            f'run `nox -s "{produced_by}"` again with this version of nox-cargo.',
        )
    return document


# -- the build manifest ---------------------------------------------------------------------


@dataclass(frozen=True)
class Artifact:
    """One built binary as staged in dist/<target>/."""

    name: str
    path: str  # relative to the dist dir
    size: int
    sha256: str
    static: bool
    format: str  # "elf" | "pe" | "macho" | "wasm"
    # "ran natively: weft 0.3.0", "ran under qemu-aarch64-static: …" or "not run: <reason>".
    smoke: str = ""
    # What the headers say beyond the format: arch, and the minimum OS of a Mach-O binary.
    arch: str = ""
    min_os: str = ""


@dataclass(frozen=True)
class BuildManifest:
    target_id: str
    triple: str
    strategy: str
    strategy_reason: str
    toolchain: str  # rustc version line
    toolchain_path: str
    profile: str
    rustflags: tuple[str, ...]
    features: tuple[str, ...]
    version: str  # the released package's version
    git_commit: str
    source_date_epoch: int
    duration_seconds: float
    artifacts: tuple[Artifact, ...] = field(default=())

    KIND = "build"

    @staticmethod
    def path_for(dist_dir: Path, target_id: str) -> Path:
        return dist_dir / target_id / "build-manifest.json"

    def save(self, dist_dir: Path) -> Path:
        path = self.path_for(dist_dir, self.target_id)
        write(path, self.KIND, asdict(self))
        return path

    @classmethod
    def load(cls, dist_dir: Path, target_id: str) -> BuildManifest:
        path = cls.path_for(dist_dir, target_id)
        data = read(path, cls.KIND, f"build(target={target_id})")
        try:
            return cls(
                target_id=data["target_id"],
                triple=data["triple"],
                strategy=data["strategy"],
                strategy_reason=data["strategy_reason"],
                toolchain=data["toolchain"],
                toolchain_path=data["toolchain_path"],
                profile=data["profile"],
                rustflags=tuple(data["rustflags"]),
                features=tuple(data["features"]),
                version=data["version"],
                git_commit=data["git_commit"],
                source_date_epoch=int(data["source_date_epoch"]),
                duration_seconds=float(data["duration_seconds"]),
                artifacts=tuple(Artifact(**a) for a in data["artifacts"]),
            )
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise ManifestError(
                f"The build manifest {path} is missing fields, has extra ones or holds a value "
                f"of the wrong type ({exc}).",
                f'run `nox -s "build(target={target_id})"` again.',
            ) from None

    def artifact(self, name: str) -> Artifact:
        for artifact in self.artifacts:
            if artifact.name == name:
                return artifact
        raise ManifestError(
            f"The build of {self.target_id} has no binary `{name}` "
            f"(it has: {', '.join(a.name for a in self.artifacts) or 'none'}).",
            "check `binaries` in the config and build again.",
        )

    def verified_path(self, dist_dir: Path, name: str) -> Path:
        """The staged binary, after re-checking its sha256 against the manifest."""
        artifact = self.artifact(name)
        path = dist_dir / artifact.path
        if not path.is_file():
            raise ManifestError(
                f"{path}, recorded by the build of {self.target_id}, is missing.",
                f'run `nox -s "build(target={self.target_id})"` again.',
            )
        actual = sha256_file(path)
        if actual != artifact.sha256:
            raise ManifestError(
                f"{path} changed since it was built: sha256 {actual} but the build manifest "
                f"recorded {artifact.sha256}.",
                f'run `nox -s "build(target={self.target_id})"` again; never edit dist/ by hand.',
            )
        return path
