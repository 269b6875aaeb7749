"""The release supply chain without processes: the OCI layout's bytes and digests, release tags,
the SBOM's crate selection and document, the installers' archive choice, SBOMs in SHA256SUMS."""

from __future__ import annotations

import gzip
import hashlib
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from nox_cargo.config import load
from nox_cargo.docker import index, oci
from nox_cargo.errors import ConfigError, Unavailable
from nox_cargo.packaging import checksums, installers, sbom

EPOCH = 1_700_000_000
LABELS = {"org.opencontainers.image.version": "0.3.0"}
AMD64 = b"\x7fELF-amd64" + bytes(range(256)) * 64
ARM64 = b"\x7fELF-arm64" + bytes(range(256)) * 64


def images() -> list[oci.PlatformImage]:
    return [
        oci.platform_image(AMD64, "linux", "amd64", LABELS, "2023-11-14T22:13:20Z", EPOCH),
        oci.platform_image(ARM64, "linux", "arm64", LABELS, "2023-11-14T22:13:20Z", EPOCH),
    ]


def test_the_index_digest_is_a_function_of_the_binaries_labels_and_epoch() -> None:
    first = oci.image_index(images(), LABELS)
    assert oci.image_index(images(), LABELS).digest == first.digest
    moved = [
        oci.platform_image(AMD64, "linux", "amd64", LABELS, "2023-11-14T22:13:21Z", EPOCH + 1),
        images()[1],
    ]
    assert oci.image_index(moved, LABELS).digest != first.digest
    changed = [
        oci.platform_image(AMD64[:-1] + b"\x00", "linux", "amd64", LABELS, "x", EPOCH),
        images()[1],
    ]
    assert oci.image_index(changed, LABELS).digest != first.digest


def test_the_layer_is_one_root_owned_executable_with_the_epoch_and_a_bare_gzip_header() -> None:
    image = images()[0]
    assert image.layer.data[:10] == b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # no name, time 0
    assert gzip.decompress(image.layer.data) == image.layer_tar
    [member] = oci.layer_members(image.layer_tar)
    assert (member.name, member.mode, member.uid, member.gid, member.mtime) == (
        "app", 0o755, 0, 0, EPOCH,
    )  # fmt: skip
    assert member.uname == member.gname == ""
    assert oci.layer_file(image.layer_tar, "app") == AMD64


def test_config_manifest_and_index_reference_each_other_by_digest() -> None:
    imgs = images()
    idx = json.loads(oci.image_index(imgs, LABELS).data)
    assert idx["mediaType"] == oci.INDEX_TYPE
    assert [m["platform"] for m in idx["manifests"]] == [
        {"architecture": "amd64", "os": "linux"},
        {"architecture": "arm64", "os": "linux", "variant": "v8"},
    ]
    for entry, image in zip(idx["manifests"], imgs, strict=True):
        assert entry["digest"] == "sha256:" + hashlib.sha256(image.manifest.data).hexdigest()
        assert entry["size"] == len(image.manifest.data)
        manifest = json.loads(image.manifest.data)
        assert manifest["config"]["digest"] == image.config.digest
        assert manifest["layers"][0]["digest"] == image.layer.digest
        config = json.loads(image.config.data)
        assert config["config"]["User"] == "65532:65532"
        assert config["config"]["Entrypoint"] == ["/app"]
        assert config["created"] == "2023-11-14T22:13:20Z"
        assert config["rootfs"]["diff_ids"] == [oci.digest_of(image.layer_tar)]


