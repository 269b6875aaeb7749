"""`doctor`: what this machine has for the pipeline, a row per tool, with the fix for each gap.

Each stage declares its row providers (`Stage.doctor`); every provider gets the same `Probes`, so
doctor runs each toolchain probe once however many rows use it.
"""

from __future__ import annotations

import functools
import importlib.util
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from nox_cargo.build import toolchain as tc
from nox_cargo.errors import NoxCargoError
from nox_cargo.process import run
from nox_cargo.project import Project


@dataclass(frozen=True)
class Row:
    area: str
    item: str
    ok: bool | None  # None: informational
    detail: str
    fix: str = ""

    @classmethod
    def probe(
        cls, area: str, item: str, found: str | None, fix: str, missing: str = "not found"
    ) -> Row:
        """ok with what was found, or missing with `missing` and the fix."""
        if found is not None:
            return cls(area, item, True, found)
        return cls(area, item, False, missing, fix)


class Probes:
    """What this machine has, shared by every provider; each probe runs at most once."""

    def __init__(self, project: Project) -> None:
        self.project = project

    @functools.cached_property
    def toolchains(self) -> list[tc.Toolchain]:
        return tc.discover(self.project.environ)

    @functools.cached_property
    def default_toolchain(self) -> tc.Toolchain | None:
        return tc.default_toolchain(self.toolchains, self.project.environ)

    def which(self, tool: str) -> str | None:
        return shutil.which(tool, path=self.project.environ.get("PATH"))

    def version(self, argv: list[str]) -> str | None:
        """First line of a `--version`-style call, or None when the tool is missing or fails."""
        try:
            done = run(argv, capture=True, quiet=True, check=False)
        except NoxCargoError:
            return None
        if not done.ok:
            return None
        text = (done.stdout or done.stderr).strip()
        return text.splitlines()[0] if text else ""


Provider = Callable[[Probes], Iterable[Row]]


def collect(project: Project, providers: Iterable[Provider]) -> list[Row]:
    """The rows of every provider, in order; a provider that fails becomes a row saying so."""
    probes = Probes(project)
    rows: list[Row] = []
    for provider in providers:
        try:
            rows.extend(provider(probes))
        except NoxCargoError as exc:
            rows.append(Row("doctor", provider.__name__, False, exc.message, exc.hint or ""))
    return rows


# -- rows of the stages whose modules hold none of their own ----------------------------------


def rust_rows(facts: Probes) -> Iterable[Row]:
    rustup = "install Rust with rustup: https://rustup.rs"
    cargo = facts.which("cargo")
    cargo_version = facts.version(["cargo", "--version"]) if cargo else None
    found_cargo = f"{cargo_version} ({cargo})" if cargo_version is not None else None
    yield Row.probe("rust", "cargo", found_cargo, rustup)
    default = facts.default_toolchain
    found_rustc = f"{default.version_line} ({default.rustc})" if default else None
    yield Row.probe("rust", "rustc (default)", found_rustc, rustup)
    for toolchain in facts.toolchains:
        if toolchain is default:
            continue
        yield Row("rust", "rustc (other)", None, f"{toolchain.version_line} ({toolchain.rustc})")
    nextest = (
        facts.version(["cargo-nextest", "nextest", "--version"])
        if facts.which("cargo-nextest")
        else None
    )
    yield Row.probe(
        "rust",
        "cargo-nextest",
        nextest,
        "cargo install cargo-nextest --locked",
        missing="not found (tests use `cargo test`)",
    )


def msrv_rows(facts: Probes) -> Iterable[Row]:
    workspace = facts.project.workspace
    msrv = workspace.rust_version
    yield Row("workspace", "path", None, str(workspace.root))
    yield Row("workspace", "rust-version", None, str(msrv) if msrv else "(not declared)")
    try:
        chosen = tc.select_msrv(facts.toolchains, msrv, facts.project.config.test.msrv_toolchain)
    except NoxCargoError as exc:
        yield Row("workspace", "MSRV toolchain", False, exc.message, exc.hint or "")
    else:
        yield Row("workspace", "MSRV toolchain", True, chosen.describe())


def docker_rows(facts: Probes) -> Iterable[Row]:
    if not facts.which("docker"):
        yield Row("docker", "engine", False, "docker CLI not found", "install Docker Engine")
        return
    server = facts.version(["docker", "version", "--format", "{{.Server.Version}}"])
    yield Row(
        "docker",
        "engine",
        bool(server),
        f"Docker Engine {server}" if server else "the engine is not reachable",
        "" if server else "start the Docker daemon (`systemctl start docker`) or check DOCKER_HOST",
    )


def wasm_rows(facts: Probes) -> Iterable[Row]:
    wasm_opt = facts.version(["wasm-opt", "--version"]) if facts.which("wasm-opt") else None
    yield Row.probe("wasm", "wasm-opt", wasm_opt, "apt-get install binaryen")
    has_wasmtime = importlib.util.find_spec("wasmtime") is not None
    yield Row(
        "wasm",
        "wasmtime (Python)",
        has_wasmtime,
        "importable" if has_wasmtime else "not installed",
        "" if has_wasmtime else "pip install wasmtime",
    )
    wasm_std = [t.describe() for t in facts.toolchains if t.has_std("wasm32-wasip1")]
    yield Row(
        "wasm",
        "wasm32-wasip1 std",
        bool(wasm_std),
        "; ".join(wasm_std) or "no toolchain has it",
        ""
        if wasm_std
        else "rustup target add wasm32-wasip1 (Debian: apt-get install libstd-rust-dev-wasm32)",
    )
