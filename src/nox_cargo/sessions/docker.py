"""Sessions of the container image: `docker(platform=<os/arch>)`, one per configured platform."""

from __future__ import annotations

import argparse

import nox

from nox_cargo.docker import doctor_rows
from nox_cargo.docker.release import build_platform
from nox_cargo.project import Project
from nox_cargo.sessions.runner import Define, define_matrix, parser, run_stage

_ROWS = doctor_rows  # imported for its `nox -s doctor` rows


def define_docker(project: Project) -> None:
    def make(platform: str) -> Define:
        name = f"docker(platform={platform})"
        p = parser(name, "Build the FROM scratch image of the built binary and check it.")
        p.add_argument(
            "--push",
            action="store_true",
            help="after the checks pass, push the tags to `docker.registry` (CI)",
        )

        def run(proj: Project, args: argparse.Namespace) -> None:
            build_platform(proj, platform, args.push)

        def body(session: nox.Session) -> None:
            run_stage(session, name, run, p, project.root)

        return body

    define_matrix(
        "docker",
        "platform",
        list(project.config.docker.platforms),
        "Build, check and tag the FROM scratch image of the release binary",
        make,
        requires=lambda platform: [f"build(target={project.config.docker.platforms[platform]})"],
    )
