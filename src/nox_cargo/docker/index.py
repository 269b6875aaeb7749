"""The `image` stage: one multi-arch OCI image index of the archived binaries, checked, then pushed.

For every platform in `docker.platforms` the binary is read out of its release archive (sha256
checked against the package manifest, and against the build manifest when dist/ has one), put in a
FROM scratch image written by `oci`, and the images are combined into one index in
`dist/docker/oci/`. Every check runs before anything is pushed: the layer holds `/app` only (no
shell), byte-identical to the archive's binary; user 65532; labels; size; then each platform is
loaded into the engine with skopeo and its filesystem exported and smoke-run (foreign
architectures when a qemu binfmt handler is registered). `--push` copies the layout with
`skopeo copy --all --preserve-digests` to every tag, and checks the registry got the index digest
computed here.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nox_cargo import git
from nox_cargo import manifest as mf
from nox_cargo.build.headers import BinaryFormatError, inspect_bytes
from nox_cargo.console import get_console
from nox_cargo.docker import checks, context, engine, image, oci
from nox_cargo.errors import ConfigError, NoxCargoError, Unavailable
from nox_cargo.fsutil import atomic_write_text, locked
from nox_cargo.manifest import BuildManifest, sha256_file
from nox_cargo.packaging import archive
from nox_cargo.packaging import release as packaging
from nox_cargo.process import run
from nox_cargo.project import Project

KIND = "image"
LOOPBACK = re.compile(r"^(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d+)?$")
SKOPEO_HINT = "install skopeo (Debian/Ubuntu: `apt install skopeo`; macOS: `brew install skopeo`)"
DIGEST_FILE = "IMAGE-DIGEST"


class ReleaseImageFailed(NoxCargoError):
    """The release image was written but breaks a rule, or the registry holds something else."""


def layout_dir(dist_dir: Path) -> Path:
    return dist_dir / "docker" / "oci"


def manifest_path(dist_dir: Path) -> Path:
    return dist_dir / "docker" / "image-index.json"


def release_tags(templates: tuple[str, ...], version: str) -> list[str]:
    """The configured tags for `version`; a pre-release gets only those naming {version}."""
    core, _, pre = version.partition("+")[0].partition("-")
    parts = [*core.split("."), "0", "0"][:3]
    out: list[str] = []
    for template in templates:
        if pre and "{version}" not in template:
            continue
        tag = template.format(
            version=version.replace("+", "_"), major=parts[0], minor=parts[1], patch=parts[2]
        )
        if tag not in out:
            out.append(tag)
    return out


def tls_flag(registry: str) -> list[str]:
    """Plain HTTP for a loopback registry, as Docker allows for 127.0.0.0/8; TLS elsewhere."""
    host = registry.split("/", 1)[0]
    return ["--dest-tls-verify=false"] if LOOPBACK.match(host) else []


@dataclass(frozen=True)
class Source:
    """One platform's binary as archived."""

    platform: str
    target_id: str
    archive: str
    archive_sha256: str
    binary: str
    data: bytes
    sha256: str
    version: str
    git_commit: str


