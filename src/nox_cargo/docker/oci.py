"""The release image written directly as an OCI image layout: no builder, byte-reproducible.

Each platform's image is one layer holding one file, `/app` (the archived binary, mode 0755,
owner 0:0, mtime SOURCE_DATE_EPOCH) in a PAX tar, gzip-compressed with no name and time 0; a config
(os/arch, `User 65532:65532`, exec-form `Entrypoint ["/app"]`, the OCI labels, `created` =
SOURCE_DATE_EPOCH); and a manifest. One image index lists every platform's manifest. All JSON is
serialized with sorted keys and no spaces, so the same binaries, labels and epoch give the same
digests on every machine and every rebuild.

The layout (https://github.com/opencontainers/image-spec/blob/main/image-layout.md) is a directory
`oci-layout`, `index.json` (naming the image index by `org.opencontainers.image.ref.name`) and
`blobs/sha256/<hex>`; `skopeo copy --all oci:<dir>:<ref> docker://…` pushes it unchanged.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nox_cargo.fsutil import atomic_write_bytes

BINARY_PATH = "app"
USER = "65532:65532"
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
REF_NAME = "org.opencontainers.image.ref.name"
# The variant the image spec names for each architecture that has one (arm64 is v8).
VARIANTS = {"arm64": "v8"}


def canonical(document: Mapping[str, Any]) -> bytes:
    """The bytes of a JSON document: sorted keys, no whitespace, UTF-8."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Blob:
    media_type: str
    data: bytes

    @property
    def digest(self) -> str:
        return digest_of(self.data)

    def descriptor(self, **extra: Any) -> dict[str, Any]:
        return {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": len(self.data),
            **extra,
        }


@dataclass(frozen=True)
class PlatformImage:
    """One platform's image: its layer, config and manifest blobs."""

    os: str
    arch: str
    layer: Blob
    layer_tar: bytes  # the uncompressed layer (its sha256 is the diff ID)
    config: Blob
    manifest: Blob

    @property
    def platform(self) -> str:
        return f"{self.os}/{self.arch}"

    @property
    def blobs(self) -> tuple[Blob, ...]:
        return (self.layer, self.config, self.manifest)


def layer_tar(binary: bytes, epoch: int) -> bytes:
    """A tar holding only `app`: regular file, 0755, 0:0 with no owner names, mtime `epoch`."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(BINARY_PATH)
        info.size = len(binary)
        info.mtime = epoch
        info.mode = 0o755
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.type = tarfile.REGTYPE
        tar.addfile(info, io.BytesIO(binary))
    return out.getvalue()


def gzip_bytes(data: bytes) -> bytes:
    """gzip with no file name and mtime 0 in the header, level 9: a pure function of `data`."""
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=9, mtime=0) as gz:
        gz.write(data)
    return out.getvalue()


def platform_image(
    binary: bytes, os: str, arch: str, labels: Mapping[str, str], created: str, epoch: int
) -> PlatformImage:
    tar = layer_tar(binary, epoch)
    layer = Blob(LAYER_TYPE, gzip_bytes(tar))
    platform: dict[str, str] = {"architecture": arch, "os": os}
    if arch in VARIANTS:
        platform["variant"] = VARIANTS[arch]
    config = {
        **platform,
        "created": created,
        "config": {
            "User": USER,
            "Entrypoint": [f"/{BINARY_PATH}"],
            "Labels": dict(labels),
        },
        "rootfs": {"type": "layers", "diff_ids": [digest_of(tar)]},
        "history": [{"created": created, "created_by": f"nox-cargo: COPY {BINARY_PATH} /app"}],
    }
    config_blob = Blob(CONFIG_TYPE, canonical(config))
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": config_blob.descriptor(),
        "layers": [layer.descriptor()],
        "annotations": dict(labels),
    }
    return PlatformImage(
        os, arch, layer, tar, config_blob, Blob(MANIFEST_TYPE, canonical(manifest))
    )


def image_index(images: Sequence[PlatformImage], labels: Mapping[str, str]) -> Blob:
    entries = []
    for image in images:
        platform = {"architecture": image.arch, "os": image.os}
        if image.arch in VARIANTS:
            platform["variant"] = VARIANTS[image.arch]
        entries.append(image.manifest.descriptor(platform=platform))
    document = {
        "schemaVersion": 2,
        "mediaType": INDEX_TYPE,
        "manifests": entries,
        "annotations": dict(labels),
    }
    return Blob(INDEX_TYPE, canonical(document))


def write_layout(directory: Path, images: Sequence[PlatformImage], index: Blob, ref: str) -> None:
    """The OCI layout in `directory` (blobs first, `index.json` last: a reader never sees an index
    naming a blob that is not there yet)."""
    blobs = directory / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    for blob in (*[b for image in images for b in image.blobs], index):
        path = blobs / blob.digest.removeprefix("sha256:")
        if not path.is_file() or path.stat().st_size != len(blob.data):
            atomic_write_bytes(path, blob.data)
    atomic_write_bytes(directory / "oci-layout", canonical({"imageLayoutVersion": "1.0.0"}))
    top = {
        "schemaVersion": 2,
        "mediaType": INDEX_TYPE,
        "manifests": [index.descriptor(annotations={REF_NAME: ref})],
    }
    atomic_write_bytes(directory / "index.json", canonical(top))


def read_blob(directory: Path, digest: str) -> bytes:
    """A blob of a layout, checked against its digest."""
    data = (directory / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_bytes()
    if digest_of(data) != digest:
        raise ValueError(f"blob {digest} of {directory} does not match its digest")
    return data


def layer_members(tar_bytes: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:") as tar:
        return tar.getmembers()


def layer_file(tar_bytes: bytes, name: str) -> bytes | None:
    with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:") as tar:
        try:
            handle = tar.extractfile(name)
        except KeyError:
            return None
        return handle.read() if handle is not None else None