def test_the_layout_holds_every_blob_under_its_digest(tmp_path: Path) -> None:
    imgs = images()
    idx = oci.image_index(imgs, LABELS)
    oci.write_layout(tmp_path, imgs, idx, "0.3.0")
    assert json.loads((tmp_path / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    top = json.loads((tmp_path / "index.json").read_text())
    assert top["manifests"][0]["digest"] == idx.digest
    assert top["manifests"][0]["annotations"] == {oci.REF_NAME: "0.3.0"}
    for path in (tmp_path / "blobs" / "sha256").iterdir():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name
    assert oci.read_blob(tmp_path, idx.digest) == idx.data
    (tmp_path / "blobs" / "sha256" / idx.digest.removeprefix("sha256:")).write_bytes(b"{}")
    with pytest.raises(ValueError, match="does not match"):
        oci.read_blob(tmp_path, idx.digest)


@pytest.mark.parametrize(
    ("version", "tags"),
    [
        ("0.3.0", ["0.3.0", "0.3", "latest"]),
        ("1.10.2", ["1.10.2", "1.10", "latest"]),
        ("2.0.0-rc.1", ["2.0.0-rc.1"]),  # a pre-release never moves `latest` or `2.0`
        ("1.0.0+build.5", ["1.0.0_build.5", "1.0", "latest"]),  # `+` is not a tag character
    ],
)
def test_release_tags(version: str, tags: list[str]) -> None:
    assert index.release_tags(("{version}", "{major}.{minor}", "latest"), version) == tags


@pytest.mark.parametrize(
    ("registry", "plain_http"),
    [
        ("127.0.0.1:5000/me", True),
        ("localhost:5000", True),
        ("127.1.2.3/x", True),
        ("ghcr.io/me", False),
        ("127.0.0.1.example.com/me", False),
    ],
)
def test_only_loopback_registries_are_pushed_to_without_tls(
    registry: str, plain_http: bool
) -> None:
    assert (index.tls_flag(registry) == ["--dest-tls-verify=false"]) is plain_http


def test_a_tag_template_with_an_unknown_field_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"tags"):
        load(None, {}, ["docker.tags=['{sha}']"])
    assert load(None, {}).docker.tags == ("{version}", "{major}.{minor}", "latest")


def test_layout_checks_catch_a_binary_that_is_not_the_archived_one() -> None:
    image = images()[0]
    source = index.Source(
        "linux/amd64", "x86_64-gnu", "weft.zip", "0" * 64, "weft", AMD64,
        hashlib.sha256(AMD64).hexdigest(), "0.3.0", "abc",
    )  # fmt: skip
    assert all(c.ok for c in index.layout_checks(image, source, 20_000_000, LABELS))
    other = index.Source(**{**source.__dict__, "sha256": hashlib.sha256(b"x").hexdigest()})
    failed = [c.name for c in index.layout_checks(image, other, 20_000_000, LABELS) if not c.ok]
    assert failed == ["binary"]
    assert [c.name for c in index.layout_checks(image, source, 1000, LABELS) if not c.ok] == [
        "size"
    ]


# -- SBOM -------------------------------------------------------------------------------------


def package(pid: str, name: str, kind: str = "lib", source: str | None = None) -> dict[str, Any]:
    return {
        "id": pid,
        "name": name,
        "version": "1.0.0",
        "source": source,
        "license": "MIT",
        "targets": [{"kind": [kind], "name": name}],
    }


def dep(pid: str, *kinds: str | None) -> dict[str, Any]:
    return {"pkg": pid, "dep_kinds": [{"kind": k, "target": None} for k in kinds]}


REGISTRY = "registry+https://github.com/rust-lang/crates.io-index"
METADATA: dict[str, Any] = {
    "workspace_members": ["app", "other-member"],
    "packages": [
        package("app", "app", "bin"),
        package("other-member", "other-member"),
        package("serde", "serde", source=REGISTRY),
        package("derive", "derive", "proc-macro", source=REGISTRY),
        package("syn", "syn", source=REGISTRY),
        package("cc", "cc", source=REGISTRY),
        package("testing", "testing", source=REGISTRY),
        package("both", "both", source="sparse+https://my.registry/index/"),
        package("only-other", "only-other", source=REGISTRY),
    ],
    "resolve": {
        "nodes": [
            {
                "id": "app",
                "deps": [
                    dep("serde", None),
                    dep("derive", None),
                    dep("cc", "build"),
                    dep("testing", "dev"),
                    dep("both", "dev", None),
                ],
            },
            {"id": "other-member", "deps": [dep("only-other", None)]},
            {"id": "serde", "deps": []},
            {"id": "derive", "deps": [dep("syn", None)]},
            {"id": "syn", "deps": []},
            {"id": "cc", "deps": []},
            {"id": "testing", "deps": []},
            {"id": "both", "deps": []},
            {"id": "only-other", "deps": []},
        ]
    },
}


def test_the_sbom_follows_normal_edges_only_and_skips_proc_macros() -> None:
    root, crates = sbom.crates_for(METADATA, "app")
    assert root.name == "app"
    assert [c.name for c in crates] == ["both", "serde"]
    assert root.dependencies == ("both", "serde")


def test_crates_of_another_registry_name_it_in_their_purl() -> None:
    _, crates = sbom.crates_for(METADATA, "app")
    purls = {c.name: c.purl for c in crates}
    assert purls["serde"] == "pkg:cargo/serde@1.0.0"
    assert purls["both"] == "pkg:cargo/both@1.0.0?repository_url=https://my.registry/index/"


def test_the_sbom_document_is_cyclonedx_and_reproducible() -> None:
    pytest.importorskip("cyclonedx")
    root, crates = sbom.crates_for(METADATA, "app")
    args = (root, crates, "app", "ab" * 32, "x86_64-unknown-linux-musl", ("fast",), EPOCH)
    text = sbom.render(*args)
    assert sbom.render(*args) == text
    document = json.loads(text)
    assert document["bomFormat"] == "CycloneDX"
    assert document["specVersion"] == sbom.SPEC
    assert document["metadata"]["component"]["name"] == "app"
    assert document["metadata"]["component"]["hashes"] == [{"alg": "SHA-256", "content": "ab" * 32}]
    assert document["metadata"]["timestamp"].startswith("2023-11-14T22:13:20")
    assert {c["name"] for c in document["components"]} == {"serde", "both"}
    graph = {d["ref"]: d.get("dependsOn", []) for d in document["dependencies"]}
    assert sorted(graph["pkg:cargo/app@1.0.0"]) == sorted(
        c["bom-ref"] for c in document["components"]
    )
    validation = pytest.importorskip("cyclonedx.validation.json")
    from cyclonedx.schema import SchemaVersion

    assert validation.JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None


# -- installers -------------------------------------------------------------------------------


def manifests(*archives: tuple[str, str]) -> dict[str, dict[str, Any]]:
    return {
        name: {
            "manifest": {"triple": triple},
            "record": {
                "binary": "weft",
                "binary_file": "weft.exe" if "windows" in triple else "weft",
            },
        }
        for name, triple in archives
    }


def test_installers_prefer_musl_and_cover_each_os_and_cpu_once() -> None:
    found = installers.choices(
        manifests(
            ("weft-x86_64-gnu.zip", "x86_64-unknown-linux-gnu"),
            ("weft-x86_64-musl.tar.gz", "x86_64-unknown-linux-musl"),
            ("weft-aarch64-macos.zip", "aarch64-apple-darwin"),
            ("weft-x86_64-windows-gnu.zip", "x86_64-pc-windows-gnu"),
            ("weft-x86_64-windows.zip", "x86_64-pc-windows-msvc"),
            ("weft-wasm.zip", "wasm32-wasip1"),
        ),
        "weft",
    )
    assert [(c.os, c.arch, c.archive) for c in found] == [
        ("darwin", "aarch64", "weft-aarch64-macos.zip"),
        ("linux", "x86_64", "weft-x86_64-musl.tar.gz"),
        ("windows", "x86_64", "weft-x86_64-windows.zip"),
    ]
    script = installers.shell("weft", "0.3.0", "https://x.example/v0.3.0", found)
    assert "Darwin/aarch64|Darwin/arm64) echo 'weft-aarch64-macos.zip weft'" in script
    assert "windows" not in script.split("archive_for()")[1].split("}")[0]
    ps1 = installers.powershell("weft", "0.3.0", "https://x.example/v0.3.0", found)
    assert "'X64' { @('weft-x86_64-windows.zip', 'weft.exe') }" in ps1
    assert "Get-FileHash -Algorithm SHA256" in ps1


def test_the_download_url_defaults_to_github_releases_and_must_be_quotable() -> None:
    assert (
        installers.download_url("", "https://github.com/o/weft/", "0.3.0")
        == "https://github.com/o/weft/releases/download/v0.3.0"
    )
    assert installers.download_url("https://m.example/{version}/", None, "1.0") == (
        "https://m.example/1.0"
    )
    with pytest.raises(Unavailable, match="download-url"):  # skipped locally, fails in CI
        installers.download_url("", None, "1.0")
    with pytest.raises(ConfigError, match="cannot quote"):
        installers.download_url("https://x.example/'$(rm -rf ~)'", None, "1.0")


def test_sboms_and_installers_are_listed_in_sha256sums(tmp_path: Path) -> None:
    (tmp_path / "weft-0.3.0-x86_64-gnu.zip").write_bytes(b"zip")
    (tmp_path / "weft-0.3.0-x86_64-gnu.cdx.json").write_text("{}")
    (tmp_path / "install.sh").write_text("#!/bin/sh\n")
    (tmp_path / "notes.txt").write_text("not released")
    _, digests = checksums.write_sums(tmp_path)
    assert sorted(digests) == [
        "install.sh",
        "weft-0.3.0-x86_64-gnu.cdx.json",
        "weft-0.3.0-x86_64-gnu.zip",
    ]


def test_sha256sums_still_needs_an_archive(tmp_path: Path) -> None:
    (tmp_path / "install.sh").write_text("#!/bin/sh\n")
    with pytest.raises(checksums.ChecksumError, match="No release archives"):
        checksums.write_sums(tmp_path)


def test_a_tar_layer_reader_handles_missing_names() -> None:
    assert oci.layer_file(images()[0].layer_tar, "bin/sh") is None
    assert isinstance(oci.layer_members(images()[0].layer_tar)[0], tarfile.TarInfo)


def _dist_with_sbom(dist: Path, sbom_text: str, recorded: str | None) -> None:
    """An archive + SBOM as `package` leaves them (the package manifest records `recorded`)."""
    from nox_cargo import manifest as mf
    from nox_cargo.packaging import archive, release

    name = "weft-0.3.0-x86_64-gnu.zip"
    entry = archive.Entry("weft", b"\x7fELF-binary", executable=True)
    release._write_archive(dist, name, archive.build([entry], "zip", EPOCH))
    release._write_archive(dist, "weft-0.3.0-x86_64-gnu.cdx.json", sbom_text.encode())
    record = {
        "name": name,
        "binary": "weft",
        "binary_file": "weft",
        "entries": [{"name": "weft", "sha256": hashlib.sha256(entry.data).hexdigest()}],
        "sbom": "weft-0.3.0-x86_64-gnu.cdx.json",
        "sbom_sha256": recorded,
    }
    mf.write(
        release.manifest_path(dist, "x86_64-gnu"),
        release.KIND,
        {"target_id": "x86_64-gnu", "archives": [record]},
    )
    checksums.write_sums(dist)


def test_verify_checks_that_each_sbom_is_cyclonedx_and_the_one_recorded(tmp_path: Path) -> None:
    from nox_cargo.packaging.verify import verify

    good = '{"bomFormat": "CycloneDX", "specVersion": "1.6"}\n'
    digest = hashlib.sha256(good.encode()).hexdigest()
    _dist_with_sbom(tmp_path / "ok", good, digest)
    report = verify(tmp_path / "ok", ())
    assert report.problems == []
    assert ("weft-0.3.0-x86_64-gnu.cdx.json", digest[:16], "", "package manifest") in report.rows

    _dist_with_sbom(tmp_path / "other", good, "0" * 64)  # re-summed after a swap
    assert verify(tmp_path / "other", ()).problems == [
        "weft-0.3.0-x86_64-gnu.cdx.json differs from the SBOM its package manifest recorded"
    ]
    _dist_with_sbom(tmp_path / "bad", "<bom/>\n", None)
    assert verify(tmp_path / "bad", ()).problems == [
        "weft-0.3.0-x86_64-gnu.cdx.json is not a CycloneDX JSON document"
    ]