def _read_source(project: Project, platform: str, target_id: str, binary: str) -> Source:
    dist_dir = project.dist_dir
    path = packaging.manifest_path(dist_dir, target_id)
    if not path.is_file():
        raise Unavailable(
            f"There is no package of {target_id} in {dist_dir} for the {platform} image "
            f"(`package(target={target_id})` was skipped or has not run).",
            f'run `nox -s "package(target={target_id})"` on a machine that can build it, or '
            "gather its dist/ here.",
        )
    document = mf.read(path, packaging.KIND, f"package(target={target_id})")
    try:
        record = next(r for r in document["archives"] if r["binary"] == binary)
        name, archive_sha = str(record["name"]), str(record["sha256"])
        binary_file, binary_sha = str(record["binary_file"]), str(record["binary_sha256"])
        version, commit = str(document["version"]), str(document["git_commit"])
    except StopIteration:
        raise ConfigError(
            f"The package of {target_id} has no archive of `{binary}` for the {platform} image.",
            "set `docker.binary` to a released binary, or check `binaries`.",
        ) from None
    except (KeyError, TypeError) as exc:
        raise mf.ManifestError(
            f"The package manifest {path} is missing fields ({exc}).",
            f'run `nox -s "package(target={target_id})"` again.',
        ) from None
    archive_path = dist_dir / name
    if not archive_path.is_file() or sha256_file(archive_path) != archive_sha:
        raise mf.ManifestError(
            f"{archive_path} is missing or differs from its package manifest's sha256.",
            f'run `nox -s "package(target={target_id})"` again; never edit dist/ by hand.',
        )
    try:
        data = archive.read_entry(archive_path, binary_file)
    except (KeyError, OSError, ValueError) as exc:
        raise mf.ManifestError(
            f"{binary_file} cannot be read from {archive_path} ({exc}).",
            f'run `nox -s "package(target={target_id})"` again.',
        ) from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != binary_sha:
        raise mf.ManifestError(
            f"{binary_file} in {name} has sha256 {digest}, not the {binary_sha} packaged.",
            f'run `nox -s "package(target={target_id})"` again.',
        )
    if BuildManifest.path_for(dist_dir, target_id).is_file():
        built = BuildManifest.load(dist_dir, target_id).artifact(binary).sha256
        if built != digest:
            raise mf.ManifestError(
                f"{binary_file} in {name} is not the binary the build of {target_id} recorded "
                f"(sha256 {digest}, build {built}).",
                f'run `nox -s "package(target={target_id})"` again.',
            )
    _check_binary(data, platform, target_id, binary)
    return Source(platform, target_id, name, archive_sha, binary, data, digest, version, commit)


def _check_binary(data: bytes, platform: str, target_id: str, binary: str) -> None:
    try:
        info = inspect_bytes(data)
    except BinaryFormatError as exc:
        raise ConfigError(f"{binary} of {target_id}: {exc.message}", exc.hint) from None
    if info.format != "elf" or not info.static:
        raise ConfigError(
            f"{binary} for {target_id} is not a static ELF binary ({info.format}, "
            f"{info.describe_dynamic()}); a FROM scratch image has no loader or libc to run it.",
            f"map {platform} to a static Linux target in `docker.platforms` "
            "(musl, or gnu with `static = true`).",
        )
    arch = platform.split("/")[1]
    machine = checks.elf_arch(data[:20])
    if machine != arch:
        raise ConfigError(
            f"{binary} for {target_id} is a {machine or 'unknown-arch'} binary, but "
            f"`docker.platforms` puts it in the {platform} image.",
            f"map {platform} to a target built for {arch} in [tool.nox-cargo.docker] platforms.",
        )


def layout_checks(
    image_: oci.PlatformImage, source: Source, budget: int, labels: dict[str, str]
) -> list[checks.Check]:
    """What the written image must be, read back from its own blobs."""
    members = oci.layer_members(image_.layer_tar)
    names = [m.name for m in members]
    app = oci.layer_file(image_.layer_tar, oci.BINARY_PATH)
    config = json.loads(image_.config.data)
    problems = [
        f"{n} is not a regular file" for n, m in zip(names, members, strict=True) if not m.isreg()
    ]
    if names != [oci.BINARY_PATH]:
        problems.append(f"layer holds {names}, expected only {oci.BINARY_PATH}")
    shells = [n for n in names if Path(n).name in checks.SHELLS]
    return [
        checks.Check(
            "layer",
            not problems and not shells,
            "; ".join(problems) or f"/{oci.BINARY_PATH} only, mode 0755, no shell",
        ),
        checks.Check(
            "binary",
            app is not None and hashlib.sha256(app).hexdigest() == source.sha256,
            f"/app sha256 == {source.binary} in {source.archive} ({source.sha256[:16]}…)",
        ),
        checks.user_check(str(config.get("config", {}).get("User", ""))),
        checks.labels_check(config.get("config", {}).get("Labels") or {}, labels),
        checks.size_check(len(image_.layer_tar), len(source.data), budget),
    ]


