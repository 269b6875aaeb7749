"""`wasm(target=<triple>)`: build the modules, optimize them, gate their size, run them, write them
down.

What is built, per package (`wasm.package`, `[[wasm.modules]]`, or found in the workspace): a bin
becomes a WASI command (gated and smoke-run); a `cdylib` library becomes a module a host loads
(gated and broken down; there is no command, so no smoke run); on wasm32-wasip2 cargo links a
component (checked to be one and gated; wasm-opt and the breakdown read core modules only, and the
smoke run needs the `wasmtime` CLI's component support, so it is not run here).

1. Build the package for the wasm triple with a toolchain that has its std, in the
   configured profile, with the profile's `strip` overridden to `debuginfo` so the module keeps its
   `name` section (`CARGO_PROFILE_<P>_STRIP=debuginfo`).
2. `wasm-opt` (binaryen) with `-g` when installed, feature flags from the module's
   `target_features`; a note when it is not installed.
3. The shipped module is that output without the name, producers and debug sections (what
   `strip = true` drops). Its code section is byte-for-byte the named module's, so the size
   breakdown names exactly the bytes that ship.
4. Size gate on raw / gzip -9 / brotli against the budgets, exact bytes.
5. Smoke run under wasmtime; stdout must equal the native reference binary's on the same input.
6. dist/wasm/<triple>/<bin>.wasm + wasm-manifest.json, target/nox-cargo/wasm-<triple>.json.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import json
import re
import shutil
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from nox_cargo import doctor, git, manifest
from nox_cargo.build import builder
from nox_cargo.build import toolchain as tc
from nox_cargo.build.strategies import Machine, Request, first_plan
from nox_cargo.config import ByteSize, Target, WasmConfig, WasmModule, table_for
from nox_cargo.console import get_console, markdown_table
from nox_cargo.errors import (
    CommandFailed,
    ConfigError,
    NoxCargoError,
    Unavailable,
    UsageError,
    WorkspaceError,
)
from nox_cargo.fsutil import atomic_write_bytes, atomic_write_text, locked
from nox_cargo.process import run
from nox_cargo.project import Project
from nox_cargo.wasm import binary, sizes
from nox_cargo.wasm.runtime import load_wasmtime, run_wasi
from nox_cargo.workspace import Package, Workspace

MANIFEST_KIND = "wasm"

# The smoke run's stdin when `wasm.smoke-input` is not set: repeated words, punctuation, blank
# lines and non-ASCII, so counting and ranking both have something to do.
BUILTIN_INPUT = """\
The quick brown fox jumps over the lazy dog.
The dog sleeps; the fox runs -- and the fox runs again!

