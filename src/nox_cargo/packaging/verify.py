"""`verify`: re-hash dist/ against SHA256SUMS and every sidecar, and open every archive.

Every problem is collected and reported together, each naming its file; one flipped byte in an
archive, a sidecar or SHA256SUMS is enough to fail.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import stat
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from nox_cargo.config import PackageConfig
from nox_cargo.errors import NoxCargoError
from nox_cargo.manifest import BuildManifest, ManifestError, sha256_file
from nox_cargo.packaging import checksums, pending
from nox_cargo.packaging.archive import format_of
from nox_cargo.packaging.release import load_manifests


class VerificationFailed(NoxCargoError):
    """dist/ does not match its checksums, or an archive is unsafe or incomplete."""


@dataclass(frozen=True)
class Member:
    name: str
    kind: str  # "file" | "dir" | "link" | "other"
    mode: int
    link: str = ""
    sha256: str = ""


@dataclass
class Report:
    """What `verify` found: per-archive rows for the table, notes, and problems."""

    rows: list[tuple[str, str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _unsafe_name(name: str) -> str | None:
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "absolute path"
    if "\\" in name:
        return "backslash in path"
    if ".." in PurePosixPath(name).parts:
        return "`..` in path"
    return None


def _link_escapes(member_name: str, target: str) -> bool:
    if target.startswith("/"):
        return True
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(member_name), target))
    return joined == ".." or joined.startswith("../")


@dataclass(frozen=True)
class Limits:
    """What `verify` agrees to decompress, checked on each entry's declared sizes before reading."""

    max_entry_size: int = 512 * 1024**2
    max_ratio: float = 200.0

    @classmethod
    def from_config(cls, package: PackageConfig) -> Limits:
        return cls(int(package.max_entry_size), float(package.max_compression_ratio))


RATIO_FLOOR = 1024 * 1024  # small entries (a README of one repeated line) may compress a lot
CHUNK = 1 << 20
LINK_MAX = 4096


def _hash(fh: IO[bytes]) -> str:
    """sha256 of a stream, read in CHUNK pieces: memory stays flat whatever the entry's size."""
    digest = hashlib.sha256()
    for chunk in iter(lambda: fh.read(CHUNK), b""):
        digest.update(chunk)
    return digest.hexdigest()


def _check_declared(path: Path, name: str, size: int, compressed: int, limits: Limits) -> None:
    """Refuse an entry before reading it when its declared size is over a limit."""
    if size > limits.max_entry_size:
        raise VerificationFailed(
            f"{path.name}: entry {name!r} declares {size} bytes, more than "
            f"`package.max-entry-size` ({limits.max_entry_size}); it was not read"
        )
    if size > RATIO_FLOOR and size > compressed * limits.max_ratio:
        ratio = size / max(compressed, 1)
        raise VerificationFailed(
            f"{path.name}: entry {name!r} expands {ratio:.0f}x ({compressed} -> {size} bytes), "
            f"more than `package.max-compression-ratio` ({limits.max_ratio:g}); it was not read"
        )


def read_members(path: Path, limits: Limits | None = None) -> list[Member]:
    """Every entry of an archive, with the hash of each regular file, read as a stream.

    Declared sizes are checked against `limits` before an entry is read, and no entry is ever
    held in memory whole: zip entries are inflated and hashed in chunks (their CRC is checked at
    the end of each), tar archives are read in one sequential pass.
    """
    limits = limits or Limits()
    fmt = format_of(path.name)
    members: list[Member] = []
    if fmt == "zip":
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                mode = info.external_attr >> 16
                if info.is_dir():
                    members.append(Member(info.filename, "dir", mode))
                    continue
                _check_declared(path, info.filename, info.file_size, info.compress_size, limits)
                if stat.S_ISLNK(mode):
                    if info.file_size > LINK_MAX:
                        raise VerificationFailed(
                            f"{path.name}: link {info.filename!r} has a {info.file_size}-byte "
                            "target"
                        )
                    data = zf.read(info)
                    members.append(
                        Member(info.filename, "link", mode, data.decode("utf-8", "replace"))
                    )
                    continue
                try:
                    with zf.open(info) as fh:
                        digest = _hash(fh)
                except zipfile.BadZipFile as exc:
                    raise VerificationFailed(
                        f"{path}: entry {info.filename} fails its CRC check ({exc})."
                    ) from None
                members.append(Member(info.filename, "file", stat.S_IMODE(mode), "", digest))
        return members
    compressed = path.stat().st_size
    with tarfile.open(path, mode="r|*") as tar:
        for ti in tar:
            if ti.isreg():
                _check_declared(path, ti.name, ti.size, compressed, limits)
                stream = tar.extractfile(ti)
                assert stream is not None
                members.append(Member(ti.name, "file", ti.mode, "", _hash(stream)))
            elif ti.isdir():
                members.append(Member(ti.name, "dir", ti.mode))
            elif ti.issym() or ti.islnk():
                members.append(Member(ti.name, "link", ti.mode, ti.linkname))
            else:
                members.append(Member(ti.name, "other", ti.mode))
    return members


