"""What each stage needs provisioned, for one value of its parameter; and the whole pipeline's.

Each function returns a stage's needs for one value of its parameter (a lint step, a test
toolchain, a target id, a wasm triple); the stage table names them in its declarations (`needs=`)
and `pipeline_needs` gathers them over the registered stages for `nox -s provision`. Working out the
needs never installs anything except the project's pinned toolchain, which every other need
depends on (its targets and components go into it).
"""

from __future__ import annotations

from collections.abc import Sequence

from nox_cargo.build import builder, compiler, targets
from nox_cargo.build import toolchain as tc
from nox_cargo.build.strategies import Request
from nox_cargo.errors import Unavailable
from nox_cargo.project import Project
from nox_cargo.provision import needs as nd
from nox_cargo.provision.needs import Need
from nox_cargo.stage import Stage


def _compiler_name(project: Project) -> str | None:
    """The rustup name of the project's compiler (None: not a rustup toolchain)."""
    machine = builder.probe_machine(project.environ, builder.tool_dir(project))
    toolchain, _ = compiler.resolve(
        project,
        machine.toolchains,
        machine.default,
        machine.host,
        builder.provisioner(project, machine),
    )
    return toolchain.rustup_name


def compiler_needs(project: Project) -> tuple[Need, ...]:
    """The pinned toolchain with the components and targets its rust-toolchain.toml lists."""
    spec = compiler.spec_for(project.config.toolchain, project.workspace_path)
    return spec.needs()


def lint_needs(project: Project, step: str) -> tuple[Need, ...]:
    from nox_cargo.lint import COMPONENTS

    name = _compiler_name(project)
    if name is None:
        return compiler_needs(project)
    return (*compiler_needs(project), *(nd.component(c, name) for c in COMPONENTS.get(step, ())))


def test_needs(project: Project, toolchain: str) -> tuple[Need, ...]:
    if toolchain != "msrv":
        return compiler_needs(project)
    rust_version = project.workspace.rust_version
    if rust_version is None or project.config.test.msrv_toolchain:
        return ()
    try:
        tc.select_msrv(tc.discover(project.environ), rust_version, "")
    except Unavailable:
        return (nd.toolchain(f"{rust_version.major}.{rust_version.minor}"),)
    return ()


def build_needs(project: Project, target_id: str) -> tuple[Need, ...]:
    """The needs of the plan `build(target=…)` would take here (none when it cannot build)."""
    target = targets.lookup(project.config, target_id)
    return _plan_needs(project, builder.make_request(project, target))


def wasm_needs(project: Project, triple: str) -> tuple[Need, ...]:
    from nox_cargo.wasm.module import wasm_request

    return _plan_needs(project, wasm_request(project, triple))


def _plan_needs(project: Project, request: Request) -> tuple[Need, ...]:
    machine = builder.probe_machine(project.environ, builder.tool_dir(project))
    try:
        choice = builder.choose(project, request, machine, prepare=False, quiet=True)
    except Unavailable:
        return ()  # an honest skip (MSVC on Linux): nothing to provision
    return (*compiler_needs(project), *choice.plan.needs)


def pipeline_needs(project: Project, stages: Sequence[Stage]) -> list[tuple[str, tuple[Need, ...]]]:
    """(session, needs) for every value of every stage that declares needs."""
    found = []
    for stage in stages:
        if stage.needs is None:
            continue
        for value in stage.values(project.config):
            found.append((stage.session(value), tuple(stage.needs(project, value))))
    return found
