"""What the generated parts of the workflows must say, computed from the config and the sessions.

Every stage declared with `ci=CIMatrix(...)` in the stage table has a `<stage>-matrix` block: one
entry per registered `stage(key=value)` session, plus the keys its declaration adds (a target's
runner, the MSRV to install). The release workflow's matrices come from the target registry. So a
step, target or stage added to nox-cargo or to the config reaches CI through
`nox -s workflows -- --write`, never by copying names by hand.

Blocks render as YAML lines without their indentation (`markers.rewrite` adds it). Scalars are
written plainly when YAML reads them back as the same string, double-quoted otherwise.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from nox_cargo.build.targets import parse_triple
from nox_cargo.config import Config, Target
from nox_cargo.errors import NoxCargoError
from nox_cargo.github.runners import runner_arch, runner_os
from nox_cargo.stage import Entry, Stage

# Which blocks each workflow file must contain.
WORKFLOW_BLOCKS: dict[str, tuple[str, ...]] = {
    "ci.yml": (
        "env",
        "lint-matrix",
        "test-matrix",
        "build-matrix",
        "wasm-matrix",
        "docker-matrix",
        "package-matrix",
    ),
    "release.yml": ("env", "release-matrix", "release-targets"),
    "bench-comment.yml": ("env",),
}
DEFAULT_RUNNER = "ubuntu-latest"
# The nox CI installs (the version .ci/run uses); nox-cargo itself is `.` in its own repository.
NOX_REQUIREMENT = "nox==2026.10.20"


class MatrixError(NoxCargoError):
    """A workflow needs a matrix that the configuration or the sessions cannot give."""


def _pipeline_stages() -> tuple[Stage, ...]:
    from nox_cargo.pipeline import STAGES

    return STAGES


@dataclass(frozen=True)
class Facts:
    """Everything the generated blocks depend on; nothing else may change them."""

    targets: tuple[Target, ...]
    sessions: tuple[str, ...]
    docker_platforms: Mapping[str, str] = field(default_factory=dict)
    dist_dir: str = "dist"
    workspace_dir: str = "."
    target_dir: str = "target"
    report_dir: str = "target/nox-cargo"
    msrv: str | None = None
    nox_cargo_requirement: str = "nox-cargo"
    stages: tuple[Stage, ...] = field(default_factory=_pipeline_stages)

    @property
    def matrix_stages(self) -> dict[str, Stage]:
        """Block name → the parametrized stage whose sessions make that matrix."""
        return {f"{s.name}-matrix": s for s in self.stages if s.ci is not None and s.param}

    @classmethod
    def from_config(
        cls,
        config: Config,
        sessions: Iterable[str],
        root: Path,
        workspace: Path,
        msrv: str | None,
        stages: Sequence[Stage] | None = None,
    ) -> Facts:
        """`root` is the repository (workflow paths are relative to it), `workspace` the Cargo
        workspace: CI uses cargo's default target dir, `<workspace>/target`."""
        requested = config.test.msrv_toolchain
        return cls(
            targets=config.target_registry,
            sessions=tuple(sessions),
            docker_platforms=dict(config.docker.platforms),
            dist_dir=_relative(root / config.dist_dir, root),
            workspace_dir=_relative(workspace, root),
            target_dir=_relative(workspace / "target", root),
            report_dir=_relative(workspace / "target" / "nox-cargo", root),
            msrv=requested if requested and "/" not in requested else msrv,
            nox_cargo_requirement=_requirement(root),
            stages=tuple(stages) if stages is not None else _pipeline_stages(),
        )


def _requirement(root: Path) -> str:
    """How CI installs nox-cargo: from the checkout in nox-cargo's own repository, else PyPI."""
    from nox_cargo import __version__
    from nox_cargo.config import read_toml

    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        project = read_toml(pyproject).get("project")
        if isinstance(project, dict) and project.get("name") == "nox-cargo":
            return "."
    return f"nox-cargo=={__version__}"


def _relative(path: Path, root: Path) -> str:
    try:
        return PurePosixPath(path.resolve().relative_to(root.resolve())).as_posix()
    except ValueError:
        raise MatrixError(
            f"{path} is outside the repository {root}; a workflow cannot point at it.",
            "keep the workspace and dist-dir inside the repository.",
        ) from None


_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_./=()-]*$")
_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}