def check_members(path: Path, members: list[Member]) -> list[str]:
    problems = []
    for m in members:
        reason = _unsafe_name(m.name)
        if reason:
            problems.append(f"{path.name}: entry {m.name!r} has an {reason}")
        if m.kind == "link" and _link_escapes(m.name, m.link):
            problems.append(f"{path.name}: link {m.name!r} -> {m.link!r} leaves the archive")
        if m.kind == "other":
            problems.append(
                f"{path.name}: entry {m.name!r} is a device, fifo or other special file"
            )
    return problems


def _hash_archives(dist_dir: Path, report: Report) -> dict[str, str]:
    """name → sha256 of every release file in dist/ (archives, SBOMs, installers); a name no
    checksum line can hold is a problem."""
    actual: dict[str, str] = {}
    for archive in checksums.assets_in(dist_dir):
        problem = checksums.name_problem(archive)
        if problem is not None:
            report.problems.append(problem.render())
            continue
        actual[archive.name] = sha256_file(archive)
    return actual


def _check_sums(dist_dir: Path, report: Report) -> dict[str, str]:
    sums_path = dist_dir / checksums.SUMS_NAME
    if not sums_path.is_file():
        raise VerificationFailed(
            f"{sums_path} does not exist.", "run `nox -s checksums` (or `nox -s package`) first."
        )
    try:
        listed = checksums.read(sums_path)
    except checksums.ChecksumError as exc:
        report.problems.append(exc.message)
        listed = {}
    actual = _hash_archives(dist_dir, report)
    for name in sorted(set(listed) - set(actual)):
        report.problems.append(f"{checksums.SUMS_NAME} lists {name}, which is not in {dist_dir}")
    for name, digest in sorted(actual.items()):
        sidecar = checksums.sidecar_path(dist_dir / name)
        side: str | None = None
        if not sidecar.is_file():
            report.problems.append(f"{name} has no sidecar {sidecar.name}")
        else:
            try:
                side_map = checksums.read(sidecar)
            except checksums.ChecksumError as exc:
                report.problems.append(exc.message)
                side_map = {}
            if side_map and set(side_map) != {name}:
                report.problems.append(
                    f"{sidecar.name} names {', '.join(sorted(side_map))}, not {name}"
                )
            side = side_map.get(name)
        in_sums = listed.get(name)
        if in_sums is None and listed:
            report.problems.append(f"{name} is not listed in {checksums.SUMS_NAME}")
        if digest not in (in_sums, side):
            report.problems.append(
                f"{name} changed: sha256 {digest}, but {checksums.SUMS_NAME} says {in_sums} "
                f"and {sidecar.name} says {side}"
            )
        elif in_sums is not None and digest != in_sums:
            report.problems.append(
                f"{checksums.SUMS_NAME} is wrong about {name}: it says {in_sums}, the archive "
                f"and its sidecar hash to {digest}"
            )
        elif side is not None and digest != side:
            report.problems.append(
                f"{sidecar.name} is wrong: it says {side}, {name} and {checksums.SUMS_NAME} "
                f"say {digest}"
            )
    for sidecar in sorted(dist_dir.glob(f"*{checksums.SIDECAR_SUFFIX}")):
        owner = sidecar.name[: -len(checksums.SIDECAR_SUFFIX)]
        if owner not in actual:
            report.problems.append(f"{sidecar.name} has no archive {owner} beside it")
    return actual


