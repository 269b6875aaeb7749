"""Release packaging without cargo: archive bytes, checksum files, and what `verify` catches."""

from __future__ import annotations

import gzip
import hashlib
import io
import lzma
import tarfile
import zipfile
from pathlib import Path

import pytest

from nox_cargo import manifest as mf
from nox_cargo.config import load
from nox_cargo.errors import ConfigError, Unavailable
from nox_cargo.manifest import Artifact, BuildManifest
from nox_cargo.packaging import archive, checksums, release
from nox_cargo.packaging.verify import verify

EPOCH = 1_700_000_000
BINARY = b"\x7fELF" + bytes(range(256)) * 40
DOCS = {"README.md": b"# weft\n", "LICENSE": b"MIT\n", "CHANGELOG.md": b"## 0.3.0\n"}
EXTRA = tuple(DOCS)


def entries() -> list[archive.Entry]:
    docs = [archive.Entry(name, data) for name, data in DOCS.items()]
    return [*docs, archive.Entry("weft", BINARY, executable=True)]


@pytest.mark.parametrize("fmt", archive.FORMATS)
def test_archive_bytes_depend_only_on_entries_format_and_epoch(fmt: archive.Format) -> None:
    first = archive.build(entries(), fmt, EPOCH)
    assert archive.build(list(reversed(entries())), fmt, EPOCH) == first
    assert archive.build(entries(), fmt, EPOCH + 3600) != first


def test_zip_entries_are_sorted_with_fixed_attributes_and_no_extra_fields() -> None:
    data = archive.build(entries(), "zip", EPOCH)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
        assert [i.filename for i in infos] == sorted(["weft", *DOCS])
        for info in infos:
            assert info.create_system == 3
            assert info.extra == b""
            assert info.date_time == (2023, 11, 14, 22, 13, 20)
            mode = info.external_attr >> 16
            assert mode == (0o100755 if info.filename == "weft" else 0o100644)
        assert zf.read("weft") == BINARY


def test_zip_clamps_epochs_before_1980() -> None:
    data = archive.build(entries(), "zip", 0)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.infolist()[0].date_time == (1980, 1, 1, 0, 0, 0)


@pytest.mark.parametrize("fmt", ["tar.gz", "tar.xz"])
def test_tar_members_have_fixed_owner_time_and_mode(fmt: archive.Format) -> None:
    data = archive.build(entries(), fmt, EPOCH)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == sorted(["weft", *DOCS])
        for m in members:
            assert (m.uid, m.gid, m.uname, m.gname, m.mtime) == (0, 0, "", "", EPOCH)
            assert m.mode == (0o755 if m.name == "weft" else 0o644)
            assert m.isreg()


def test_gzip_header_has_no_name_and_no_time() -> None:
    data = archive.build(entries(), "tar.gz", EPOCH)
    assert data[:3] == b"\x1f\x8b\x08"
    assert data[3] & 0x08 == 0  # FNAME flag clear
    assert data[4:8] == b"\0\0\0\0"  # MTIME zero
    assert gzip.decompress(data)


def test_xz_stream_decodes() -> None:
    assert lzma.decompress(archive.build(entries(), "tar.xz", EPOCH))


def test_checksum_lines_round_trip_sorted_with_two_spaces() -> None:
    text = checksums.render({"b.zip": "b" * 64, "a.tar.gz": "a" * 64})
    assert text == f"{'a' * 64}  a.tar.gz\n{'b' * 64}  b.zip\n"
    assert checksums.parse(text, Path("SUMS")) == {"a.tar.gz": "a" * 64, "b.zip": "b" * 64}


@pytest.mark.parametrize(
    "text",
    [f"{'a' * 64} x.zip\n", f"{'a' * 63}  x.zip\n", f"{'a' * 64}  x.zip", f"{'A' * 64}  x.zip\n"],
)
def test_malformed_checksum_files_name_the_file(text: str) -> None:
    with pytest.raises(checksums.ChecksumError, match="SHA256SUMS"):
        checksums.parse(text, Path("dist/SHA256SUMS"))


