"""The `package` stage: the build's exact binary bytes + docs → archive, checksums, manifest.

Nothing is rebuilt: the binary is read from dist/ after its sha256 is checked against the build
manifest, and the bytes that were hashed are the bytes that are archived.
"""

from __future__ import annotations

import contextlib
import hashlib
import platform
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nox_cargo import git
from nox_cargo import manifest as mf
from nox_cargo.errors import ConfigError, NoxCargoError, Unavailable
from nox_cargo.fsutil import atomic_write_bytes, changed, locked, regular_file_inside
from nox_cargo.manifest import BuildManifest, ManifestError
from nox_cargo.packaging import archive, checksums, pending, sbom
from nox_cargo.project import Project

KIND = "package"


def manifest_path(dist_dir: Path, target_id: str) -> Path:
    return dist_dir / target_id / "package-manifest.json"


def is_windows(triple: str) -> bool:
    return "windows" in triple


@dataclass(frozen=True)
class Packaged:
    """One archive written by the stage."""

    path: Path
    sha256: str
    size: int
    binary: str
    entries: tuple[str, ...]


def load_build(dist_dir: Path, target_id: str, stage: str) -> BuildManifest:
    """The target's build manifest; none at all means its build was skipped on this machine.

    nox runs a session even when the `build(target=…)` it requires was skipped, so a missing
    manifest is this machine's limit (skipped here, a failure under CI/--strict); a corrupt or
    stale one is an error.
    """
    if not BuildManifest.path_for(dist_dir, target_id).is_file():
        raise Unavailable(
            f"There is no build of {target_id} in {dist_dir} to {stage} "
            f"(`build(target={target_id})` was skipped or has not run).",
            f'run `nox -s "build(target={target_id})"` on a machine that can build it '
            "(`nox -s doctor` shows what this one lacks), or gather its dist/ here.",
        )
    return BuildManifest.load(dist_dir, target_id)


def archive_name(
    project: Project, binary: str, version: str, target_id: str, fmt: archive.Format
) -> str:
    stem = project.config.package.name_template.format(
        bin=binary, version=version, target=target_id
    )
    return stem + archive.extension(fmt)


def read_extra_files(project: Project) -> list[archive.Entry]:
    """The configured `package.files`, relative to the workspace root; a missing one is an error."""
    root = project.workspace.root
    entries = []
    for relative in project.config.package.files:
        path = regular_file_inside(root, relative, "package.files")
        entries.append(archive.Entry(Path(relative).name, path.read_bytes()))
    return entries


def _binary_bytes(dist_dir: Path, build: BuildManifest, name: str) -> tuple[str, bytes]:
    """(file name in the archive, bytes) of a built binary, hashed once more as read."""
    path = build.verified_path(dist_dir, name)
    data = path.read_bytes()
    expected = build.artifact(name).sha256
    if hashlib.sha256(data).hexdigest() != expected:
        raise ManifestError(
            f"{path} changed while it was being packaged (sha256 differs from the build "
            f"manifest's {expected}).",
            f'run `nox -s "build(target={build.target_id})"` again.',
        )
    return path.name, data


def release_binaries(project: Project, build: BuildManifest) -> list[str]:
    wanted = project.workspace.release_binaries(project.config.binaries)
    names = [a.name for a in build.artifacts if a.name in wanted]
    if not names:
        raise ManifestError(
            f"The build of {build.target_id} recorded no released binary "
            f"(wanted: {', '.join(sorted(wanted))}; built: "
            f"{', '.join(a.name for a in build.artifacts) or 'none'}).",
            f'check `binaries` in the config and run `nox -s "build(target={build.target_id})"`.',
        )
    return names