def _check_contents(
    dist_dir: Path,
    name: str,
    members: list[Member],
    expected: dict[str, Any] | None,
    extra_files: tuple[str, ...],
    report: Report,
) -> str:
    files = {m.name: m for m in members if m.kind == "file"}
    if expected is None:
        # A release job holding only archives: check the layout, say what was not compared.
        missing = [f for f in extra_files if f not in files]
        for f in missing:
            report.problems.append(f"{name}: expected file {f} is missing")
        if not any(m.mode & 0o111 for m in files.values()):
            report.problems.append(f"{name}: no executable entry (the binary is missing)")
        report.notes.append(
            f"{name}: no package manifest in dist/, so the binary's hash was not compared "
            "with a build (only archives are here)"
        )
        return "layout only"
    record = expected["record"]
    document = expected["manifest"]
    for entry in record["entries"]:
        got = files.get(entry["name"])
        if got is None:
            report.problems.append(f"{name}: expected file {entry['name']} is missing")
        elif got.sha256 != entry["sha256"]:
            report.problems.append(
                f"{name}: {entry['name']} differs from the package manifest's record"
            )
    unexpected = sorted(set(files) - {e["name"] for e in record["entries"]})
    for extra in unexpected:
        report.problems.append(f"{name}: unexpected entry {extra}")
    target_id = document["target_id"]
    if not BuildManifest.path_for(dist_dir, target_id).is_file():
        report.notes.append(
            f"{name}: no build manifest for {target_id} in dist/ (a release job with only "
            "archives); the binary was checked against the package manifest only"
        )
        return "package manifest"
    try:
        build = BuildManifest.load(dist_dir, target_id)
        built = build.artifact(record["binary"]).sha256
    except ManifestError as exc:
        report.problems.append(f"{name}: {exc.message}")
        return "build manifest unreadable"
    binary = files.get(record["binary_file"])
    if binary is not None and binary.sha256 != built:
        report.problems.append(
            f"{name}: {record['binary_file']} has sha256 {binary.sha256}, but the build of "
            f"{target_id} recorded {built}"
        )
    return "build manifest"


def verify(dist_dir: Path, extra_files: tuple[str, ...], limits: Limits | None = None) -> Report:
    """Check everything; the report's problems are empty only if all of dist/ is intact.

    When a `package` run was interrupted (its marker is in dist/, see `pending`) and dist/ is not
    consistent, the first problem names that run and the command that completes it.
    """
    report = Report()
    _verify_into(dist_dir, extra_files, limits or Limits(), report)
    runs = pending.interrupted(dist_dir)
    if runs and report.problems:
        report.problems[:0] = [run.describe() for run in runs]
    elif runs:
        report.notes.extend(f"{run.describe()}; dist/ is consistent nonetheless" for run in runs)
    return report


def _verify_into(
    dist_dir: Path, extra_files: tuple[str, ...], limits: Limits, report: Report
) -> None:
    actual = _check_sums(dist_dir, report)
    try:
        manifests = load_manifests(dist_dir)
    except NoxCargoError as exc:
        report.problems.append(exc.message)
        manifests = {}
    sboms = {
        str(m["record"].get("sbom")): str(m["record"].get("sbom_sha256"))
        for m in manifests.values()
        if isinstance(m.get("record"), dict) and m["record"].get("sbom")
    }
    for name in sorted(actual):
        path = dist_dir / name
        if format_of(name) is None:
            if path.stat().st_size > limits.max_entry_size:
                report.problems.append(
                    f"{name} is {path.stat().st_size} bytes, more than `package.max-entry-size` "
                    f"({limits.max_entry_size}); it was not read"
                )
                continue
            report.rows.append((name, actual[name][:16], "", _check_other(path, sboms, report)))
            continue
        try:
            members = read_members(path, limits)
        except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            report.problems.append(f"{name} cannot be read as an archive: {exc}")
            report.rows.append((name, "unreadable", "", ""))
            continue
        except VerificationFailed as exc:
            report.problems.append(exc.message)
            continue
        report.problems.extend(check_members(path, members))
        try:
            checked = _check_contents(
                dist_dir, name, members, manifests.get(name), extra_files, report
            )
        except (KeyError, TypeError) as exc:
            report.problems.append(f"{name}: its package manifest record is malformed ({exc})")
            checked = "malformed package manifest"
        files = sorted(m.name for m in members if m.kind == "file")
        report.rows.append((name, actual[name][:16], ", ".join(files), checked))


def _check_other(path: Path, sboms: dict[str, str], report: Report) -> str:
    """An SBOM must be a CycloneDX document and the one its package manifest recorded."""
    if not path.name.endswith(checksums.SBOM_SUFFIX):
        return "checksums only"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        ok = isinstance(document, dict) and document.get("bomFormat") == "CycloneDX"
    except (UnicodeDecodeError, json.JSONDecodeError):
        ok = False
    if not ok:
        report.problems.append(f"{path.name} is not a CycloneDX JSON document")
        return "unreadable SBOM"
    recorded = sboms.get(path.name)
    if recorded is None:
        report.notes.append(f"{path.name}: no package manifest records it (only checksums checked)")
        return "checksums only"
    if recorded != sha256_file(path):
        report.problems.append(f"{path.name} differs from the SBOM its package manifest recorded")
    return "package manifest"