def _engine_checks(
    project: Project, layout: Path, ref: str, image_: oci.PlatformImage, name: str, version: str
) -> tuple[list[checks.Check], list[str]]:
    """Load the platform's image into the engine through skopeo; export it; smoke-run it."""
    try:
        eng = engine.probe()
    except Unavailable as exc:
        return [], [f"engine checks of {image_.platform}: {exc.message}"]
    local = f"{name}:{version}-{image_.arch}"
    run(
        [
            "skopeo", "--override-os", image_.os, "--override-arch", image_.arch,
            "copy", "--quiet", f"oci:{layout}:{ref}", f"docker-daemon:{local}",
        ],
        capture=True,
        hint="skopeo could not load the image into Docker; `nox -s doctor` checks the engine",
    )  # fmt: skip
    loaded = image.inspect(local)
    results = [
        checks.Check(
            "loaded",
            (loaded.os, loaded.arch) == (image_.os, image_.arch),
            f"docker sees {loaded.os}/{loaded.arch}",
        )
    ]
    scratch = Path(tempfile.mkdtemp(prefix="export-", dir=context.parent_dir(project.report_dir)))
    try:
        names = checks.filesystem_names(loaded.image_id, scratch)
        results.append(checks.filesystem_check(names))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    runnable, why = engine.can_run(eng, image_.arch)
    if not runnable:
        return results, [f"smoke run of {image_.platform}: {why}"]
    smoke = checks.smoke(loaded.image_id, image_.platform, project.config.build.smoke_args, version)
    return [*results, smoke], []


@dataclass(frozen=True)
class Outcome:
    index_digest: str
    layout: Path
    ref: str
    tags: tuple[str, ...]
    pushed: tuple[str, ...]
    manifest: Path


def build_index(project: Project, push: bool) -> Outcome:
    config = project.config.docker
    dist_dir = project.dist_dir
    if push and not config.registry:
        raise ConfigError(
            "`--push` needs a registry, and config key `docker.registry` is empty.",
            'set [tool.nox-cargo.docker] registry = "ghcr.io/<owner>".',
        )
    if not shutil.which("skopeo"):
        raise Unavailable(
            "skopeo is not installed: the image index cannot be checked or pushed.", SKOPEO_HINT
        )
    binary = config.binary or next(
        iter(project.workspace.release_binaries(project.config.binaries))
    )
    with locked(dist_dir):
        manifest_path(dist_dir).unlink(missing_ok=True)
        (dist_dir / DIGEST_FILE).unlink(missing_ok=True)
        sources = [
            _read_source(project, platform, target_id, binary)
            for platform, target_id in config.platforms.items()
        ]
    versions = {s.version for s in sources}
    if len(versions) != 1:
        raise ConfigError(
            f"The archives for the image carry different versions ({', '.join(sorted(versions))}).",
            "package every target of `docker.platforms` from the same commit.",
        )
    version = sources[0].version
    epoch = git.source_date_epoch(project.root, project.environ)
    package = project.workspace.binaries().get(binary)
    labels = image.labels(
        title=binary,
        version=version,
        revision=sources[0].git_commit,
        source=config.source or (package.repository if package and package.repository else ""),
        epoch=epoch,
        licenses=package.license if package and package.license else "",
    )
    created = image.rfc3339(epoch)
    images = []
    for source in sources:
        os_, arch = source.platform.split("/")[:2]
        images.append(oci.platform_image(source.data, os_, arch, labels, created, epoch))
    index = oci.image_index(images, labels)
    layout = layout_dir(dist_dir)
    ref = version
    with locked(dist_dir):
        if layout.exists():
            shutil.rmtree(layout)
        oci.write_layout(layout, images, index, ref)
    name = config.image or binary
    results = _check_all(project, layout, ref, images, sources, labels, name, version)
    tags = release_tags(config.tags, version)
    pushed = _push(layout, ref, config.registry, name, tags, index.digest) if push else []
    record: dict[str, Any] = {
        "index_digest": index.digest,
        "image": name,
        "version": version,
        "layout": str(layout.relative_to(dist_dir)),
        "ref": ref,
        "tags": tags,
        "registry": config.registry if push else "",
        "pushed": pushed,
        "source_date_epoch": epoch,
        "platforms": {
            img.platform: {
                "target_id": src.target_id,
                "archive": src.archive,
                "archive_sha256": src.archive_sha256,
                "binary_sha256": src.sha256,
                "manifest_digest": img.manifest.digest,
                "config_digest": img.config.digest,
                "layer_digest": img.layer.digest,
                "diff_id": oci.digest_of(img.layer_tar),
            }
            for img, src in zip(images, sources, strict=True)
        },
        "checks": [{"platform": p, **asdict(c)} for p, c in results],
    }
    path = manifest_path(dist_dir)
    with locked(dist_dir):
        mf.write(path, KIND, record)
        refs = pushed or [f"{name}:{t}" for t in tags]
        atomic_write_text(dist_dir / DIGEST_FILE, "".join(f"{index.digest}  {r}\n" for r in refs))
    get_console().success(
        f"{name}:{version} index {index.digest} ({', '.join(config.platforms)})"
        + (f", pushed as {', '.join(pushed)}" if pushed else "")
    )
    return Outcome(index.digest, layout, ref, tuple(tags), tuple(pushed), path)