Weft and warp: the weft crosses the warp, the warp holds the weft.
Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich.
one two three two three three
"""


@dataclass(frozen=True)
class Breakdown:
    named: bool  # function names were available
    note: str
    sections: tuple[tuple[str, int], ...]  # label, bytes (largest first)
    functions: tuple[tuple[int, str, int], ...]  # index, name, bytes (largest first)


@dataclass(frozen=True)
class Smoke:
    runtime: str
    input: str  # where the input came from
    exit_code: int
    reference: str  # the native command
    identical: bool
    output_bytes: int


@dataclass(frozen=True)
class WasmResult:
    triple: str
    target_name: str
    package: str
    binary: str
    profile: str
    toolchain: str
    toolchain_path: str
    optimizer: str  # "wasm-opt version 108 -Oz ..." or why not
    raw_unoptimized: int
    gate: tuple[sizes.GateRow, ...]
    breakdown: Breakdown
    module: Path  # the staged module
    sha256: str
    smoke: Smoke | None = None
    notes: tuple[str, ...] = field(default=())
    kind: str = "command"  # command | library | component

    @property
    def passed(self) -> bool:
        return all(row.ok for row in self.gate)


# -- choosing what to build and with what ------------------------------------------------------


DEFAULT_TABLE = "`[tool.nox-cargo.wasm]` in pyproject.toml"


@dataclass(frozen=True)
class Selected:
    """One wasm module of the stage: its package, file stem, kind and budgets."""

    package: Package
    artifact: str  # the bin's name, or the library target's name
    kind: Literal["command", "library"]
    raw_budget: ByteSize | None
    gzip_budget: ByteSize | None
    brotli_budget: ByteSize | None
    # The config key each budget came from: a [[wasm.modules]] entry's own, or the section's.
    budget_keys: tuple[str, str, str] = (
        "wasm.raw-budget",
        "wasm.gzip-budget",
        "wasm.brotli-budget",
    )


def select_modules(
    workspace: Workspace, config: WasmConfig, table: str = DEFAULT_TABLE
) -> list[Selected]:
    """`[[wasm.modules]]`, else `wasm.package`, else the workspace's cdylib packages, else its
    only bin package. `table` names where the config lives (`config.table_for`)."""
    wanted = list(config.modules)
    if not wanted and config.package:
        wanted = [WasmModule(config.package)]
    if not wanted:
        libraries = [p for p in workspace.members if p.is_cdylib and not p.binaries]
        wanted = [WasmModule(p.name) for p in libraries]
    if not wanted:
        package, bin_name = select_binary(workspace, "", table)
        return [_selected(config, WasmModule(package.name), package, bin_name, "command")]
    chosen = []
    for entry in wanted:
        package = _member(workspace, entry.package, table)
        if package.binaries:
            package, bin_name = select_binary(workspace, entry.package, table)
            chosen.append(_selected(config, entry, package, bin_name, "command"))
        elif package.is_cdylib:
            chosen.append(_selected(config, entry, package, package.lib_name, "library"))
        else:
            select_binary(workspace, entry.package, table)  # raises: no bin, no cdylib
    return chosen


def _selected(
    config: WasmConfig,
    entry: WasmModule,
    package: Package,
    artifact: str,
    kind: Literal["command", "library"],
) -> Selected:
    own = (entry.raw_budget, entry.gzip_budget, entry.brotli_budget)
    default = (config.raw_budget, config.gzip_budget, config.brotli_budget)
    names = ("raw-budget", "gzip-budget", "brotli-budget")
    where = f"wasm.modules[package={entry.package}]"
    keys = tuple(
        f"{where}.{name}" if value is not None else f"wasm.{name}"
        for value, name in zip(own, names, strict=True)
    )
    raw, gzip, brotli = (o if o is not None else d for o, d in zip(own, default, strict=True))
    return Selected(package, artifact, kind, raw, gzip, brotli, (keys[0], keys[1], keys[2]))


def _member(workspace: Workspace, configured: str, table: str = DEFAULT_TABLE) -> Package:
    try:
        return workspace.package(configured)
    except WorkspaceError as exc:
        raise ConfigError(
            f"`wasm.package = {configured!r}`: {exc.message}",
            f"set `wasm.package` (or a [[wasm.modules]] `package`) in {table} to a workspace "
            f"member; {exc.hint}",
        ) from None


def select_binary(
    workspace: Workspace, configured: str, table: str = DEFAULT_TABLE
) -> tuple[Package, str]:
    """The package (config `wasm.package`, or the workspace's only bin) and its bin name.

    `table` names where the config lives (`config.table_for`), for the fix lines."""
    if configured:
        package = _member(workspace, configured, table)
        if not package.binaries:
            raise ConfigError(
                f"`wasm.package = {configured!r}` has no bin target and no cdylib library, so "
                "there is nothing to build for wasm.",
                "give the package a `src/main.rs` (a WASI command) or "
                '`[lib] crate-type = ["cdylib"]` (a module a host loads), or point '
                "`wasm.package` at one that has.",
            )
    else:
        with_bins = [p for p in workspace.members if p.binaries]
        if len(with_bins) != 1:
            names = ", ".join(p.name for p in with_bins) or "none"
            raise ConfigError(
                f"`wasm.package` is not set and the workspace has {len(with_bins)} packages with "
                f"binaries ({names}) and no cdylib package: which one is the wasm module is "
                "ambiguous.",
                f'set it, e.g. `package = "<name>"` in {table}, or list several as '
                "`[[wasm.modules]]` tables (each with `package = ...`).",
            )
        package = with_bins[0]
    bins = package.binaries
    name = package.name if package.name in bins else bins[0]
    if len(bins) > 1 and package.name not in bins:
        raise ConfigError(
            f"Package `{package.name}` has several binaries ({', '.join(bins)}) and none is "
            "named after the package.",
            "move the wasm entry point into a package of its own and set `wasm.package`.",
        )
    return package, name


# Debian and Ubuntu ship rustc's own wasm32-wasi std; a fix worth naming besides rustup.
DEBIAN_WASM_STD = (
    "on Debian/Ubuntu `apt-get install libstd-rust-dev-wasm32` (rustc's wasm32-wasi std)"
)


def wasm_request(project: Project, triple: str, package: str = "", bin_name: str = "") -> Request:
    """The wasm module as a build request: the triple as a target with the wasm profile.

    It goes through the same strategies as `build(target=…)`: same toolchain preference, same
    rust-version floor, same `rustup target add` preparation.
    """
    target = Target(id=triple, triple=triple, profile=project.config.wasm.profile)
    return Request(
        target=target,
        binaries=(bin_name,) if bin_name else (),
        profile=project.config.wasm.profile,
        features=(),
        rustflags=builder.rustflags_for(target),
        locked=tuple(project.locked),
        rust_version=project.workspace.rust_version,
        packages=(package,) if package else (),
    )


def select_toolchain(project: Project, triple: str, machine: Machine | None = None) -> tc.Toolchain:
    """The toolchain `build(target=<triple>)` would use, its std added by rustup if need be."""
    request = wasm_request(project, triple)
    probed = machine or builder.probe_machine(project.environ)
    try:
        choice = builder.choose(project, request, probed, prepare=True)
    except Unavailable as exc:
        raise Unavailable(exc.message, f"{exc.hint}, or {DEBIAN_WASM_STD}.") from None
    toolchain = choice.plan.toolchain
    if toolchain is None:  # only `cross` plans without a host toolchain, and it has no wasm image
        raise Unavailable(f"No toolchain here builds {triple}.", f"{DEBIAN_WASM_STD}.")
    return toolchain


def profile_env(profile: str, key: str) -> str:
    return f"CARGO_PROFILE_{re.sub(r'[^A-Za-z0-9]', '_', profile).upper()}_{key}"


# -- the steps ------------------------------------------------------------------------------


def build(
    project: Project,
    toolchain: tc.Toolchain,
    triple: str,
    package: Package,
    bin_name: str,
    library: bool = False,
) -> Path:
    """Build one module; `library`: the package's cdylib (`--lib`), `bin_name` its stem."""
    config = project.config.wasm
    workspace = project.workspace
    name = toolchain.triple_name(triple)
    prefix, env = toolchain.cargo_invocation()
    # Keep the name section for the breakdown; nox-cargo strips the shipped copy itself.
    env = {**env, profile_env(config.profile, "STRIP"): "debuginfo"}
    request = wasm_request(project, triple, package.name, "" if library else bin_name)
    argv = [*prefix, "build", *request.cargo_args(name), *(["--lib"] if library else [])]
    try:
        run(argv, cwd=workspace.root, env=env)
    except CommandFailed as exc:
        if f"profile `{config.profile}`" in exc.tail:
            raise NoxCargoError(
                f"The workspace at {workspace.root} does not define the cargo profile "
                f"`{config.profile}` (config key `wasm.profile`); cargo said:\n{exc.tail.strip()}",
                f"add it to {workspace.manifest}:\n"
                f"[profile.{config.profile}]\n"
                'inherits = "release"\nopt-level = "z"\nlto = true\npanic = "abort"\n'
                "strip = true\ncodegen-units = 1\n"
                'or set `wasm.profile = "release"`.',
            ) from None
        raise
    built = workspace.target_dir / name / builder.profile_dir(config.profile) / f"{bin_name}.wasm"
    if not built.is_file():
        raise NoxCargoError(
            f"cargo finished but {built} does not exist.",
            f"check that `{bin_name}` is a {'cdylib' if library else 'bin'} target of "
            f"`{package.name}` and builds for {name}.",
        )
    return built


def wasm_opt_version(path: str) -> str:
    done = run([path, "--version"], capture=True, quiet=True, check=False)
    return (done.stdout or done.stderr).strip().splitlines()[0] if done.ok else "wasm-opt"


def optimize(
    config: WasmConfig, named: bytes, source: Path, work: Path
) -> tuple[bytes, str, list[str]]:
    """(optimized module with names, description, notes); the input unchanged without wasm-opt."""
    if not config.optimize:
        return named, "none (wasm.optimize = false)", []
    wasm_opt = shutil.which("wasm-opt")
    if wasm_opt is None:
        note = (
            "wasm-opt (binaryen) is not installed: the module is shipped as cargo built it. "
            "Fix: apt-get install binaryen (or brew install binaryen)."
        )
        return named, "none (wasm-opt not installed)", [note]
    module = binary.parse(named, str(source))
    flags = binary.wasm_opt_feature_flags(module.features)
    out = work / f"{source.stem}.opt.wasm"
    argv = [wasm_opt, *config.wasm_opt_args, *flags, "-g", str(source), "-o", str(out)]
    try:
        run(argv)
    except CommandFailed as exc:
        hint = (
            "if wasm-opt reports a feature the module uses (e.g. `sign-ext`, `bulk-memory`, "
            "`mutable-globals`), add its flag to `wasm.wasm-opt-args`, e.g. "
            '`wasm-opt-args = ["-Oz", "--enable-bulk-memory"]`; or skip the optimizer with '
            "`-c wasm.optimize=false`."
        )
        raise NoxCargoError(exc.message, hint) from None
    notes = []
    if not module.features:
        notes.append(
            "the module has no target_features section: wasm-opt ran with its default "
            "(MVP) features, and the smoke run checks the result."
        )
    described = " ".join([wasm_opt_version(wasm_opt), *config.wasm_opt_args, *flags])
    return out.read_bytes(), described, notes


def breakdown(named: binary.Module, shipped: binary.Module, top: int) -> Breakdown:
    """Largest sections of the shipped module; its largest functions, named from `named`."""
    sections = tuple(sorted(shipped.section_sizes().items(), key=lambda kv: -kv[1]))
    same_code = named.code == shipped.code
    use_names = same_code and named.has_names
    if use_names:
        note = "function names from the module's name section, read before stripping"
    elif not named.has_names:
        note = "names stripped: the module has no name section; functions are shown by index"
    else:
        note = "the named build's code differs from the shipped one; functions shown by index"
    source = named if use_names else shipped
    largest = sorted(source.functions, key=lambda f: (-f.size, f.index))[:top]
    functions = tuple(
        (
            f.index,
            binary.demangle(f.name) if use_names and f.name else f"function[{f.index}]",
            f.size,
        )
        for f in largest
    )
    return Breakdown(use_names, note, sections, functions)


def smoke_input(project: Project) -> tuple[bytes, str]:
    configured = project.config.wasm.smoke_input
    if configured is None:
        return BUILTIN_INPUT.encode("utf-8"), "built-in text"
    path = (project.base_dir / configured).resolve()
    try:
        return path.read_bytes(), str(path)
    except OSError as exc:
        raise ConfigError(
            f"Cannot read the smoke input {path} (config key `wasm.smoke-input`): {exc.strerror}.",
            "point `wasm.smoke-input` at an existing file, relative to the config file.",
        ) from None


def native_reference(project: Project, bin_name: str, data: bytes) -> tuple[str, str]:
    """(stdout, command line) of the native binary on `data`, built with the default cargo."""
    config = project.config.wasm
    workspace = project.workspace
    native = config.native_bin or bin_name
    args = list(config.native_args if config.native_bin else config.smoke_args)
    owners = workspace.binaries()
    if native not in owners:
        raise ConfigError(
            f"`wasm.native-bin = {native!r}` is not a bin target of the workspace at "
            f"{workspace.root}.",
            f"use one of: {', '.join(sorted(owners)) or '(none)'}.",
        )
    run(
        [
            "cargo",
            "build",
            "--release",
            *project.locked,
            "-p",
            owners[native].name,
            "--bin",
            native,
        ],
        cwd=workspace.root,
    )
    exe = workspace.target_dir / "release" / native
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(
            "The smoke input is not UTF-8 text (config key `wasm.smoke-input`).",
            "use a UTF-8 text file as the smoke input.",
        ) from None
    done = run([exe, *args], capture=True, stdin=text, cwd=workspace.root)
    return done.stdout, " ".join([native, *args])


def smoke(project: Project, module: Path, bin_name: str) -> Smoke:
    config = project.config.wasm
    load_wasmtime()  # before building the native reference: Unavailable comes first
    data, origin = smoke_input(project)
    console = get_console()
    expected, label = native_reference(project, bin_name, data)
    result = run_wasi(module, data, config.smoke_args, project.report_dir / "wasm-scratch")
    got = result.stdout.decode("utf-8", "replace")
    console.info(f"smoke run: {module.name} under {result.runtime}, input: {origin}")
    if result.exit_code != 0:
        stderr = result.stderr.decode("utf-8", "replace").strip()
        raise NoxCargoError(
            f"{module.name} exited with status {result.exit_code} under {result.runtime} "
            f"(input: {origin})" + (f"; its stderr:\n{stderr}" if stderr else "."),
            "run the module by hand: `wasmtime run " + str(module) + " < input`.",
        )
    if got != expected:
        diff = "\n".join(
            list(
                difflib.unified_diff(
                    expected.splitlines(),
                    got.splitlines(),
                    f"native `{label}`",
                    f"{module.name} (wasmtime)",
                    lineterm="",
                )
            )[:40]
        )
        raise NoxCargoError(
            f"The wasm module's output differs from native `{label}` on the same input "
            f"({origin}):\n{diff}",
            "the two builds disagree; check `wasm.native-bin`/`wasm.native-args` name the "
            "equivalent native command, then debug the difference above.",
        )
    return Smoke(result.runtime, origin, result.exit_code, label, True, len(result.stdout))


# -- reports --------------------------------------------------------------------------------


def report_data(result: WasmResult, dist_dir: Path) -> dict[str, Any]:
    return {
        "triple": result.triple,
        "target_name": result.target_name,
        "package": result.package,
        "binary": result.binary,
        "profile": result.profile,
        "toolchain": result.toolchain,
        "toolchain_path": result.toolchain_path,
        "optimizer": result.optimizer,
        "path": str(result.module.relative_to(dist_dir)),
        "sha256": result.sha256,
        "sizes": {
            "raw_unoptimized": result.raw_unoptimized,
            **{row.measure.name: row.measure.actual for row in result.gate},
        },
        "size_methods": {row.measure.name: row.measure.method for row in result.gate},
        "budgets": {row.measure.name: row.budget for row in result.gate},
        "passed": result.passed,
        "breakdown": {
            "named": result.breakdown.named,
            "note": result.breakdown.note,
            "sections": [{"section": s, "bytes": b} for s, b in result.breakdown.sections],
            "functions": [
                {"index": i, "name": n, "bytes": b} for i, n, b in result.breakdown.functions
            ],
        },
        "smoke": asdict(result.smoke) if result.smoke else None,
        "module_kind": result.kind,
        "notes": list(result.notes),
    }


def show(result: WasmResult) -> None:
    console = get_console()
    title = f"wasm size gate: {result.binary}.wasm ({result.triple})"
    rows = sizes.gate_table(result.gate)
    console.table(title, list(sizes.GATE_COLUMNS), rows)
    total = result.gate[0].measure.actual or 1
    section_rows = [
        (label, str(size), f"{100 * size / total:.1f}%")
        for label, size in result.breakdown.sections
    ]
    function_rows = [
        (str(index), name, str(size), f"{100 * size / total:.1f}%")
        for index, name, size in result.breakdown.functions
    ]
    if section_rows:  # a component has no core-module breakdown
        console.table("sections", ["section", "bytes", "share"], section_rows)
        console.table(
            f"largest functions ({result.breakdown.note})",
            ["index", "function", "bytes", "share"],
            function_rows,
        )
    for note in result.notes:
        console.info(note)
    verdict = "✅ within budget" if result.passed else "❌ over budget"
    smoke_line = (
        f"smoke run: output identical to native `{result.smoke.reference}` ({result.smoke.runtime})"
        if result.smoke
        else next((n for n in result.notes if n.startswith("no smoke run")), "smoke run: not run")
    )
    console.summary(
        f"### {title}: {verdict}\n\n"
        + markdown_table(list(sizes.GATE_COLUMNS), rows)
        + f"\n\noptimizer: {result.optimizer} (before: {result.raw_unoptimized} B)  \n"
        + smoke_line
        + "\n\n<details><summary>largest functions</summary>\n\n"
        + markdown_table(["index", "function", "bytes"], [r[:3] for r in function_rows])
        + "\n\n</details>"
    )


# -- the stage ------------------------------------------------------------------------------


def require_code(module: binary.Module, where: str, package: str) -> None:
    """A module with a valid header but no functions is an empty build, not a config problem."""
    if module.functions:
        return
    has = ", ".join(s.name for s in module.sections) or "no sections at all"
    raise NoxCargoError(
        f"{where} is a valid WebAssembly header with no code in it (it holds {has}): the wasm "
        f"build of `{package}` produced an empty module.",
        f"build it by hand to see why (`cargo build -p {package} --target <triple>`), check that "
        "its bin has a `main` (or its cdylib exports a function), and if only the optimized "
        "module is empty rerun with `-c wasm.optimize=false` and report the wasm-opt version.",
    )


COMPONENT_VERSION = b"\x0d\x00\x01\x00"  # the component model's version and layer fields


def is_component(data: bytes) -> bool:
    """A component (wasm32-wasip2's output), not a core module."""
    return data[:4] == binary.MAGIC and data[4:8] == COMPONENT_VERSION


@dataclass(frozen=True)
class ModuleTarget:
    """One module to build: with which toolchain, for which triple, from which package."""

    toolchain: tc.Toolchain
    triple: str
    package: Package
    stem: str  # the bin name, or the cdylib's file stem
    library: bool = False


@dataclass(frozen=True)
class Built:
    """The module after build, wasm-opt and strip: what ships, and the names of its functions."""

    shipped: bytes
    named: binary.Module | None  # same code section as the shipped module; None: a component
    raw_unoptimized: int
    optimizer: str
    notes: tuple[str, ...]


def build_module(project: Project, target: ModuleTarget) -> Built:
    """The module cargo builds, optimized and stripped: the bytes that ship, and their names."""
    config = project.config.wasm
    triple, package = target.triple, target.package.name
    built = build(project, target.toolchain, triple, target.package, target.stem, target.library)
    named_bytes = built.read_bytes()
    if is_component(named_bytes):
        get_console().info(f"{built.name} is a component ({len(named_bytes)} B)")
        note = (
            "a component: wasm-opt and the function breakdown read core modules, so the "
            "component is gated as cargo built it"
        )
        return Built(named_bytes, None, len(named_bytes), "none (a component)", (note,))
    require_code(binary.parse(named_bytes, str(built)), str(built), package)
    unoptimized = binary.strip_custom(named_bytes) if config.strip else named_bytes
    work = project.report_dir / "wasm" / triple
    work.mkdir(parents=True, exist_ok=True)
    optimized, optimizer, notes = optimize(config, named_bytes, built, work)
    shipped = binary.strip_custom(optimized) if config.strip else optimized
    named = binary.parse(optimized, f"{built} after wasm-opt")
    require_code(named, f"{built} after wasm-opt", package)
    get_console().info(f"raw size {len(unoptimized)} B before wasm-opt, {len(shipped)} B after")
    return Built(shipped, named, len(unoptimized), optimizer, tuple(notes))


def measure(
    config: WasmConfig, path: Path, scratch: Path, selected: Selected | None = None
) -> tuple[list[sizes.GateRow], str]:
    """The gate rows of the file at `path`, and a note when brotli could not be measured.

    The budgets are `selected`'s (a `[[wasm.modules]]` entry's own, else the section's)."""
    measures = [sizes.raw_size(path), sizes.gzip_size(path, scratch)]
    brotli = sizes.brotli_size(path, scratch)
    note = ""
    if brotli is not None:
        measures.append(brotli)
    else:
        note = "brotli not measured: neither the brotli Python package nor its CLI is here."
    values: tuple[ByteSize | None, ...]
    if selected is None:
        values = (config.raw_budget, config.gzip_budget, config.brotli_budget)
        keys = ("wasm.raw-budget", "wasm.gzip-budget", "wasm.brotli-budget")
    else:
        values = (selected.raw_budget, selected.gzip_budget, selected.brotli_budget)
        keys = selected.budget_keys
    budgets: dict[str, tuple[int | None, str]] = {
        name: (value, key)
        for name, value, key in zip(("raw", "gzip", "brotli"), values, keys, strict=True)
    }
    return sizes.gate(measures, budgets), note


def over_budget(result: WasmResult, config_table: str = DEFAULT_TABLE) -> NoxCargoError:
    over = [
        f"{row.measure.name} {row.measure.actual} B > {row.budget} B (`{row.key}`)"
        for row in result.gate
        if not row.ok
    ]
    table = sizes.plain_table(result.gate)
    return NoxCargoError(
        f"{result.binary}.wasm ({result.triple}) is over its size budget: "
        f"{'; '.join(over)}.\n{table}",
        "shrink the module (the largest functions are listed above), or raise the budget "
        f"({', '.join(f'`{row.key}`' for row in result.gate if not row.ok)}) in "
        f"{config_table} if the growth is intended.",
    )


def run_wasm(project: Project, triple: str) -> list[WasmResult]:
    """The whole stage for one triple: every module; raises on a failed gate or smoke run."""
    config = project.config.wasm
    table = table_for(getattr(project, "source", None), "wasm")
    if triple not in config.targets:
        raise UsageError(
            f"{triple} is not one of the configured wasm targets ({', '.join(config.targets)}).",
            f"add it to `wasm.targets` in {table}.",
        )
    chosen = select_modules(project.workspace, config, table)
    toolchain = select_toolchain(project, triple)
    single = len(chosen) == 1
    return [run_module(project, triple, toolchain, selected, single, table) for selected in chosen]


def _paths(project: Project, triple: str, stem: str, single: bool) -> tuple[Path, Path, Path]:
    """(staged module, its manifest, its report): one module keeps the unsuffixed names."""
    module = project.dist_dir / "wasm" / triple / f"{stem}.wasm"
    if single:
        return (
            module,
            module.with_name("wasm-manifest.json"),
            project.report_dir / f"wasm-{triple}.json",
        )
    return (
        module,
        module.with_name(f"{stem}.wasm-manifest.json"),
        project.report_dir / f"wasm-{triple}-{stem}.json",
    )


def run_module(
    project: Project,
    triple: str,
    toolchain: tc.Toolchain,
    selected: Selected,
    single: bool,
    table: str = DEFAULT_TABLE,
) -> WasmResult:
    """One module: build, optimize, gate, smoke-run (commands only), stage."""
    config = project.config.wasm
    console = get_console()
    started = time.monotonic()
    package, stem = selected.package, selected.artifact
    library = selected.kind == "library"
    console.info(
        f"building {package.name} ({stem}, {'a cdylib library' if library else 'a command'}) "
        f"for {toolchain.triple_name(triple)} with {toolchain.describe()}"
    )
    module_path, manifest_path, report_path = _paths(project, triple, stem, single)
    try:
        built = build_module(project, ModuleTarget(toolchain, triple, package, stem, library))
    except Unavailable:
        raise
    except NoxCargoError:
        # The same rule as a failed gate below: no module from older sources stays in dist/.
        _unstage(project.dist_dir, module_path, manifest_path)
        raise
    component = built.named is None
    kind = "component" if component else selected.kind

    # Measure the bytes exactly as they will be staged.
    work = project.report_dir / "wasm" / triple
    work.mkdir(parents=True, exist_ok=True)
    candidate = work / f"{stem}.wasm"
    atomic_write_bytes(candidate, built.shipped)
    gate, note = measure(config, candidate, work, selected)
    if built.named is None:
        report = Breakdown(False, "a component: no core-module breakdown", (), ())
    else:
        shipped = binary.parse(built.shipped, str(candidate))
        report = breakdown(built.named, shipped, config.breakdown_top)
    runnable = kind == "command" and "wasi" in triple
    notes = list(built.notes) + ([note] if note else [])
    if not runnable:
        notes = [n.replace(", and the smoke run checks the result", "") for n in notes]
        notes.append(_no_smoke_reason(kind, triple))
    result = WasmResult(
        triple=triple,
        target_name=toolchain.triple_name(triple),
        package=package.name,
        binary=stem,
        profile=config.profile,
        toolchain=toolchain.version_line,
        toolchain_path=str(toolchain.rustc),
        optimizer=built.optimizer,
        raw_unoptimized=built.raw_unoptimized,
        gate=tuple(gate),
        breakdown=report,
        module=module_path,
        sha256=manifest.sha256_file(candidate),
        notes=tuple(notes),
        kind=kind,
    )
    try:
        if not result.passed:
            raise over_budget(result, table)
        smoke_result = smoke(project, candidate, stem) if runnable else None
    except NoxCargoError:
        _unstage(project.dist_dir, result.module, manifest_path)
        _write_report(report_path, result, project.dist_dir, staged=False)
        show(result)
        raise
    result = dataclasses.replace(result, smoke=smoke_result)
    _stage(project, result, built.shipped, manifest_path, time.monotonic() - started)
    _write_report(report_path, result, project.dist_dir, staged=True)
    show(result)
    checked = (
        f"output identical to native `{smoke_result.reference}`"
        if smoke_result
        else "no smoke run (no WASI command)"
    )
    console.success(
        f"{stem}.wasm ({kind}): {result.gate[0].measure.actual} B raw, "
        f"{result.gate[1].measure.actual} B gzip, within budget; {checked} → {result.module}"
    )
    return result


def _stage(
    project: Project, result: WasmResult, shipped: bytes, manifest_path: Path, seconds: float
) -> None:
    """Write the module and its manifest into dist/ (only after the gate and smoke run)."""
    with locked(project.dist_dir):
        atomic_write_bytes(result.module, shipped)
        data = report_data(result, project.dist_dir)
        del data["breakdown"]  # the report has it; the manifest records the artifact
        manifest.write(
            manifest_path,
            MANIFEST_KIND,
            {
                **data,
                "git_commit": _git_commit(project.workspace.root),
                "duration_seconds": round(seconds, 3),
            },
        )


def _no_smoke_reason(kind: str, triple: str) -> str:
    if kind == "library":
        return (
            "no smoke run: a cdylib is a library a host loads (a browser, a plugin runtime), "
            "not a command with a `_start` to run; its size gate and breakdown are the checks"
        )
    if kind == "component":
        return (
            "no smoke run: running a component needs the wasmtime CLI's component support "
            "(`wasmtime run <module>.wasm`); the component is built, checked to be one and gated"
        )
    return f"no smoke run: {triple} has no WASI, so the module is not a command to run"


def _unstage(dist_dir: Path, module: Path, manifest_path: Path) -> None:
    """A failed run removes the previous run's module and manifest: dist/ never holds a module
    that does not match the current sources and budgets."""
    with locked(dist_dir):
        for stale in (manifest_path, module):
            if stale.exists():
                stale.unlink()
                get_console().info(f"removed the previous run's {stale}")


def _git_commit(root: Path) -> str:
    try:
        return git.commit(root)
    except NoxCargoError:
        return ""


def _write_report(path: Path, result: WasmResult, dist_dir: Path, staged: bool) -> None:
    data = {**report_data(result, dist_dir), "staged": staged}
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
    get_console().info(f"report: {path}")


# -- doctor ---------------------------------------------------------------------------------


def wasm_stage_rows(facts: doctor.Probes) -> Iterable[doctor.Row]:
    """What the wasm stage would use here (the tools themselves are the foundation's rows)."""
    project = facts.project
    machine = builder.machine_from(facts.toolchains, facts.default_toolchain, project.environ)
    for triple in project.config.wasm.targets:
        request = wasm_request(project, triple)
        # The project's compiler, as the stage would use it (nothing is provisioned here); the
        # build rows name a problem with it.
        with contextlib.suppress(NoxCargoError):
            request = builder.with_compiler(project, request, machine, provision=False)
        plan, rejections = first_plan(request, machine, ("native",))
        if plan is not None and plan.toolchain is not None:
            name = plan.toolchain.triple_name(triple)
            yield doctor.Row(
                "wasm", f"toolchain for {triple}", True, f"{plan.toolchain.describe()} as {name}"
            )
        else:
            missing = rejections[0].missing if rejections else "no toolchain has its std"
            yield doctor.Row(
                "wasm",
                f"toolchain for {triple}",
                False,
                missing,
                f"rustup target add {triple} ({DEBIAN_WASM_STD})",
            )
    gzip_cli = facts.which("gzip")
    yield doctor.Row(
        "wasm",
        "gzip size",
        None,
        "GNU gzip -9 (as `gzip -9 -c | wc -c`)" if gzip_cli else "Python zlib level 9",
    )
    has_brotli = facts.which("brotli") is not None or _importable("brotli")
    yield doctor.Row(
        "wasm",
        "brotli size",
        has_brotli,
        "measured" if has_brotli else "not measured",
        "" if has_brotli else "pip install brotli (or apt-get install brotli)",
    )


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None
