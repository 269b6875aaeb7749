"""`docker(platform=linux/amd64)` on a real weft build and the real Docker engine: the image runs
its smoke command under hard restrictions, as 65532, holds no shell, and meets the size checks."""

from __future__ import annotations

import hashlib
import json
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require, require_tool
from tests.integration.conftest import run_nox
from tests.integration.release_project import TARGET, build_project, clone, env_for

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
SESSION = "docker(platform=linux/amd64)"


def docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=False)


def engine_reachable() -> bool:
    try:
        return docker("version", "--format", "{{.Server.Version}}").returncode == 0
    except FileNotFoundError:
        return False


@pytest.fixture(scope="module")
def image_name() -> Iterator[str]:
    name = f"nox-cargo-test-{uuid.uuid4().hex[:10]}"
    yield name
    listed = docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}", name).stdout.split()
    if listed:
        docker("image", "rm", "--force", *listed)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, image_name: str) -> tuple[Path, Path]:
    require_tool("docker")
    require(engine_reachable(), "no Docker engine is reachable (start dockerd)")
    require_tool("hadolint")
    base = tmp_path_factory.mktemp("docker")
    target_dir = base / "target"
    extra = f'image = "{image_name}"\n'
    project = build_project(base / "built", target_dir, extra_config="")
    pyproject = project / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            "[tool.nox-cargo.docker]\n", f"[tool.nox-cargo.docker]\n{extra}"
        )
    )
    return project, target_dir


@pytest.fixture(scope="module")
def imaged(built: tuple[Path, Path], image_name: str) -> tuple[Path, dict[str, object]]:
    project, target_dir = built
    done = run_nox(project, "-s", SESSION, env=env_for(target_dir))
    assert done.returncode == 0, done.stdout[-5000:]
    manifest = json.loads(
        (project / "dist" / "docker" / "linux-amd64" / "image-manifest.json").read_text()
    )
    return project, manifest


def test_the_image_is_recorded_with_its_tags(
    imaged: tuple[Path, dict[str, object]], image_name: str
) -> None:
    project, manifest = imaged
    assert manifest["kind"] == "docker"
    assert manifest["platform"] == "linux/amd64"
    assert manifest["tags"] == [f"{image_name}:0.3.0", f"{image_name}:0.3.0-amd64"]
    build = json.loads((project / "dist" / TARGET / "build-manifest.json").read_text())
    assert manifest["binary_sha256"] == build["artifacts"][0]["sha256"]
    inspected = json.loads(docker("image", "inspect", f"{image_name}:0.3.0").stdout)[0]
    assert inspected["Id"] == manifest["image_id"]
    labels = inspected["Config"]["Labels"]
    assert labels["org.opencontainers.image.version"] == "0.3.0"
    assert labels["org.opencontainers.image.created"] == "2023-11-14T22:13:20Z"
    assert labels["org.opencontainers.image.licenses"] == "MIT OR Apache-2.0"


