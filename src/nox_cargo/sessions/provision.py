"""`nox -s provision`: install what the configured pipeline needs, in one go.

The project's pinned toolchain first (its targets and components go into it), then every stage's
needs: rustfmt and clippy for lint, the MSRV toolchain for test(toolchain=msrv), each target's std
and zig/cargo-zigbuild for build, the wasm std. A CI job runs it once before its stages; the
README's first line needs nothing else. It installs even with `provision = "never"`: asking for it
is the explicit act that policy waits for.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

from nox_cargo.build import builder
from nox_cargo.console import get_console
from nox_cargo.project import Project
from nox_cargo.provision import stages
from nox_cargo.provision.needs import Need, unique
from nox_cargo.sessions.registry import registered_stages


def run(project: Project, args: argparse.Namespace, value: str = "") -> list[Need]:
    console = get_console()
    started = time.monotonic()
    machine = builder.probe_machine(project.environ, builder.tool_dir(project))
    install = dataclasses.replace(builder.provisioner(project, machine), policy="auto")
    installed = install.ensure(stages.compiler_needs(project), "the project's toolchain")
    wanted: dict[Need, list[str]] = {}
    for session, needs in stages.pipeline_needs(project, registered_stages()):
        for need in needs:
            wanted.setdefault(need, []).append(session)
    # One call: rustup targets of a toolchain are added together (one channel sync).
    installed += install.ensure(list(wanted), "the pipeline")
    rows = [
        (
            need.describe(),
            "installed now" if need in installed else "present",
            ", ".join(wanted.get(need, ["the project's toolchain"])),
        )
        for need in unique([*installed, *wanted])
    ]
    console.table(
        f"provision (tool directory: {install.tools.root})", ["need", "status", "for"], rows
    )
    console.success(
        f"{len(rows)} needs of the pipeline are here ({len(installed)} installed in "
        f"{time.monotonic() - started:.1f}s)"
    )
    return installed