def package_by_hand(dist: Path, fmt: archive.Format = "zip", build_manifest: bool = True) -> Path:
    """dist/ as `package` leaves it, without cargo: binary, build manifest, archive, sums."""
    (dist / "x86_64-gnu").mkdir(parents=True)
    (dist / "x86_64-gnu" / "weft").write_bytes(BINARY)
    digest = hashlib.sha256(BINARY).hexdigest()
    if build_manifest:
        BuildManifest(
            "x86_64-gnu",
            "x86_64-unknown-linux-gnu",
            "native",
            "",
            "rustc 1.63.0",
            "",
            "release",
            (),
            (),
            "0.3.0",
            "abc",
            EPOCH,
            1.0,
            (Artifact("weft", "x86_64-gnu/weft", len(BINARY), digest, True, "elf"),),
        ).save(dist)
    name = f"weft-0.3.0-x86_64-gnu.{fmt}"
    data = archive.build(entries(), fmt, EPOCH)
    path, _ = release._write_archive(dist, name, data)
    record = {
        "name": name,
        "binary": "weft",
        "binary_file": "weft",
        "entries": [
            {"name": e.name, "sha256": hashlib.sha256(e.data).hexdigest()} for e in entries()
        ],
    }
    mf.write(
        release.manifest_path(dist, "x86_64-gnu"),
        release.KIND,
        {"target_id": "x86_64-gnu", "archives": [record]},
    )
    checksums.write_sums(dist)
    return path


@pytest.mark.parametrize("fmt", archive.FORMATS)
def test_verify_passes_an_intact_dist(tmp_path: Path, fmt: archive.Format) -> None:
    package_by_hand(tmp_path, fmt)
    report = verify(tmp_path, EXTRA)
    assert report.problems == []
    assert [row[3] for row in report.rows] == ["build manifest"]


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset % len(data)] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("offset", [0, 100, 5000, -1])
def test_one_flipped_byte_in_the_archive_fails_naming_it(tmp_path: Path, offset: int) -> None:
    archive_path = package_by_hand(tmp_path)
    flip(archive_path, offset)
    problems = verify(tmp_path, EXTRA).problems
    assert problems
    assert any(archive_path.name in p and "changed" in p for p in problems)


@pytest.mark.parametrize("offset", [0, 30, 63, 64, 70, -1])
def test_one_flipped_byte_in_the_sidecar_fails_naming_it(tmp_path: Path, offset: int) -> None:
    archive_path = package_by_hand(tmp_path)
    sidecar = checksums.sidecar_path(archive_path)
    flip(sidecar, offset)
    problems = verify(tmp_path, EXTRA).problems
    assert problems
    assert any(sidecar.name in p for p in problems)


@pytest.mark.parametrize("offset", [0, 30, 63, 64, 70, -1])
def test_one_flipped_byte_in_sha256sums_fails_naming_it(tmp_path: Path, offset: int) -> None:
    package_by_hand(tmp_path)
    flip(tmp_path / "SHA256SUMS", offset)
    problems = verify(tmp_path, EXTRA).problems
    assert problems
    assert any("SHA256SUMS" in p for p in problems)


def test_a_binary_that_differs_from_the_build_fails(tmp_path: Path) -> None:
    package_by_hand(tmp_path)
    build = BuildManifest.load(tmp_path, "x86_64-gnu")
    other = Artifact("weft", "x86_64-gnu/weft", 1, "0" * 64, True, "elf")
    BuildManifest(**{**build.__dict__, "artifacts": (other,)}).save(tmp_path)
    problems = verify(tmp_path, EXTRA).problems
    assert any("recorded" in p and "weft-0.3.0-x86_64-gnu.zip" in p for p in problems)


def test_archives_without_manifests_are_checked_for_layout_and_say_so(tmp_path: Path) -> None:
    package_by_hand(tmp_path)
    (tmp_path / "x86_64-gnu" / "package-manifest.json").unlink()
    report = verify(tmp_path, EXTRA)
    assert report.problems == []
    assert any("not compared" in n for n in report.notes)
    report = verify(tmp_path, (*EXTRA, "NOTICE"))
    assert any("NOTICE is missing" in p for p in report.problems)


