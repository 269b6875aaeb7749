"""Build strategies: the ways this machine can build a triple, behind one small Protocol.

`STRATEGIES` maps a name to a strategy (cibuildwheel style). Each strategy looks at the probed
`Machine` and either returns a `Plan` (the exact commands and environment, what must be
provisioned first, and why it applies) or raises `NotHere` naming what is missing and the fix.
`candidates()` walks them in the configured order; the build stage takes the first plan that
works and explains every rejection.

Every strategy builds with the project's compiler (`Request.toolchain`: the config's `toolchain`,
else the workspace's rust-toolchain.toml, else the default toolchain), never with "some
toolchain that happens to have the std":

- native: the compiler already has the triple's std.
- rustup: the compiler is a rustup toolchain; the std is provisioned (`rustup target add`).
- zig: `cargo zigbuild` with zig as the linker and C compiler (PyPI's `ziglang` and
  `cargo-zigbuild`, provisioned into nox-cargo's tool directory), for Linux and macOS triples.
- cross: `cross build` in a container (Docker or Podman).

Linux musl triples of another architecture link with the toolchain's own rust-lld and musl's
self-contained CRT (or a cross gcc when one is installed). A workspace whose build scripts compile
C with cc-rs needs a C compiler for the triple: native and rustup say so up front unless one is
configured (`c-compiler`) or on PATH, and zig provides one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from nox_cargo.build.linkers import Linker, c_compiler_names, required_linker
from nox_cargo.build.linkers import env_var as linker_env_var
from nox_cargo.build.targets import Triple, parse_triple
from nox_cargo.build.toolchain import Toolchain
from nox_cargo.config import Target
from nox_cargo.config.model import STRATEGY_NAMES
from nox_cargo.provision import needs as nd
from nox_cargo.provision.needs import Need
from nox_cargo.workspace import Version

# MACOSX_DEPLOYMENT_TARGET when the target's `macos-deployment-target` is empty: the oldest
# macOS that current Rust supports per architecture (without it zig targets its newest SDK).
DEFAULT_MACOS_DEPLOYMENT = {"x86_64": "10.12", "aarch64": "11.0", "universal2": "11.0"}


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
    # The project's compiler, and where that choice comes from (None: the machine's default).
    toolchain: Toolchain | None = None
    toolchain_origin: str = "the default toolchain"
    # Packages whose build scripts compile C through cc-rs/cmake ("ring (cc)"): they need a C
    # compiler for the triple.
    c_code: tuple[str, ...] = ()

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
        env = {"RUSTFLAGS": " ".join(self.rustflags)} if self.rustflags else {}
        triple = self.triple
        if triple.is_macos:
            env["MACOSX_DEPLOYMENT_TARGET"] = deployment_target(self.target)
        return env


def deployment_target(target: Target) -> str:
    """The minimum macOS of a macOS target: its key, else the per-arch default."""
    if target.macos_deployment_target:
        return target.macos_deployment_target
    return DEFAULT_MACOS_DEPLOYMENT.get(parse_triple(target.triple).arch, "11.0")


def std_triples(triple: str) -> tuple[str, ...]:
    """The std a triple needs: both macOS ones for cargo-zigbuild's universal2-apple-darwin."""
    if triple == "universal2-apple-darwin":
        return ("x86_64-apple-darwin", "aarch64-apple-darwin")
    return (triple,)


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
    needs: tuple[Need, ...] = field(default=())  # provisioned first (std, zig, cargo-zigbuild)


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


def _needs_runner(request: Request, machine: Machine) -> None:
    """macOS triples need macOS (or zig), MSVC triples need Windows: its import libraries and
    CRT come with Visual Studio, which no registry here provides."""
    triple, host = request.triple, parse_triple(machine.host)
    runner = request.target.runner
    if triple.is_macos and not host.is_macos:
        raise NotHere(
            f"needs a macOS runner ({runner}) or zig",
            f"build it on {runner} (GitHub Actions `runs-on: {runner}`), or with the zig strategy",
        )
    if triple.is_msvc and not host.is_windows:
        raise NotHere(
            f"needs a Windows runner ({runner}): the MSVC libraries cannot be fetched from "
            "rustup, PyPI or crates.io",
            f"build it on {runner} (GitHub Actions `runs-on: {runner}`) or on Windows",
        )