def scalar(value: str | bool) -> str:
    """A YAML scalar that reads back as exactly `value`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if _PLAIN.match(value) and value.lower() not in _YAML_WORDS:
        return value
    return json.dumps(value)


def include(entries: Sequence[Entry]) -> list[str]:
    """`include:` with one mapping per entry, keys in the order given."""
    lines = ["include:"]
    for entry in entries:
        for position, (key, value) in enumerate(entry.items()):
            lines.append(f"{'  - ' if position == 0 else '    '}{key}: {scalar(value)}")
    return lines


def children(sessions: Iterable[str], family: str, key: str) -> list[str]:
    """The values of `family(key=value)` among `sessions`, in registration order."""
    pattern = re.compile(rf"^{re.escape(family)}\({re.escape(key)}=(?P<value>[^()]+)\)$")
    return [m["value"] for m in map(pattern.match, sessions) if m]


# Ubuntu 24.04 packages of the cross linkers nox-cargo knows by their command name.
LINKER_PACKAGES = {
    "aarch64-linux-gnu-gcc": ("gcc-aarch64-linux-gnu", "libc6-dev-arm64-cross"),
    "arm-linux-gnueabihf-gcc": ("gcc-arm-linux-gnueabihf", "libc6-dev-armhf-cross"),
    "riscv64-linux-gnu-gcc": ("gcc-riscv64-linux-gnu", "libc6-dev-riscv64-cross"),
    "x86_64-w64-mingw32-gcc": ("gcc-mingw-w64-x86-64",),
    "i686-w64-mingw32-gcc": ("gcc-mingw-w64-i686",),
}
_LINUX_CROSS_GCC = {"aarch64": "aarch64-linux-gnu-gcc", "riscv64gc": "riscv64-linux-gnu-gcc"}


def apt_packages(target: Target) -> list[str]:
    """Optional Ubuntu 24.04 packages a job on an Ubuntu runner wants for `target`.

    The cross linker (the target's `linker`, or the gcc of a gnu cross triple) and what smoke-runs
    a foreign binary (qemu-user for another Linux arch, wine for Windows). The generated step
    installs them when it can; a job without them reports what is missing through its session.
    """
    if runner_os(target.runner) != "linux":
        return []
    triple = parse_triple(target.triple)
    packages: list[str] = []
    foreign = triple.arch != runner_arch(target.runner)
    gnu = triple.env.startswith("gnu")
    linker = target.linker or (
        _LINUX_CROSS_GCC.get(triple.arch, "") if triple.is_linux and gnu and foreign else ""
    )
    if not linker and triple.is_windows and gnu:
        linker = f"{triple.arch}-w64-mingw32-gcc"
    packages += LINKER_PACKAGES.get(linker, ())
    if triple.is_linux and foreign:
        packages.append("qemu-user-static")
    if triple.is_windows:
        packages.append("wine64")
    return packages


def target_entries(targets: Sequence[Target]) -> list[Entry]:
    return [{"target": t.id, **_target_keys(t)} for t in targets]


def _target_keys(target: Target) -> Entry:
    return {
        "triple": target.triple,
        "runner": target.runner,
        "apt": " ".join(apt_packages(target)),
    }


# -- the keys stages add to their matrix entries (named in nox_cargo.pipeline) ----------------


def target_extras(facts: Facts, target_id: str) -> Entry:
    """A build entry runs on its target's runner."""
    by_id = {t.id: t for t in facts.targets}
    return _target_keys(by_id[target_id]) if target_id in by_id else {}


def msrv_extras(facts: Facts, which: str) -> Entry:
    """The MSRV entry installs the toolchain at the workspace's rust-version."""
    return {"install": facts.msrv} if which == "msrv" and facts.msrv else {}


def docker_extras(facts: Facts, platform: str) -> Entry:
    """An image is built where its target is built, with that target's optional apt packages."""
    by_id = {t.id: t for t in facts.targets}
    target = by_id.get(facts.docker_platforms.get(platform, ""))
    return {
        "runner": target.runner if target else DEFAULT_RUNNER,
        "apt": " ".join(apt_packages(target)) if target else "",
    }


def smoke_target(targets: Sequence[Target]) -> Target:
    """The package smoke runs on the first target built on the default runner (else the first)."""
    if not targets:
        raise MatrixError(
            "The target registry is empty: there is nothing to build or release.",
            "add a `targets` entry to the nox-cargo config (`[[tool.nox-cargo.targets]]` or "
            "`[[workspace.metadata.nox-cargo.targets]]`) or set build.default-targets = true.",
        )
    return next((t for t in targets if t.runner == DEFAULT_RUNNER), targets[0])


def session_matrix(facts: Facts, block: str) -> list[Entry]:
    stage = facts.matrix_stages[block]
    assert stage.param is not None and stage.ci is not None
    key = stage.param.key
    values = children(facts.sessions, stage.name, key)
    if not values:
        raise MatrixError(
            f"The `{block}` block needs `{stage.name}({key}=…)` sessions, but none is registered.",
            f"register the `{stage.name}` stage (nox_cargo.register() does), or delete the job "
            "and its block from the workflow.",
        )
    return [{key: value, **stage.ci.extras(facts, value)} for value in values]


def blocks(facts: Facts) -> tuple[str, ...]:
    """Every block name a workflow may contain."""
    return ("env", "release-matrix", "release-targets", "package-matrix", *facts.matrix_stages)


def render(facts: Facts, block: str) -> list[str]:
    """The lines of one generated block (without indentation)."""
    if block == "env":
        return [
            f"INSTALL_NOX: {scalar(NOX_REQUIREMENT)}",
            f"INSTALL_NOX_CARGO: {scalar(facts.nox_cargo_requirement)}",
            f"DIST_DIR: {scalar(facts.dist_dir)}",
            f"WORKSPACE_DIR: {scalar(facts.workspace_dir)}",
            f"TARGET_DIR: {scalar(facts.target_dir)}",
            f"REPORT_DIR: {scalar(facts.report_dir)}",
        ]
    if block == "release-matrix":
        return include(target_entries(facts.targets))
    if block == "package-matrix":
        return include(target_entries([smoke_target(facts.targets)]))
    if block == "release-targets":
        # Every target the release must carry: the gate names the ones that did not succeed.
        return [f"RELEASE_TARGETS: {scalar(' '.join(t.id for t in facts.targets))}"]
    return include(session_matrix(facts, block))


def matrix_json(facts: Facts, name: str) -> str:
    """`{"include": [...]}` of one matrix, for `nox -s workflows -- --matrix NAME`."""
    if name == "release":
        entries = target_entries(facts.targets)
    elif name == "package":
        entries = target_entries([smoke_target(facts.targets)])
    elif f"{name}-matrix" in facts.matrix_stages:
        entries = session_matrix(facts, f"{name}-matrix")
    else:
        known = ["release", "package", *(b.removesuffix("-matrix") for b in facts.matrix_stages)]
        raise MatrixError(f"There is no matrix {name!r}.", f"use one of: {', '.join(known)}.")
    return json.dumps({"include": entries}, indent=2)
