"""Build strategies: the ways this machine can build a triple, behind one small Protocol.

`STRATEGIES` maps a name to a strategy (cibuildwheel style). Each strategy looks at the probed
`Machine` and either returns a `Plan` (the exact commands and environment, plus why it applies)
or raises `NotHere` naming what is missing and the exact fix. `candidates()` walks them in the
configured order; the build stage takes the first plan that works and explains every rejection.

- native: a discovered toolchain already has the triple's std (and is >= the workspace's
  rust-version); cargo runs with that toolchain (`RUSTC` for Debian's).
- rustup: `rustup target add <triple>` into a rustup toolchain first (downloads the std).
- zig: `cargo zigbuild` with zig (PyPI's `ziglang`) as the linker, for Linux and macOS triples.
- cross: `cross build` in a container (Docker or Podman).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from nox_cargo.build.linkers import Linker, required_linker
from nox_cargo.build.linkers import env_var as linker_env_var
from nox_cargo.build.targets import Triple, parse_triple
from nox_cargo.build.toolchain import Toolchain
from nox_cargo.config import Target
from nox_cargo.workspace import Version


@dataclass(frozen=True)
class Request:
    """What to build: one target of the registry, resolved against the config and workspace."""

    target: Target
    binaries: tuple[str, ...]
    profile: str
    features: tuple[str, ...]
    rustflags: tuple[str, ...]
    locked: tuple[str, ...]
    rust_version: Version | None
    packages: tuple[str, ...] = ()  # `-p` (empty: the workspace's default members)

    @property
    def triple(self) -> Triple:
        return parse_triple(self.target.triple)

    def cargo_args(self, triple_name: str) -> list[str]:
        """`--release`/`--profile P`, `--target T`, `-p P`, `--bin X`, features, `--locked`."""
        args = ["--release"] if self.profile == "release" else ["--profile", self.profile]
        args += ["--target", triple_name]
        for package in self.packages:
            args += ["-p", package]
        for binary in self.binaries:
            args += ["--bin", binary]
        if self.features:
            args += ["--features", ",".join(self.features)]
        return args + list(self.locked)

    def base_env(self) -> dict[str, str]:
        return {"RUSTFLAGS": " ".join(self.rustflags)} if self.rustflags else {}


@dataclass(frozen=True)
class Machine:
    """What this machine has, probed once per run (unit tests build one by hand)."""

    host: str
    toolchains: tuple[Toolchain, ...]
    default: Toolchain | None
    which: Callable[[str], str | None]
    has_ziglang: bool
    container_engine: Callable[[], str | None]  # "docker"/"podman" when its daemon answers


@dataclass(frozen=True)
class Plan:
    """How one strategy builds the request: the exact commands, and why it was chosen."""

    strategy: str
    reason: str
    argv: tuple[str, ...]
    env: Mapping[str, str]
    cargo_triple: str  # what --target is given (an older rustc may name the triple differently)
    toolchain: Toolchain | None
    linker: Linker | None = None
    prepare: tuple[tuple[str, ...], ...] = field(default=())  # run first (rustup target add)


class NotHere(Exception):
    """This strategy cannot build the request on this machine: what is missing, and the fix."""

    def __init__(self, missing: str, fix: str) -> None:
        super().__init__(missing)
        self.missing = missing
        self.fix = fix


class Strategy(Protocol):
    name: str

    def plan(self, request: Request, machine: Machine) -> Plan:
        """The plan, or NotHere."""
        ...


@dataclass(frozen=True)
class Rejection:
    strategy: str
    missing: str
    fix: str


# -- helpers shared by the strategies ---------------------------------------------------------


def _is_prerelease(toolchain: Toolchain) -> bool:
    return "nightly" in toolchain.version_line or "beta" in toolchain.version_line


def preference(toolchains: Sequence[Toolchain], default: Toolchain | None) -> list[Toolchain]:
    """The default toolchain first, then releases newest first, then nightlies and betas."""
    ordered = sorted(
        toolchains,
        key=lambda t: (t is not default, _is_prerelease(t), tuple(-x for x in _v(t.version))),
    )
    return ordered


def _v(version: Version) -> tuple[int, int, int]:
    return (version.major, version.minor, version.patch)


def _usable(toolchain: Toolchain) -> bool:
    return toolchain.rustup_name is not None or toolchain.cargo is not None


def _needs_runner(request: Request, machine: Machine) -> None:
    """macOS triples need macOS, MSVC triples need Windows: no Linux strategy links them."""
    triple, host = request.triple, parse_triple(machine.host)
    runner = request.target.runner
    if triple.is_macos and not host.is_macos:
        raise NotHere(
            f"needs a macOS runner: {runner}",
            f"build it on {runner} (GitHub Actions `runs-on: {runner}`) or on a Mac",
        )
    if triple.is_msvc and not host.is_windows:
        raise NotHere(
            f"needs a Windows runner: {runner}",
            f"build it on {runner} (GitHub Actions `runs-on: {runner}`) or on Windows",
        )


def toolchain_with_std(request: Request, machine: Machine) -> Toolchain:
    """The preferred toolchain that has the triple's std and satisfies the rust-version."""
    triple = request.target.triple
    having = [t for t in preference(machine.toolchains, machine.default) if t.has_std(triple)]
    having = [t for t in having if _usable(t)]
    if not having:
        raise NotHere(f"no toolchain has the std for {triple}", f"`rustup target add {triple}`")
    msrv = request.rust_version
    recent = [t for t in having if msrv is None or t.version >= msrv]
    if not recent:
        old = "; ".join(t.describe() for t in having)
        raise NotHere(
            f"the toolchains with the std for {triple} ({old}) are older than the workspace's "
            f"rust-version {msrv}, so they are refused",
            f"`rustup target add {triple}` on a toolchain >= {msrv}",
        )
    return recent[0]