def compiler(request: Request, machine: Machine) -> Toolchain:
    """The project's compiler; refused when it is older than the workspace's rust-version."""
    toolchain = request.toolchain or machine.default
    if toolchain is None:
        raise NotHere("no Rust toolchain is installed", "install rustup (https://rustup.rs)")
    if toolchain.rustup_name is None and toolchain.cargo is None:
        raise NotHere(f"{toolchain.describe()} has no cargo beside it", "install its cargo")
    msrv = request.rust_version
    if msrv is not None and toolchain.version < msrv:
        raise NotHere(
            f"the project's compiler {toolchain.describe()} ({request.toolchain_origin}) is "
            f"older than the workspace's rust-version {msrv}",
            f"pin a toolchain >= {msrv} (rust-toolchain.toml or the config's `toolchain`)",
        )
    return toolchain


def missing_std(request: Request, toolchain: Toolchain) -> list[str]:
    return [t for t in std_triples(request.target.triple) if not toolchain.has_std(t)]


def toolchain_with_std(request: Request, machine: Machine) -> Toolchain:
    """The project's compiler, when it has the triple's std."""
    toolchain = compiler(request, machine)
    missing = missing_std(request, toolchain)
    if missing:
        raise NotHere(
            f"the project's compiler {toolchain.describe()} has no std for {', '.join(missing)}",
            _std_fix(toolchain, missing),
        )
    return toolchain


def _std_fix(toolchain: Toolchain, triples: Sequence[str]) -> str:
    if toolchain.rustup_name is None:
        return (
            f"install the std for {' '.join(triples)} into {toolchain.name}, or use a rustup "
            "toolchain (the config's `toolchain`)"
        )
    return " && ".join(f"`{nd.target(t, toolchain.rustup_name).user_command()}`" for t in triples)


def _std_needs(request: Request, toolchain: Toolchain) -> tuple[Need, ...]:
    """The rustup targets the compiler lacks for the triple (NotHere when rustup cannot add)."""
    missing = missing_std(request, toolchain)
    if not missing:
        return ()
    if toolchain.rustup_name is None:
        raise NotHere(
            f"the project's compiler {toolchain.describe()} has no std for "
            f"{', '.join(missing)} and is not a rustup toolchain",
            _std_fix(toolchain, missing),
        )
    return tuple(nd.target(t, toolchain.rustup_name) for t in missing)


def _linker(request: Request, toolchain: Toolchain, machine: Machine) -> Linker | None:
    """The cross linker; an inferred one that is missing rejects the strategy (a configured one
    that is missing is an error the build stage raises before cargo runs)."""
    linker = required_linker(request.target, toolchain.host)
    if linker is not None and not linker.configured and machine.which(linker.command) is None:
        lld = _self_contained_lld(request, toolchain, machine)
        if lld is not None:
            return lld
        raise NotHere(
            f"the linker {linker.command} for {request.target.triple} is not installed",
            f"`apt-get install {linker.package}`" if linker.package else linker.install_hint(),
        )
    return linker


def _self_contained_lld(request: Request, toolchain: Toolchain, machine: Machine) -> Linker | None:
    """musl of another architecture: the toolchain's rust-lld with musl's self-contained CRT."""
    triple, host = request.triple, parse_triple(toolchain.host)
    if not (triple.is_musl and triple.is_linux and host.is_linux):
        return None
    bundled = toolchain.sysroot / "lib" / "rustlib" / toolchain.host / "bin" / "rust-lld"
    found = str(bundled) if bundled.exists() else machine.which("rust-lld")
    return Linker(found, "", self_contained=True) if found else None


def _c_compiler(request: Request, machine: Machine) -> dict[str, str]:
    """cc-rs's `CC_<triple>` for a workspace with C code built for a musl triple, or NotHere."""
    triple = request.triple
    if not request.c_code or not triple.is_musl or request.target.triple == machine.host:
        return {}
    var = "CC_" + request.target.triple.replace("-", "_")
    if request.target.c_compiler:
        return {var: request.target.c_compiler}
    for name in c_compiler_names(request.target.triple, machine.host):
        if machine.which(name):
            return {var: name}
    raise NotHere(
        f"{', '.join(request.c_code)} compile C for the target, and no C compiler for "
        f"{request.target.triple} is installed",
        "the zig strategy (zig is its C compiler; provisioned from PyPI), or set the target's "
        f"`c-compiler` (e.g. {c_compiler_names(request.target.triple, machine.host)[0]})",
    )