def _check_all(
    project: Project,
    layout: Path,
    ref: str,
    images: list[oci.PlatformImage],
    sources: list[Source],
    labels: dict[str, str],
    name: str,
    version: str,
) -> list[tuple[str, checks.Check]]:
    """Every check of every platform's image; a failure or a skip raises (nothing is pushed)."""
    config = project.config.docker
    results: list[tuple[str, checks.Check]] = []
    skipped: list[str] = []
    for img, source in zip(images, sources, strict=True):
        results += [
            (img.platform, c) for c in layout_checks(img, source, int(config.size_budget), labels)
        ]
        found, skip = _engine_checks(project, layout, ref, img, name, version)
        results += [(img.platform, c) for c in found]
        skipped += skip
    get_console().table(
        f"image {name}:{version} ({layout})",
        ["platform", "check", "result", "detail"],
        [(p, c.name, "ok" if c.ok else "FAILED", c.detail) for p, c in results]
        + [(s.split(":")[0], "", "skipped", s.split(":", 1)[1].strip()) for s in skipped],
    )
    failed = [(p, c) for p, c in results if not c.ok]
    if failed:
        raise ReleaseImageFailed(
            "The release image fails " + "; ".join(f"{p} {c.name}: {c.detail}" for p, c in failed),
            "fix the build or the config; nothing was pushed.",
        )
    if skipped:
        raise Unavailable(
            "The release image index was written and passed its other checks, but not: "
            + "; ".join(skipped)
            + ". Nothing was pushed.",
            "register qemu binfmt handlers (`apt install qemu-user-static` with binfmt_misc "
            "mounted, or docker/setup-qemu-action) and start Docker",
        )
    return results


def _push(
    layout: Path, ref: str, registry: str, name: str, tags: list[str], digest: str
) -> list[str]:
    """`skopeo copy --all --preserve-digests` to every tag; the registry must report `digest`."""
    pushed = []
    with tempfile.TemporaryDirectory() as scratch:
        digest_file = Path(scratch) / "digest"
        for tag in tags:
            remote = f"{registry}/{name}:{tag}"
            run(
                [
                    "skopeo", "copy", "--all", "--preserve-digests", *tls_flag(registry),
                    "--digestfile", str(digest_file), f"oci:{layout}:{ref}", f"docker://{remote}",
                ],
                hint=f"log in first (`skopeo login {registry.split('/', 1)[0]}` or "
                "`docker login`); CI needs `packages: write` for ghcr.io",
            )  # fmt: skip
            got = digest_file.read_text().strip()
            if got != digest:
                raise ReleaseImageFailed(
                    f"{remote} was stored with digest {got}, not the index digest {digest} "
                    "written here.",
                    "the registry rewrote the index; use a registry that stores OCI indexes as "
                    "pushed.",
                )
            pushed.append(f"{remote}@{digest}")
    return pushed
