"""Release builds: one target of the registry → static binaries in dist/<id>/ + build manifest.

Steps for `build(target=<id>)`: look the id up in the registry; probe this machine (toolchains,
rustup, cargo-zigbuild + zig, cross + a container engine); take the first strategy, in the
configured order, that can build the triple here (every rejection is printed with its reason);
check the linker before cargo runs; build with `--locked`; read each binary's headers (a build
configured static that came out dynamic is an error); smoke-run it (natively, qemu-user or wine);
stage it atomically in dist/<id>/ and write the BuildManifest that later stages read.

`--dry-run` stops after the choice and prints the exact commands and environment.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shlex
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from nox_cargo import git
from nox_cargo.build import linkers, smoke, targets
from nox_cargo.build import toolchain as tc
from nox_cargo.build.headers import BinaryInfo, inspect
from nox_cargo.build.strategies import (
    Machine,
    Plan,
    Rejection,
    Request,
    candidates,
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
) -> Machine:
    """The Machine for the strategies, from already discovered toolchains."""
    path = environ.get("PATH")

    def which(name: str) -> str | None:
        return shutil.which(name, path=path)

    host = (
        default.host
        if default
        else (toolchains[0].host if toolchains else targets.host_triple_guess())
    )
    # cargo-zigbuild finds zig on PATH or as `python3 -m ziglang`.
    has_zig = which("zig") is not None or importlib.util.find_spec("ziglang") is not None
    return Machine(
        host=host,
        toolchains=tuple(toolchains),
        default=default,
        which=which,
        has_ziglang=has_zig,
        container_engine=functools.cache(lambda: _engine_probe(which)),
    )


def probe_machine(environ: Mapping[str, str]) -> Machine:
    toolchains = tc.discover(environ)
    return machine_from(toolchains, tc.default_toolchain(toolchains, environ), environ)


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
    )


def profile_dir(profile: str) -> str:
    """The directory cargo writes a profile's artifacts to (`dev` and `test` → debug)."""
    return {"dev": "debug", "test": "debug", "bench": "release"}.get(profile, profile)


# -- choosing a strategy ----------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    plan: Plan
    rejections: tuple[Rejection, ...]


def choose(project: Project, request: Request, machine: Machine, *, prepare: bool) -> Choice:
    """The first strategy that can build here; with `prepare`, its preparation must succeed.

    A preparation that fails (e.g. `rustup target add` without network) rejects the strategy
    with rustup's own error, and the next one is tried.
    """
    console = get_console()
    target = request.target
    rejections: list[Rejection] = []
    for item in candidates(request, machine, order_for(target, project.config.build.strategies)):
        if isinstance(item, Rejection):
            console.info(f"strategy {item.strategy}: not here: {item.missing}")
            rejections.append(item)
            continue
        plan = item
        if plan.linker is not None:
            linkers.check(plan.linker, target.triple, machine.which)
        if prepare and plan.prepare:
            failed = _prepare(plan)
            if failed is not None:
                console.info(f"strategy {plan.strategy}: not here: {failed.missing}")
                rejections.append(failed)
                continue
            if plan.toolchain is not None:  # it has the std it was prepared with now
                fresh = tc.installed_targets(plan.toolchain.sysroot)
                plan = replace(plan, toolchain=replace(plan.toolchain, targets=fresh))
        return Choice(plan, tuple(rejections))
    message, fix = explain(target, rejections)
    raise Unavailable(message, fix)


def _prepare(plan: Plan) -> Rejection | None:
    for argv in plan.prepare:
        try:
            run(argv, capture=True)
        except NoxCargoError as exc:
            tail = exc.tail if isinstance(exc, CommandFailed) else exc.message
            lines = [ln.strip() for ln in tail.splitlines() if ln.strip()]
            errors = [ln for ln in lines if ln.lower().startswith("error")]
            why = (errors or lines or ["no output"])[0 if errors else -1]
            return Rejection(
                plan.strategy,
                f"`{shlex.join(argv)}` failed ({why})",
                # The same words as native's fix, so the list of fixes names it once.
                f"`rustup target add {plan.cargo_triple}`",
            )
    return None


# -- building ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Built:
    """A binary cargo produced, read and smoke-tested, before staging."""

    name: str
    source: Path
    file_name: str
    info: BinaryInfo
    smoke: str  # "ran natively: weft 0.3.0" or "skipped: <reason>"


def show_plan(request: Request, plan: Plan, cwd: Path, dist: Path) -> None:
    console = get_console()
    target = request.target
    console.info(f"{target.id} ({target.triple}): strategy {plan.strategy}: {plan.reason}")
    console.info("dry run: these commands would run, nothing is built")
    for argv in plan.prepare:
        console.command(argv)
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
    machine = machine or probe_machine(project.environ)
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
    run(
        plan.argv,
        cwd=workspace.root,
        env=dict(plan.env),
        hint=f'cargo\'s error is above; `nox -s "build(target={target.id})" -- --dry-run` '
        "shows the exact command to rerun by hand.",
    )
    duration = time.monotonic() - started
    out_dir = workspace.target_dir / plan.cargo_triple / profile_dir(request.profile)
    host = plan.toolchain.host if plan.toolchain else machine.host
    runner = smoke.runner_for(target.triple, host, machine.which, project.report_dir)
    built = [
        _check_binary(request, out_dir / request.triple.binary_name(name), name, static)
        for name in request.binaries
    ]
    built = [_smoke(b, runner, project) for b in built]
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
    if static and not info.static:
        raise NoxCargoError(
            f"{request.target.id} is configured to link statically, but {path.name} came out "
            f"dynamic ({info.describe_dynamic()}).",
            "check the target's `rustflags` and `linker` (a static glibc build needs libc6-dev's "
            "libc.a; MinGW needs `-C target-feature=+crt-static`), or set `static = false`.",
        )
    return Built(name, path, request.triple.binary_name(name), info, "")


def _smoke(built: Built, runner: smoke.SmokeRunner | smoke.SmokeSkip, project: Project) -> Built:
    console = get_console()
    args = project.config.build.smoke_args
    if isinstance(runner, smoke.SmokeSkip):
        fix = f" (fix: {runner.fix})" if runner.fix else ""
        console.info(f"smoke run of {built.file_name} skipped: {runner.reason}{fix}")
        return Built(built.name, built.source, built.file_name, built.info, "skipped")
    first = smoke.smoke_run(built.source, runner, args, project.workspace.root)
    console.success(f"{built.file_name} {' '.join(args)} ran {runner.how}: {first}")
    return Built(built.name, built.source, built.file_name, built.info, f"ran {runner.how}")


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
    machine = machine_from(facts.toolchains, facts.default_toolchain, project.environ)
    for target in project.config.target_registry:
        item = f"{target.id} ({target.triple})"
        request = make_request(project, target)
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
        if plan.prepare:
            # The std must be downloaded first: possible, but not known to work (offline?).
            prepare = shlex.join(plan.prepare[0])
            before = "; ".join(grouped(rejections))
            yield Row(
                "build",
                item,
                None,
                (f"{before}; " if before else "") + f"{plan.strategy} runs `{prepare}` first "
                "(a download)",
                rejections[0].fix if rejections else f"`{prepare}`",
            )
            continue
        yield Row("build", item, True, f"{plan.strategy}: {plan.reason}")
