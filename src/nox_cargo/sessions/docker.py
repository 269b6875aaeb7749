"""`docker(platform=<os/arch>)`: the FROM scratch image of the built binary, checked and tagged;
`image`: the multi-arch release index of the archived binaries, checked, pushed with skopeo."""

from __future__ import annotations

import argparse

from nox_cargo.config import Config
from nox_cargo.project import Project


def requires(config: Config, platform: str) -> list[tuple[str, str]]:
    return [("build", config.docker.platforms[platform])]


def run(project: Project, args: argparse.Namespace, platform: str) -> object:
    from nox_cargo.docker.release import build_platform

    return build_platform(project, platform, args.push)


def image_requires(config: Config, value: str) -> list[tuple[str, str]]:
    return [("package", t) for t in sorted(set(config.docker.platforms.values()))]


def run_image(project: Project, args: argparse.Namespace, value: str = "") -> object:
    from nox_cargo.docker.index import build_index

    return build_index(project, args.push)
