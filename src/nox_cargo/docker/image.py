"""Build the image from the staged context, read back what the engine made, tag and push it."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nox_cargo.docker.engine import Engine
from nox_cargo.errors import NoxCargoError
from nox_cargo.process import run

OCI = "org.opencontainers.image"


def rfc3339(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def labels(
    title: str, version: str, revision: str, source: str, epoch: int, licenses: str
) -> dict[str, str]:
    """The OCI annotations the Dockerfile template sets from its ARGs."""
    return {
        f"{OCI}.title": title,
        f"{OCI}.version": version,
        f"{OCI}.revision": revision,
        f"{OCI}.source": source,
        f"{OCI}.created": rfc3339(epoch),
        f"{OCI}.licenses": licenses,
    }


BUILD_ARGS = {
    f"{OCI}.title": "TITLE",
    f"{OCI}.version": "VERSION",
    f"{OCI}.revision": "REVISION",
    f"{OCI}.source": "SOURCE",
    f"{OCI}.created": "CREATED",
    f"{OCI}.licenses": "LICENSES",
}


def tags(name: str, version: str, commit: str, arch: str, primary: bool) -> list[str]:
    """`name:version` and `name:commit` for the primary platform; `-<arch>` tags for every one.

    One local engine holds one image per tag, so each platform gets its own arch-suffixed tags;
    the unsuffixed ones go to the first configured platform.
    """
    refs = [version] + ([commit] if commit and commit != "unknown" else [])
    out = [f"{name}:{ref}-{arch}" for ref in refs]
    if primary:
        out = [f"{name}:{ref}" for ref in refs] + out
    return out


@dataclass(frozen=True)
class Built:
    image_id: str
    size: int
    os: str
    arch: str
    user: str
    entrypoint: tuple[str, ...]
    labels: Mapping[str, str]
    layers: tuple[str, ...] = ()


def build(
    engine: Engine,
    context: Path,
    platform: str,
    image_tags: Sequence[str],
    oci_labels: Mapping[str, str],
) -> Built:
    """`docker build` the context (BuildKit via buildx when present, else the legacy builder)."""
    with tempfile.TemporaryDirectory(dir=context.parent) as scratch:
        iidfile = Path(scratch) / "iid"
        argv: list[str] = (
            ["docker", "buildx", "build", "--load"] if engine.buildx else ["docker", "build"]
        )
        argv += ["--platform", platform, "--network", "none", "--iidfile", str(iidfile)]
        for key, arg in BUILD_ARGS.items():
            argv += ["--build-arg", f"{arg}={oci_labels[key]}"]
        for tag in image_tags:
            argv += ["--tag", tag]
        argv += ["--file", str(context / "Dockerfile"), str(context)]
        env = {} if engine.buildx else {"DOCKER_BUILDKIT": "0"}
        run(argv, env=env, hint="see the Docker output above; `nox -s doctor` checks the engine")
        image_id = iidfile.read_text().strip()
    return inspect(image_id)


def inspect(image: str) -> Built:
    done = run(["docker", "image", "inspect", image], capture=True, quiet=True)
    try:
        data: dict[str, Any] = json.loads(done.stdout)[0]
        config = data.get("Config") or {}
        return Built(
            image_id=data["Id"],
            size=int(data["Size"]),
            os=data.get("Os", ""),
            arch=data.get("Architecture", ""),
            user=config.get("User") or "",
            entrypoint=tuple(config.get("Entrypoint") or ()),
            labels=dict(config.get("Labels") or {}),
            layers=tuple((data.get("RootFS") or {}).get("Layers") or ()),
        )
    except (json.JSONDecodeError, IndexError, KeyError, TypeError, ValueError) as exc:
        raise NoxCargoError(
            f"`docker image inspect {image}` gave unexpected output ({exc})."
        ) from None


def push(image_id: str, local_tags: Sequence[str], registry: str) -> dict[str, str]:
    """Tag each local tag under `registry` and push it; remote tag → digest."""
    digests: dict[str, str] = {}
    for tag in local_tags:
        remote = f"{registry}/{tag}"
        run(["docker", "tag", image_id, remote])
        run(
            ["docker", "push", remote],
            hint=f"log in first (`docker login {registry.split('/', maxsplit=1)[0]}`); CI needs "
            "`packages: write` for ghcr.io",
        )
    done = run(
        ["docker", "image", "inspect", "--format", "{{json .RepoDigests}}", image_id],
        capture=True,
        quiet=True,
    )
    for entry in json.loads(done.stdout or "[]") or []:
        repo, _, digest = str(entry).partition("@")
        digests[repo] = digest
    return digests
