"""Release builds: one target of the registry → static binaries in dist/<id>/ + build manifest.

Steps for `build(target=<id>)`: look the id up in the registry; probe this machine (toolchains,
rustup, cargo-zigbuild + zig, cross + a container engine); resolve the project's compiler
(config `toolchain`, rust-toolchain.toml, else the default; provisioned when pinned and missing);
take the first strategy, in the configured order, that can build the triple here with it (every
rejection is printed with its reason); provision what the plan needs (the std, zig and
cargo-zigbuild) unless `provision = "never"`; check the linker before cargo runs; build with
`--locked`; read each binary's headers (format, arch, static, minimum macOS); smoke-run it
(natively, qemu-user or wine) when that can work, else record why not; stage it atomically in
dist/<id>/ and write the BuildManifest that later stages read.

`--dry-run` stops after the choice and prints the exact commands and environment.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from nox_cargo import git
from nox_cargo.build import cdeps, compiler, linkers, smoke, targets
from nox_cargo.build import toolchain as tc
from nox_cargo.build.headers import BinaryInfo, inspect
from nox_cargo.build.strategies import (
    Machine,
    Plan,
    Rejection,
    Request,
    candidates,
    deployment_target,
    explain,
    first_plan,
    grouped,
    order_for,
)
from nox_cargo.config import Target
from nox_cargo.console import get_console, markdown_table
from nox_cargo.doctor import Probes, Row
from nox_cargo.errors import CommandFailed, NoxCargoError, Unavailable
from nox_cargo.fsutil import atomic_copy, locked
from nox_cargo.manifest import Artifact, BuildManifest, sha256_file
from nox_cargo.process import run
from nox_cargo.project import Project
from nox_cargo.provision import installer
from nox_cargo.provision.needs import commands
from nox_cargo.provision.tooldir import ToolDir

CRT_STATIC = ("-C", "target-feature=+crt-static")


# -- the machine ------------------------------------------------------------------------------


def _engine_probe(which: Callable[[str], str | None]) -> str | None:
    for engine in ("docker", "podman"):
        if which(engine) is None:
            continue
        try:
            done = run(
                [engine, "version", "--format", "{{.Server.Version}}"],
                capture=True,
                quiet=True,
                check=False,
            )
        except NoxCargoError:
            continue
        if done.ok and done.stdout.strip():
            return engine
    return None


def machine_from(
    toolchains: list[tc.Toolchain],
    default: tc.Toolchain | None,
    environ: Mapping[str, str],
    tools: ToolDir | None = None,
) -> Machine:
    """The Machine for the strategies, from already discovered toolchains (and the commands of
    nox-cargo's tool directory, when given)."""
    path = tools.path_value(environ) if tools else environ.get("PATH")

    def which(name: str) -> str | None:
        return shutil.which(name, path=path)

    host = (
        default.host
        if default
        else (toolchains[0].host if toolchains else targets.host_triple_guess())
    )
    # cargo-zigbuild finds zig on PATH or as `python3 -m ziglang`.
    has_zig = which("zig") is not None or importlib.util.find_spec("ziglang") is not None
    if tools is not None:
        has_zig = has_zig or tools.has_pypi("ziglang")
    return Machine(
        host=host,
        toolchains=tuple(toolchains),
        default=default,
        which=which,
        has_ziglang=has_zig,
        container_engine=functools.cache(lambda: _engine_probe(which)),
    )


def probe_machine(environ: Mapping[str, str], tools: ToolDir | None = None) -> Machine:
    toolchains = tc.discover(environ)
    return machine_from(toolchains, tc.default_toolchain(toolchains, environ), environ, tools)


def tool_dir(project: Project) -> ToolDir:
    return ToolDir.for_config(project.config.tools_dir, project.base_dir, project.environ)


def provisioner(project: Project, machine: Machine) -> installer.Provisioner:
    """What installs the project's needs, with the config's policy (`--no-provision` included)."""
    return compiler.provisioner_for(project, machine.host, machine.which)


# -- the request ------------------------------------------------------------------------------


def rustflags_for(target: Target) -> tuple[str, ...]:
    """`-C target-feature=+crt-static` when the target links statically, then its rustflags."""
    return (*(CRT_STATIC if targets.is_static(target) else ()), *target.rustflags)


def make_request(project: Project, target: Target) -> Request:
    workspace = project.workspace
    return Request(
        target=target,
        binaries=tuple(workspace.release_binaries(project.config.binaries)),
        profile=target.profile or project.config.build.profile,
        features=target.features,
        rustflags=rustflags_for(target),
        locked=tuple(project.locked),
        rust_version=workspace.rust_version,
        # Only musl triples lack a C compiler that cc-rs would find (see strategies).
        c_code=(
            cdeps.c_code(workspace.root, workspace.lockfile.is_file())
            if targets.parse_triple(target.triple).is_musl
            else ()
        ),
    )


def profile_dir(profile: str) -> str:
    """The directory cargo writes a profile's artifacts to (`dev` and `test` → debug)."""
    return {"dev": "debug", "test": "debug", "bench": "release"}.get(profile, profile)


# -- choosing a strategy ----------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    plan: Plan
    rejections: tuple[Rejection, ...]


def with_compiler(
    project: Project, request: Request, machine: Machine, *, provision: bool
) -> Request:
    """The request with the project's compiler filled in (provisioned when pinned and missing)."""
    if request.toolchain is not None:
        return request
    toolchain, origin = compiler.resolve(
        project,
        machine.toolchains,
        machine.default,
        machine.host,
        provisioner(project, machine) if provision else None,
    )
    return replace(request, toolchain=toolchain, toolchain_origin=origin)


def choose(
    project: Project, request: Request, machine: Machine, *, prepare: bool, quiet: bool = False
) -> Choice:
    """The first strategy that can build here; with `prepare`, its needs are provisioned.

    A need that cannot be provisioned (offline; `provision = "never"`) rejects the strategy with
    the reason, and the next one is tried.
    """
    console = get_console()
    request = with_compiler(project, request, machine, provision=prepare)
    target = request.target
    install = provisioner(project, machine)
    rejections: list[Rejection] = []
    for item in candidates(request, machine, order_for(target, project.config.build.strategies)):
        if isinstance(item, Rejection):
            if not quiet:
                console.info(f"strategy {item.strategy}: not here: {item.missing}")
            rejections.append(item)
            continue
        plan = item
        if plan.linker is not None:
            linkers.check(plan.linker, target.triple, machine.which)
        missing = install.missing(plan.needs)
        if missing and (prepare or install.policy == "never"):
            try:
                install.ensure(missing, f"build({target.id}) via {plan.strategy}")
            except Unavailable as exc:
                failed = Rejection(plan.strategy, exc.message.rstrip("."), commands(missing))
                console.info(f"strategy {plan.strategy}: not here: {failed.missing}")
                rejections.append(failed)
                continue
            if plan.toolchain is not None:  # it has the std it was provisioned with now
                fresh = tc.installed_targets(plan.toolchain.sysroot)
                plan = replace(plan, toolchain=replace(plan.toolchain, targets=fresh))
        if any(not n.is_rustup for n in plan.needs) or plan.strategy == "zig":
            plan = replace(plan, env={**plan.env, **install.tools.env(project.environ)})
        return Choice(plan, tuple(rejections))
    message, fix = explain(target, rejections)
    raise Unavailable(message, fix)


# -- building ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Built:
    """A binary cargo produced, read and smoke-tested, before staging."""

    name: str
    source: Path
    file_name: str
    info: BinaryInfo
    smoke: str  # "ran natively: weft 0.3.0" or "not run: <reason>"


def show_plan(request: Request, plan: Plan, cwd: Path, dist: Path) -> None:
    console = get_console()
    target = request.target
    console.info(f"{target.id} ({target.triple}): strategy {plan.strategy}: {plan.reason}")
    console.info("dry run: these commands would run, nothing is built")
    for need in plan.needs:
        console.info(f"would provision {need.describe()}: `{need.user_command()}`")
    console.command(plan.argv, cwd=cwd, env=dict(plan.env))
    files = ", ".join(request.triple.binary_name(b) for b in request.binaries)
    console.info(f"then: stage {files} and build-manifest.json in {dist / target.id}")


def build_target(
    project: Project,
    target_id: str,
    *,
    dry_run: bool = False,
    machine: Machine | None = None,
) -> BuildManifest | Plan:
    """Build one target of the registry (or, with dry_run, return and print its plan)."""
    console = get_console()
    target = targets.lookup(project.config, target_id)
    request = make_request(project, target)
    workspace = project.workspace
    machine = machine or probe_machine(project.environ, tool_dir(project))
    static = targets.is_static(target)
    console.info(
        f"target {target.id}: {target.triple}, binaries {', '.join(request.binaries)}, "
        f"profile {request.profile}, {'static' if static else 'dynamic'} linking"
    )
    choice = choose(project, request, machine, prepare=not dry_run)
    plan = choice.plan
    if dry_run:
        show_plan(request, plan, workspace.root, project.dist_dir)
        return plan
    console.info(f"strategy {plan.strategy}: {plan.reason}")
    # Recorded in the manifest; asked before cargo runs so a missing one fails fast.
    commit = git.commit(workspace.root)
    epoch = git.source_date_epoch(workspace.root, project.environ)
    started = time.monotonic()
    try:
        run(
            plan.argv,
            cwd=workspace.root,
            env=dict(plan.env),
            hint=f'cargo\'s error is above; `nox -s "build(target={target.id})" -- --dry-run` '
            "shows the exact command to rerun by hand.",
        )
    except CommandFailed as exc:
        if "failed to find tool" in exc.tail:
            raise CommandFailed(
                exc.argv,
                exc.returncode,
                exc.tail,
                f"a build script needs a C compiler for {target.triple}: set the target's "
                '`c-compiler`, or build it with zig (`strategy = "zig"`).',
            ) from None
        raise
    duration = time.monotonic() - started
    out_dir = workspace.target_dir / plan.cargo_triple / profile_dir(request.profile)
    host = plan.toolchain.host if plan.toolchain else machine.host
    runner = smoke.runner_for(target.triple, host, machine.which, project.report_dir)
    built = [
        _check_binary(request, out_dir / request.triple.binary_name(name), name, static)
        for name in request.binaries
    ]
    built = [_smoke(b, runner, project, machine.which) for b in built]
    manifest = _stage(project, request, plan, built, duration, (commit, epoch))
    _report(manifest, built, project.dist_dir)
    return manifest


def _check_binary(request: Request, path: Path, name: str, static: bool) -> Built:
    if not path.is_file():
        raise NoxCargoError(
            f"cargo reported success but {path} does not exist.",
            "check `build.profile` / the target's `profile` and the target dir.",
        )
    info = inspect(path)
    expected = request.triple.binary_format
    if info.format != expected:
        raise NoxCargoError(
            f"{path} is a {info.format} file, but {request.target.triple} binaries are {expected}.",
            "check the target's triple and linker.",
        )
    triple = request.triple
    if triple.is_macos:
        _check_macho(request, path, info)
    if static and not info.static:
        raise NoxCargoError(
            f"{request.target.id} is configured to link statically, but {path.name} came out "
            f"dynamic ({info.describe_dynamic()}).",
            "check the target's `rustflags` and `linker` (a static glibc build needs libc6-dev's "
            "libc.a; MinGW needs `-C target-feature=+crt-static`), or set `static = false`.",
        )
    return Built(name, path, request.triple.binary_name(name), info, "")


def _check_macho(request: Request, path: Path, info: BinaryInfo) -> None:
    """A macOS build has the triple's arch and the configured minimum macOS."""
    triple = request.triple
    wanted_arch = "x86_64+aarch64" if triple.arch == "universal2" else triple.arch
    if triple.arch == "universal2":
        arch_ok = sorted(info.arch.split("+")) == sorted(wanted_arch.split("+"))
    else:
        arch_ok = info.arch == wanted_arch
    if not arch_ok:
        raise NoxCargoError(
            f"{path} is a Mach-O for {info.arch}, but {request.target.triple} is {wanted_arch}.",
            "check the target's triple.",
        )
    wanted = deployment_target(request.target)
    if info.min_os is not None and info.min_os != wanted:
        raise NoxCargoError(
            f"{path} requires macOS {info.min_os}, but the target's minimum macOS is {wanted}.",
            "check MACOSX_DEPLOYMENT_TARGET in the environment and the target's "
            "`macos-deployment-target`.",
        )


def _smoke(
    built: Built,
    runner: smoke.SmokeRunner | smoke.SmokeSkip,
    project: Project,
    which: Callable[[str], str | None],
) -> Built:
    """Run the binary when this machine can; otherwise record why not (never a failure of a
    good build, except under CI/--strict where this very machine should run it natively)."""
    console = get_console()
    args = project.config.build.smoke_args
    if isinstance(runner, smoke.SmokeRunner):
        blocked = smoke.cannot_run(runner, built.info.needed, built.file_name, which)
        runner = blocked or runner
    if isinstance(runner, smoke.SmokeSkip):
        fix = f" (to run it: {runner.fix})" if runner.fix else ""
        console.info(f"smoke run of {built.file_name}: not run: {runner.reason}{fix}")
        return replace(built, smoke=f"not run: {runner.reason}")
    first = smoke.smoke_run(built.source, runner, args, project.workspace.root)
    console.success(f"{built.file_name} {' '.join(args)} ran {runner.how}: {first}")
    return replace(built, smoke=f"ran {runner.how}: {first}")


def _stage(
    project: Project,
    request: Request,
    plan: Plan,
    built: list[Built],
    duration: float,
    source: tuple[str, int],
) -> BuildManifest:
    dist = project.dist_dir
    target = request.target
    workspace = project.workspace
    artifacts = []
    with locked(dist):
        for b in built:
            relative = f"{target.id}/{b.file_name}"
            atomic_copy(b.source, dist / relative)
            artifacts.append(
                Artifact(
                    name=b.name,
                    path=relative,
                    size=(dist / relative).stat().st_size,
                    sha256=sha256_file(dist / relative),
                    static=b.info.static,
                    format=b.info.format,
                    smoke=b.smoke,
                    arch=b.info.arch,
                    min_os=b.info.min_os or "",
                )
            )
        toolchain = plan.toolchain
        manifest = BuildManifest(
            target_id=target.id,
            triple=target.triple,
            strategy=plan.strategy,
            strategy_reason=plan.reason,
            toolchain=toolchain.version_line if toolchain else plan.strategy,
            toolchain_path=str(toolchain.rustc) if toolchain else "",
            profile=request.profile,
            rustflags=request.rustflags,
            features=request.features,
            version=workspace.version_of(request.binaries[0]) if request.binaries else "",
            git_commit=source[0],
            source_date_epoch=source[1],
            duration_seconds=round(duration, 3),
            artifacts=tuple(artifacts),
        )
        manifest.save(dist)
    return manifest


def _report(manifest: BuildManifest, built: list[Built], dist: Path) -> None:
    console = get_console()
    smoke_of = {b.name: b.smoke for b in built}
    rows = [
        (
            Path(a.path).name,
            f"{a.size:,} B",
            a.sha256[:12],
            "static" if a.static else "dynamic",
            smoke_of.get(a.name, ""),
        )
        for a in manifest.artifacts
    ]
    columns = ["artifact", "size", "sha256", "linking", "smoke run"]
    title = f"dist/{manifest.target_id}/ (build via {manifest.strategy})"
    console.table(title, columns, rows)
    console.info(f"manifest: {os.path.relpath(BuildManifest.path_for(dist, manifest.target_id))}")
    console.summary(
        f"**build({manifest.target_id})** — {manifest.triple} via {manifest.strategy} "
        f"({manifest.toolchain}), {manifest.duration_seconds:.1f}s\n\n"
        + markdown_table(columns, rows)
    )


# -- doctor: one row per target ---------------------------------------------------------------


def target_rows(facts: Probes) -> Iterable[Row]:
    """Whether each target of the registry is buildable here, how, or the exact fix."""
    project = facts.project
    machine = machine_from(
        facts.toolchains, facts.default_toolchain, project.environ, tool_dir(project)
    )
    try:
        toolchain, origin = compiler.resolve(
            project, machine.toolchains, machine.default, machine.host, None
        )
    except NoxCargoError as exc:
        yield Row("build", "the project's compiler", False, exc.message, exc.hint or "")
        return
    yield Row("build", "the project's compiler", True, f"{toolchain.describe()}; {origin}")
    install = provisioner(project, machine)
    for target in project.config.target_registry:
        item = f"{target.id} ({target.triple})"
        request = replace(
            make_request(project, target), toolchain=toolchain, toolchain_origin=origin
        )
        plan, rejections = first_plan(
            request, machine, order_for(target, project.config.build.strategies)
        )
        if plan is None:
            message, fix = explain(target, rejections)
            yield Row("build", item, False, "; ".join(grouped(rejections)) or message, fix)
            continue
        if plan.linker is not None:
            try:
                linkers.check(plan.linker, target.triple, machine.which)
            except NoxCargoError as exc:
                yield Row("build", item, False, f"{plan.strategy}: {exc.message}", exc.hint or "")
                continue
        missing = install.missing(plan.needs)
        if missing:
            # Possible, but a download first (offline? `provision = "never"`?).
            before = "; ".join(grouped(rejections))
            listed = ", ".join(n.describe() for n in missing)
            yield Row(
                "build",
                item,
                None,
                (f"{before}; " if before else "") + f"{plan.strategy} after provisioning {listed}",
                f"{commands(missing)} (or `nox -s provision`)",
            )
            continue
        yield Row("build", item, True, f"{plan.strategy}: {plan.reason}")