def _remove_stale(dist_dir: Path, name: str) -> None:
    """Temp files a killed run left for `name` (the lock is held: nobody else is writing)."""
    for leftover in dist_dir.glob(f".{name}.*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()


def _write_archive(dist_dir: Path, name: str, data: bytes) -> tuple[Path, str]:
    """Archive + sidecar, keeping the rule that a sidecar never disagrees with its archive."""
    path = dist_dir / name
    digest = hashlib.sha256(data).hexdigest()
    sidecar = checksums.sidecar_path(path)
    _remove_stale(dist_dir, name)
    _remove_stale(dist_dir, sidecar.name)
    if sidecar.is_file():
        try:
            same = checksums.read(sidecar).get(name) == digest
        except checksums.ChecksumError:
            same = False
        if not same:
            sidecar.unlink()  # killed before the archive lands: old archive, no false sidecar
            changed()
    atomic_write_bytes(path, data)
    checksums.write_sidecar(path, digest)
    return path, digest


def package_target(project: Project, target_id: str) -> list[Packaged]:
    """Package every released binary of `target_id`'s build; refresh SHA256SUMS."""
    dist_dir = project.dist_dir
    epoch = git.source_date_epoch(project.root, project.environ)
    extra = read_extra_files(project)
    with locked(dist_dir):
        build = load_build(dist_dir, target_id, "package")
        _remove_stale(dist_dir, checksums.SUMS_NAME)
        _remove_stale(dist_dir, pending.marker_path(dist_dir, target_id).name)
        _remove_stale(manifest_path(dist_dir, target_id).parent, "package-manifest.json")
        fmt: archive.Format = "zip" if is_windows(build.triple) else project.config.package.format
        resolve = sbom.cargo_resolve(project.workspace.root, build.triple, build.features)
        planned: list[_Planned] = []
        for binary in release_binaries(project, build):
            file_name, data = _binary_bytes(dist_dir, build, binary)
            entries = [archive.Entry(file_name, data, executable=True), *extra]
            names = [e.name for e in entries]
            if len(set(names)) != len(names):
                raise ConfigError(
                    f"The archive of {binary} would hold two files named alike: {names}.",
                    "rename or drop one of `package.files`.",
                )
            name = archive_name(project, binary, build.version, target_id, fmt)
            root, crates = sbom.crates_for(resolve, project.workspace.binaries()[binary].name)
            document = sbom.render(
                root, crates, binary, build.artifact(binary).sha256, build.triple,
                build.features, epoch,
            )  # fmt: skip
            planned.append(
                _Planned(
                    name,
                    archive.build(entries, fmt, epoch),
                    binary,
                    tuple(entries),
                    sbom.sbom_name(name, archive.extension(fmt)),
                    document.encode(),
                    tuple(f"{c.name} {c.version}" for c in (root, *crates)),
                )
            )
        # Everything is computed; from here on dist/ changes, under the run's marker.
        done: list[Packaged] = []
        records: list[dict[str, Any]] = []
        with pending.started(dist_dir, target_id):
            for plan in planned:
                path, digest = _write_archive(dist_dir, plan.name, plan.data)
                _, sbom_digest = _write_archive(dist_dir, plan.sbom_file, plan.sbom)
                entry_names = tuple(sorted(e.name for e in plan.entries))
                done.append(Packaged(path, digest, len(plan.data), plan.binary, entry_names))
                records.append(_record(plan, digest, sbom_digest, build))
            records += _kept_records(dist_dir, target_id, {r["name"] for r in records})
            mf.write(
                manifest_path(dist_dir, target_id),
                KIND,
                {
                    "target_id": target_id,
                    "triple": build.triple,
                    "version": build.version,
                    "git_commit": build.git_commit,
                    "format": fmt,
                    "source_date_epoch": epoch,
                    "python": platform.python_version(),
                    "zlib": zlib.ZLIB_RUNTIME_VERSION,
                    "rustc": build.toolchain,
                    "archives": sorted(records, key=lambda r: str(r["name"])),
                },
            )
            checksums.write_sums(dist_dir)
    return done


@dataclass(frozen=True)
class _Planned:
    """One archive and its SBOM, computed before anything in dist/ changes."""

    name: str
    data: bytes
    binary: str
    entries: tuple[archive.Entry, ...]
    sbom_file: str
    sbom: bytes
    crates: tuple[str, ...]


def _record(plan: _Planned, digest: str, sbom_digest: str, build: BuildManifest) -> dict[str, Any]:
    """The package manifest's record of one archive."""
    return {
        "name": plan.name,
        "sha256": digest,
        "size": len(plan.data),
        "binary": plan.binary,
        "binary_file": plan.entries[0].name,
        "binary_sha256": build.artifact(plan.binary).sha256,
        "sbom": plan.sbom_file,
        "sbom_sha256": sbom_digest,
        "sbom_crates": list(plan.crates),
        "entries": [
            {
                "name": e.name,
                "size": len(e.data),
                "sha256": hashlib.sha256(e.data).hexdigest(),
                "mode": oct(e.mode),
            }
            for e in sorted(plan.entries, key=lambda e: e.name)
        ],
    }


def _kept_records(dist_dir: Path, target_id: str, replaced: set[str]) -> list[dict[str, Any]]:
    """Records of the target's other archives (another format) that are still in dist/ intact."""
    path = manifest_path(dist_dir, target_id)
    try:
        document = mf.read(path, KIND, f"package(target={target_id})")
        records = list(document["archives"])
    except (NoxCargoError, KeyError, TypeError):
        return []
    kept = []
    for record in records:
        try:
            name, digest = str(record["name"]), str(record["sha256"])
        except (KeyError, TypeError):
            continue
        if name in replaced or archive.format_of(name) is None or Path(name).name != name:
            continue
        archive_path = dist_dir / name
        try:
            intact = archive_path.is_file() and mf.sha256_file(archive_path) == digest
        except (OSError, ValueError):  # a name too long, or holding a NUL
            intact = False
        if intact:
            kept.append(record)
    return kept


def load_manifests(dist_dir: Path) -> dict[str, dict[str, Any]]:
    """Archive name → (package manifest document, archive record), for every target in dist/."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(dist_dir.glob("*/package-manifest.json")):
        target_id = path.parent.name
        document = mf.read(path, KIND, f"package(target={target_id})")
        try:
            for record in document["archives"]:
                found[record["name"]] = {"manifest": document, "record": record}
        except (KeyError, TypeError) as exc:
            raise NoxCargoError(
                f"The package manifest {path} is missing fields ({exc}).",
                f'run `nox -s "package(target={target_id})"` again.',
            ) from None
    return found