def _cargo_env(toolchain: Toolchain, request: Request, linker: Linker | None) -> dict[str, str]:
    prefix_env = toolchain.cargo_invocation()[1]
    env = {**prefix_env, **request.base_env()}
    if linker is not None:
        env[linker_env_var(toolchain.triple_name(request.target.triple))] = linker.command
    return env


def _explained(toolchain: Toolchain, request: Request) -> str:
    return f"the project's compiler {toolchain.describe()} ({request.toolchain_origin})"


# -- the four strategies ----------------------------------------------------------------------


class Native:
    name = "native"

    def plan(self, request: Request, machine: Machine) -> Plan:
        _needs_runner(request, machine)
        toolchain = toolchain_with_std(request, machine)
        return _cargo_build_plan(self.name, request, machine, toolchain, ())


class Rustup:
    name = "rustup"

    def plan(self, request: Request, machine: Machine) -> Plan:
        _needs_runner(request, machine)
        toolchain = compiler(request, machine)
        if toolchain.rustup_name is None:
            raise NotHere(
                f"the project's compiler {toolchain.describe()} is not a rustup toolchain",
                _std_fix(toolchain, std_triples(request.target.triple)),
            )
        needs = _std_needs(request, toolchain)
        if not needs:
            raise NotHere("the std is already there (native builds it)", "use another strategy")
        return _cargo_build_plan(self.name, request, machine, toolchain, needs)


def _cargo_build_plan(
    name: str, request: Request, machine: Machine, toolchain: Toolchain, needs: tuple[Need, ...]
) -> Plan:
    triple_name = toolchain.triple_name(request.target.triple)
    linker = _linker(request, toolchain, machine)
    c_env = _c_compiler(request, machine)
    prefix, _ = toolchain.cargo_invocation()
    reason = _explained(toolchain, request)
    reason += (
        f" gets the std for {request.target.triple} from rustup"
        if needs
        else f" has the std for {request.target.triple}"
    )
    if linker is not None:
        reason += f"; links with {linker.describe()}"
    if c_env:
        reason += f"; C code compiled by {next(iter(c_env.values()))}"
    return Plan(
        name,
        reason,
        (*prefix, "build", *request.cargo_args(triple_name)),
        {**_cargo_env(toolchain, request, linker), **c_env},
        triple_name,
        toolchain,
        linker,
        needs,
    )


class Zig:
    name = "zig"

    def plan(self, request: Request, machine: Machine) -> Plan:
        triple = request.triple
        if not (triple.is_linux or triple.is_macos):
            raise NotHere(
                f"cargo-zigbuild builds Linux and macOS targets, not {triple.triple}",
                "use another strategy",
            )
        toolchain = compiler(request, machine)
        # Declared even when present: the provisioner finds them (tool dir or PATH) or gets them.
        needs = [*_std_needs(request, toolchain), nd.CARGO_ZIGBUILD, nd.ZIGLANG]
        triple_name = toolchain.triple_name(triple.triple)
        prefix, _ = toolchain.cargo_invocation()
        reason = (
            f"cargo-zigbuild links {triple.triple} with zig, on {_explained(toolchain, request)}"
        )
        if triple.is_macos:
            reason += f"; minimum macOS {deployment_target(request.target)}"
        if request.c_code:
            reason += f"; zig compiles the C code of {', '.join(request.c_code)}"
        return Plan(
            self.name,
            reason,
            (*prefix, "zigbuild", *request.cargo_args(triple_name)),
            _cargo_env(toolchain, request, None),
            triple_name,
            toolchain,
            None,
            tuple(needs),
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


_BY_NAME: dict[str, Strategy] = {s.name: s for s in (Native(), Rustup(), Zig(), Cross())}
if set(_BY_NAME) != set(STRATEGY_NAMES):  # a strategy added here is named in config.model
    raise ImportError(f"strategies {sorted(_BY_NAME)} != config.model.STRATEGY_NAMES")
STRATEGIES: dict[str, Strategy] = {name: _BY_NAME[name] for name in STRATEGY_NAMES}


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