def test_the_smoke_command_runs_under_hard_restrictions(
    imaged: tuple[Path, dict[str, object]], image_name: str
) -> None:
    done = docker(
        "run", "--rm", "--network", "none", "--read-only", "--cap-drop", "ALL",
        "--user", "65532:65532", f"{image_name}:0.3.0", "--version",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "weft 0.3.0"


def test_the_image_runs_as_65532_by_default(
    imaged: tuple[Path, dict[str, object]], image_name: str
) -> None:
    created = docker("create", f"{image_name}:0.3.0", "--version")
    assert created.returncode == 0, created.stderr
    container = created.stdout.strip()
    try:
        user = docker("container", "inspect", "--format", "{{.Config.User}}", container)
        assert user.stdout.strip() == "65532:65532"
        entrypoint = docker(
            "container", "inspect", "--format", "{{json .Config.Entrypoint}}", container
        )
        assert json.loads(entrypoint.stdout) == ["/app"]  # exec form: no shell in between
    finally:
        docker("rm", container)


def test_the_filesystem_holds_the_binary_and_no_shell(
    imaged: tuple[Path, dict[str, object]], image_name: str, tmp_path: Path
) -> None:
    project, _ = imaged
    container = docker("create", f"{image_name}:0.3.0").stdout.strip()
    exported = tmp_path / "fs.tar"
    try:
        assert docker("export", "--output", str(exported), container).returncode == 0
    finally:
        docker("rm", container)
    with tarfile.open(exported) as tar:
        members = {m.name.rstrip("/"): m for m in tar.getmembers()}
        app = tar.extractfile("app")
        assert app is not None
        app_sha256 = hashlib.sha256(app.read()).hexdigest()
    assert "bin/sh" not in members and "bin" not in members
    files = {name for name, m in members.items() if m.isreg() and m.size > 0}
    assert files == {"app"}
    binary = project / "dist" / TARGET / "weft"
    assert members["app"].size == binary.stat().st_size
    assert members["app"].mode & 0o777 == 0o755
    build = json.loads((project / "dist" / TARGET / "build-manifest.json").read_text())
    assert app_sha256 == build["artifacts"][0]["sha256"]  # the build's exact bytes


def test_rebuilding_gives_the_same_layer(
    imaged: tuple[Path, dict[str, object]], built: tuple[Path, Path]
) -> None:
    project, manifest = imaged
    _, target_dir = built
    tags = [str(tag) for tag in manifest["tags"]]  # type: ignore[attr-defined]
    assert docker("image", "rm", *tags).returncode == 0  # no cached layer to reuse
    done = run_nox(project, "-s", SESSION, env=env_for(target_dir))
    assert done.returncode == 0, done.stdout[-4000:]
    again = json.loads(
        (project / "dist" / "docker" / "linux-amd64" / "image-manifest.json").read_text()
    )
    assert again["layers"] == manifest["layers"]
    assert len(again["layers"]) == 1


def test_the_image_meets_the_size_checks(
    imaged: tuple[Path, dict[str, object]], image_name: str
) -> None:
    project, manifest = imaged
    size = int(docker("image", "inspect", "--format", "{{.Size}}", f"{image_name}:0.3.0").stdout)
    binary = (project / "dist" / TARGET / "weft").stat().st_size
    assert size == manifest["size"]
    assert size <= binary + MIB
    assert size <= 20_000_000


def test_a_size_budget_below_the_image_fails_naming_the_check(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    project, target_dir = built
    project = clone(project, tmp_path / "p")
    env = {**env_for(target_dir), "NOX_CARGO_DOCKER_SIZE_BUDGET": "100 KiB"}
    done = run_nox(project, "-s", SESSION, env=env)
    assert done.returncode != 0
    assert "size:" in done.stdout
    assert not (project / "dist" / "docker" / "linux-amd64" / "image-manifest.json").exists()


def test_an_image_over_its_size_budget_is_not_tagged(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    project, target_dir = built
    project = clone(project, tmp_path / "p")
    name = f"nox-cargo-untagged-{uuid.uuid4().hex[:10]}"
    env = {
        **env_for(target_dir),
        "NOX_CARGO_DOCKER_SIZE_BUDGET": "100 KiB",
        "NOX_CARGO_DOCKER_IMAGE": name,
    }
    try:
        done = run_nox(project, "-s", SESSION, env=env)
        assert done.returncode != 0
        assert "size:" in done.stdout
        listed = docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}", name).stdout
        assert listed.split() == [], f"a failed image was tagged: {listed}"
    finally:
        listed = docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}", name).stdout
        if listed.split():
            docker("image", "rm", "--force", *listed.split())


def test_no_engine_skips_locally_and_fails_under_ci(
    built: tuple[Path, Path], tmp_path: Path
) -> None:
    project, target_dir = built
    project = clone(project, tmp_path / "p")
    env = {**env_for(target_dir), "DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"}
    done = run_nox(project, "-s", SESSION, env=env)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "skipped: No Docker engine is reachable" in done.stdout
    done = run_nox(project, "-s", SESSION, env={**env, "CI": "true"})
    assert done.returncode != 0
    assert "No Docker engine is reachable" in done.stdout
