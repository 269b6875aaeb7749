"""What each stage of the pipeline reads and leaves behind: its `Inputs` for the stage cache.

`pipeline.STAGES` names these in each declaration (`inputs=`); the runner does the rest (see
nox_cargo.cache). A stage without `inputs` (checksums, verify, doctor, workflows: quick, or reading
all of dist/) always runs.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from pathlib import Path

from nox_cargo.cache.inputs import Inputs, PathsOf, sections
from nox_cargo.config import Config
from nox_cargo.project import Project


def _target(config: Config, target_id: str) -> object:
    return next((t for t in config.target_registry if t.id == target_id), None)


def _listed(manifest: Path, key: str, dist_dir: Path) -> list[Path]:
    """The manifest and the files it lists under `key` (each record's `path` or `name`, both
    relative to the dist dir)."""
    try:
        records = json.loads(manifest.read_text(encoding="utf-8"))[key]
        paths = [dist_dir / (r["path"] if "path" in r else r["name"]) for r in records]
    except (OSError, ValueError, KeyError, TypeError):
        return [manifest]
    return [manifest, *paths]


def _build_manifest(project: Project, target_id: str) -> Path:
    return project.dist_dir / target_id / "build-manifest.json"


def _built(project: Project, target_id: str) -> list[Path]:
    """A build's manifest (without its duration: see cache.inputs.VOLATILE_KEYS) and staged
    binaries: a rebuild that produced the same bytes leaves the later stages cached."""
    manifest = _build_manifest(project, target_id)
    return _listed(manifest, "artifacts", project.dist_dir)


# -- build --------------------------------------------------------------------------------------


def build_config(config: Config, target_id: str) -> object:
    return {
        "target": _target(config, target_id),
        "build": config.build,
        "binaries": config.binaries,
        "dist": config.dist_dir,
    }


def build_outputs(project: Project, target_id: str) -> Iterable[Path]:
    manifest = _build_manifest(project, target_id)
    return _listed(manifest, "artifacts", project.dist_dir)


BUILD = Inputs(config=build_config, outputs=build_outputs)
LINT = Inputs(config=sections("lint", "workspace"))


# -- test ---------------------------------------------------------------------------------------


def test_outputs(project: Project, which: str) -> Iterable[Path]:
    return [project.report_dir / f"junit-{which}.xml"]


TEST = Inputs(config=sections("test", "workspace"), outputs=test_outputs)


# -- wasm ---------------------------------------------------------------------------------------


def wasm_upstream(project: Project, triple: str) -> Iterable[Path]:
    smoke = project.config.wasm.smoke_input
    return [project.base_dir / smoke] if smoke is not None else []


def wasm_outputs(project: Project, triple: str) -> Iterable[Path]:
    return [
        project.report_dir / f"wasm-{triple}.json",
        *(project.dist_dir / "wasm" / triple).glob("*.wasm"),
    ]


WASM = Inputs(
    config=sections("wasm", "workspace", "binaries", "dist_dir"),
    upstream=wasm_upstream,
    outputs=wasm_outputs,
)


# -- bench --------------------------------------------------------------------------------------


def bench_upstream(project: Project, value: str) -> Iterable[Path]:
    """The measured build, the cases' input corpora from the workspace (every file of a
    directory) and the programs they compare with."""
    from nox_cargo.bench.target import bench_target

    root = project.workspace.root
    corpora: list[Path] = []
    for case in project.config.bench.cases:
        if case.input is not None:
            path = root / case.input
            corpora.extend(
                sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
            )
        for command in case.compare:
            program = command[0]
            found = root / program if "/" in program else shutil.which(program)
            if found is not None:
                corpora.append(Path(found))
    return [*_built(project, bench_target(project.config)), *corpora]


def bench_outputs(project: Project, value: str) -> Iterable[Path]:
    return sorted((project.report_dir / "bench").glob("*.*"))


BENCH = Inputs(
    config=sections("bench", "binaries", "targets", "build"),
    # The binary comes from upstream, but `cargo bench` compiles the benches from the sources.
    sources=True,
    machine=True,
    upstream=bench_upstream,
    outputs=bench_outputs,
)


# -- package ------------------------------------------------------------------------------------


def package_config(config: Config, target_id: str) -> object:
    return {"package": config.package, "target": _target(config, target_id)}


def package_upstream(project: Project, target_id: str) -> Iterable[Path]:
    """The build's binaries, the files archived beside them, and what the SBOM is resolved from
    (`cargo metadata`: Cargo.lock and every member's Cargo.toml)."""
    workspace = project.workspace
    files = [workspace.root / relative for relative in project.config.package.files]
    manifests = [
        workspace.manifest,
        workspace.lockfile,
        *(m.manifest_path for m in workspace.members),
    ]
    return [*_built(project, target_id), *files, *manifests]


def package_outputs(project: Project, target_id: str) -> Iterable[Path]:
    manifest = project.dist_dir / target_id / "package-manifest.json"
    return _listed(manifest, "archives", project.dist_dir)


PACKAGE = Inputs(
    config=package_config,
    sources=False,  # the archive holds the build's bytes and the files listed (upstream)
    toolchain=False,
    upstream=package_upstream,
    outputs=package_outputs,
)


# -- docker -------------------------------------------------------------------------------------


def docker_config(config: Config, platform: str) -> object:
    target_id = config.docker.platforms.get(platform, "")
    return {"docker": config.docker, "target": _target(config, target_id)}


def docker_upstream(project: Project, platform: str) -> Iterable[Path]:
    from nox_cargo.docker import template

    target_id = project.config.docker.platforms.get(platform, "")
    dockerfile = template.resolve(project.base_dir, project.config.docker.dockerfile)
    return [*_built(project, target_id), dockerfile]


def docker_outputs(project: Project, platform: str) -> Iterable[Path]:
    from nox_cargo.docker.release import manifest_path

    return [manifest_path(project.dist_dir, platform)]


def docker_image_present(project: Project, platform: str) -> str | None:
    """The recorded image and its tags are still in the engine (`docker image rm` re-runs)."""
    from nox_cargo.docker.release import manifest_path
    from nox_cargo.process import run

    try:
        recorded = json.loads(manifest_path(project.dist_dir, platform).read_text())
        image_id, tags = str(recorded["image_id"]), [str(t) for t in recorded["tags"]]
    except (OSError, ValueError, KeyError, TypeError):
        return "the image manifest cannot be read"
    done = run(
        ["docker", "image", "inspect", "--format", "{{.Id}}", image_id, *tags],
        capture=True,
        quiet=True,
        check=False,
    )
    if not done.ok or set(done.stdout.split()) != {image_id}:
        return f"the image {image_id[:19]} or one of its tags is no longer in the engine"
    return None


DOCKER = Inputs(
    config=docker_config,
    sources=False,
    toolchain=False,
    upstream=docker_upstream,
    outputs=docker_outputs,
    intact=docker_image_present,
)


# -- the release files in dist/: installers, checksums, verify, image ---------------------------


def release_files(*excluded: str) -> PathsOf:
    """The files of dist/ a release is made of (top-level files and each target's manifests),
    but the named ones (what the stage itself writes)."""

    def files(project: Project, value: str) -> Iterable[Path]:
        dist = project.dist_dir
        if not dist.is_dir():
            return []
        found = [p for p in dist.iterdir() if p.is_file()]
        found += dist.glob("*/build-manifest.json")
        found += dist.glob("*/package-manifest.json")
        return sorted(
            p
            for p in found
            if p.name not in excluded and not p.name.startswith(".") and p.suffix != ".tmp"
        )

    return files


def _in_dist(*names: str) -> PathsOf:
    return lambda project, value: [project.dist_dir / name for name in names]


INSTALLERS = Inputs(
    config=sections("package", "binaries"),
    sources=False,
    toolchain=False,
    upstream=release_files("install.sh", "install.ps1", "SHA256SUMS"),
    outputs=_in_dist("install.sh", "install.ps1"),
)
CHECKSUMS = Inputs(
    sources=False,
    toolchain=False,
    upstream=release_files("SHA256SUMS"),
    outputs=_in_dist("SHA256SUMS"),
)
VERIFY = Inputs(
    config=sections("package"), sources=False, toolchain=False, upstream=release_files()
)


def image_outputs(project: Project, value: str) -> Iterable[Path]:
    docker = project.dist_dir / "docker"
    return [docker / "image-index.json", *sorted((docker / "oci").rglob("*"))]


IMAGE = Inputs(
    config=sections("docker", "package", "binaries"),
    sources=False,
    toolchain=False,
    upstream=release_files("IMAGE-DIGEST", "SHA256SUMS", "install.sh", "install.ps1"),
    outputs=image_outputs,
)