def _rustup_toolchain(request: Request, machine: Machine) -> Toolchain:
    if machine.which("rustup") is None:
        raise NotHere("rustup is not installed", "install rustup (https://rustup.rs)")
    candidates = [
        t
        for t in preference(machine.toolchains, machine.default)
        if t.rustup_name is not None
        and (request.rust_version is None or t.version >= request.rust_version)
    ]
    if not candidates:
        raise NotHere(
            f"no rustup toolchain is >= the workspace's rust-version {request.rust_version}",
            "`rustup toolchain install stable`",
        )
    return candidates[0]


def _linker(request: Request, toolchain: Toolchain, machine: Machine) -> Linker | None:
    """The cross linker; an inferred one that is missing rejects the strategy (a configured one
    that is missing is an error the build stage raises before cargo runs)."""
    linker = required_linker(request.target, toolchain.host)
    if linker is not None and not linker.configured and machine.which(linker.command) is None:
        raise NotHere(
            f"the linker {linker.command} for {request.target.triple} is not installed",
            f"`apt-get install {linker.package}`" if linker.package else linker.install_hint(),
        )
    return linker


def _cargo_env(toolchain: Toolchain, request: Request, linker: Linker | None) -> dict[str, str]:
    prefix_env = toolchain.cargo_invocation()[1]
    env = {**prefix_env, **request.base_env()}
    if linker is not None:
        env[linker_env_var(toolchain.triple_name(request.target.triple))] = linker.command
    return env


def _rustup_add(toolchain: Toolchain, triple: str) -> tuple[str, ...]:
    assert toolchain.rustup_name is not None
    return ("rustup", "target", "add", "--toolchain", toolchain.rustup_name, triple)


# -- the four strategies ----------------------------------------------------------------------


class Native:
    name = "native"

    def plan(self, request: Request, machine: Machine) -> Plan:
        _needs_runner(request, machine)
        toolchain = toolchain_with_std(request, machine)
        triple_name = toolchain.triple_name(request.target.triple)
        linker = _linker(request, toolchain, machine)
        prefix, _ = toolchain.cargo_invocation()
        reason = f"{toolchain.describe()} has the std for {request.target.triple}"
        if linker is not None:
            reason += f"; links with {linker.command}"
        return Plan(
            self.name,
            reason,
            (*prefix, "build", *request.cargo_args(triple_name)),
            _cargo_env(toolchain, request, linker),
            triple_name,
            toolchain,
            linker,
        )


class Rustup:
    name = "rustup"

    def plan(self, request: Request, machine: Machine) -> Plan:
        _needs_runner(request, machine)
        toolchain = _rustup_toolchain(request, machine)
        triple = request.target.triple
        linker = _linker(request, toolchain, machine)
        prefix, _ = toolchain.cargo_invocation()
        reason = (
            f"`rustup target add {triple}` downloads the std into {toolchain.rustup_name} "
            f"({toolchain.version_line})"
        )
        if linker is not None:
            reason += f"; links with {linker.command}"
        return Plan(
            self.name,
            reason,
            (*prefix, "build", *request.cargo_args(triple)),
            _cargo_env(toolchain, request, linker),
            triple,
            toolchain,
            linker,
            prepare=(_rustup_add(toolchain, triple),),
        )