def test_a_release_job_without_build_manifests_says_so(tmp_path: Path) -> None:
    package_by_hand(tmp_path, build_manifest=False)
    report = verify(tmp_path, EXTRA)
    assert report.problems == []
    assert any("no build manifest" in n for n in report.notes)


def evil_tar(path: Path, member: tarfile.TarInfo) -> None:
    with tarfile.open(path, "w:gz") as tar:
        tar.addfile(member, io.BytesIO(b"x" * member.size) if member.isreg() else None)


@pytest.mark.parametrize(
    ("name", "kind", "link", "needle"),
    [
        ("/etc/passwd", tarfile.REGTYPE, "", "absolute path"),
        ("../escape", tarfile.REGTYPE, "", "`..`"),
        ("weft", tarfile.SYMTYPE, "../../etc/passwd", "leaves the archive"),
        ("weft", tarfile.SYMTYPE, "/bin/sh", "leaves the archive"),
        ("weft", tarfile.LNKTYPE, "../x", "leaves the archive"),
        ("dev", tarfile.CHRTYPE, "", "special file"),
    ],
)
def test_unsafe_archives_fail(
    tmp_path: Path, name: str, kind: bytes, link: str, needle: str
) -> None:
    member = tarfile.TarInfo(name)
    member.type = kind
    member.linkname = link
    member.size = 1 if kind == tarfile.REGTYPE else 0
    path = tmp_path / "evil-1.0-x.tar.gz"
    evil_tar(path, member)
    checksums.write_sidecar(path, mf.sha256_file(path))
    checksums.write_sums(tmp_path)
    problems = verify(tmp_path, ()).problems
    assert any(needle in p and path.name in p for p in problems), problems


def test_write_sums_refuses_an_archive_that_disagrees_with_its_sidecar(tmp_path: Path) -> None:
    archive_path = package_by_hand(tmp_path)
    flip(archive_path, 10)
    with pytest.raises(checksums.ChecksumError, match=archive_path.name):
        checksums.write_sums(tmp_path)


def test_write_sums_without_archives_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(checksums.ChecksumError, match="No release archives"):
        checksums.write_sums(tmp_path)


def test_stale_sidecar_is_removed_before_a_different_archive_lands(tmp_path: Path) -> None:
    archive_path = package_by_hand(tmp_path)
    release._write_archive(tmp_path, archive_path.name, b"new bytes")
    assert checksums.read(checksums.sidecar_path(archive_path)) == {
        archive_path.name: hashlib.sha256(b"new bytes").hexdigest()
    }


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ("package.name-template={bin}-{arch}", "name-template"),
        ("package.name-template=../{bin}", "name-template"),
        ("package.format=rar", "format"),
        ('package.files=["../secret"]', "files"),
    ],
)
def test_bad_package_config_names_the_key(override: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        load(None, {}, [override])


def test_no_build_manifest_means_the_build_was_skipped(tmp_path: Path) -> None:
    with pytest.raises(Unavailable, match="no build of x86_64-macos"):
        release.load_build(tmp_path, "x86_64-macos", "package")
    (tmp_path / "x86_64-macos").mkdir()
    (tmp_path / "x86_64-macos" / "build-manifest.json").write_text("{not json")
    with pytest.raises(mf.ManifestError, match="corrupt"):
        release.load_build(tmp_path, "x86_64-macos", "package")


def test_write_sums_writes_a_missing_sidecar_from_the_bytes(tmp_path: Path) -> None:
    archive_path = package_by_hand(tmp_path)
    sidecar = checksums.sidecar_path(archive_path)
    sidecar.unlink()
    checksums.write_sums(tmp_path)
    assert checksums.read(sidecar) == {archive_path.name: mf.sha256_file(archive_path)}


def test_a_malformed_package_manifest_record_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    archive_path = package_by_hand(tmp_path)
    mf.write(
        release.manifest_path(tmp_path, "x86_64-gnu"),
        release.KIND,
        {"target_id": "x86_64-gnu", "archives": [{"name": archive_path.name}]},
    )
    problems = verify(tmp_path, EXTRA).problems
    assert any("malformed" in p and archive_path.name in p for p in problems)