class Zig:
    name = "zig"
    FIX = "`pip install ziglang cargo-zigbuild`"

    def plan(self, request: Request, machine: Machine) -> Plan:
        triple = request.triple
        if not (triple.is_linux or triple.is_macos):
            raise NotHere(
                f"cargo-zigbuild builds Linux and macOS targets, not {triple.triple}",
                "use another strategy",
            )
        missing = []
        if machine.which("cargo-zigbuild") is None:
            missing.append("cargo-zigbuild is not installed")
        if not machine.has_ziglang:
            missing.append("zig (PyPI `ziglang`) is not installed")
        if missing:
            raise NotHere(" and ".join(missing), self.FIX)
        prepare: tuple[tuple[str, ...], ...] = ()
        try:
            toolchain = toolchain_with_std(request, machine)
        except NotHere as no_std:
            try:
                toolchain = _rustup_toolchain(request, machine)
            except NotHere:
                raise no_std from None
            prepare = (_rustup_add(toolchain, triple.triple),)
        triple_name = toolchain.triple_name(triple.triple)
        prefix, _ = toolchain.cargo_invocation()
        return Plan(
            self.name,
            f"cargo-zigbuild links {triple.triple} with zig, on {toolchain.describe()}",
            (*prefix, "zigbuild", *request.cargo_args(triple_name)),
            _cargo_env(toolchain, request, None),
            triple_name,
            toolchain,
            None,
            prepare,
        )


class Cross:
    name = "cross"

    def plan(self, request: Request, machine: Machine) -> Plan:
        _needs_runner(request, machine)
        if request.triple.binary_format == "wasm":
            raise NotHere(f"cross has no image for {request.target.triple}", "use another strategy")
        if machine.which("cross") is None:
            raise NotHere("`cross` is not installed", "`cargo install cross --locked`")
        engine = machine.container_engine()
        if engine is None:
            raise NotHere(
                "cross needs a container engine and neither Docker nor Podman answers",
                "start the Docker daemon (`systemctl start docker`) or install Podman",
            )
        triple = request.target.triple
        env = {**request.base_env(), "CROSS_CONTAINER_ENGINE": engine}
        return Plan(
            self.name,
            f"cross builds {triple} in its {engine} image",
            ("cross", "build", *request.cargo_args(triple)),
            env,
            triple,
            machine.default,
        )


STRATEGIES: dict[str, Strategy] = {s.name: s for s in (Native(), Rustup(), Zig(), Cross())}


def order_for(target: Target, configured: Sequence[str]) -> tuple[str, ...]:
    """The strategies to try: the target's forced one, else the configured order."""
    return (target.strategy,) if target.strategy else tuple(configured)


def candidates(
    request: Request, machine: Machine, order: Sequence[str]
) -> Iterator[Plan | Rejection]:
    """Each strategy's plan or rejection, in order (lazily: the caller stops at a good plan)."""
    for name in order:
        try:
            yield STRATEGIES[name].plan(request, machine)
        except NotHere as exc:
            yield Rejection(name, exc.missing, exc.fix)


def first_plan(
    request: Request, machine: Machine, order: Sequence[str]
) -> tuple[Plan | None, list[Rejection]]:
    """The first strategy that has a plan (without running its preparation) and the rejections."""
    rejections: list[Rejection] = []
    for item in candidates(request, machine, order):
        if isinstance(item, Plan):
            return item, rejections
        rejections.append(item)
    return None, rejections


def grouped(rejections: Sequence[Rejection]) -> list[str]:
    """`native, rustup, cross: needs a macOS runner: macos-15`: one line per distinct reason."""
    by_reason: dict[str, list[str]] = {}
    for r in rejections:
        by_reason.setdefault(r.missing, []).append(r.strategy)
    return [f"{', '.join(names)}: {missing}" for missing, names in by_reason.items()]


def explain(target: Target, rejections: Sequence[Rejection]) -> tuple[str, str]:
    """(message, fix) of a target no strategy can build here: every strategy's reason."""
    lines = grouped(rejections)
    first = rejections[0].missing if rejections else "no build strategy is configured"
    message = f"Cannot build {target.id} ({target.triple}) here: {first}.\n" + "\n".join(
        f"  - {line}" for line in lines
    )
    fixes = list(dict.fromkeys(r.fix for r in rejections if r.fix != "use another strategy"))
    return message, ", or ".join(fixes) if fixes else "configure `build.strategies`"
