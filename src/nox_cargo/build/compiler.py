"""The project's compiler: the one toolchain every cargo stage of a project uses.

In order: the config's `toolchain` (a rustup toolchain name or a path to rustc), else the
workspace's `rust-toolchain.toml` / `rust-toolchain` (found as rustup finds it: in the workspace
root or a directory above), else the default toolchain (what plain `cargo` runs). A pinned rustup
toolchain that is not installed is provisioned (with the file's components and targets); with
`provision = "never"` the stage skips naming the command. The MSRV stage is the one exception: it
uses a toolchain at the workspace's `rust-version` (see cargo_test).
"""

from __future__ import annotations

import shutil
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from nox_cargo.build.targets import host_triple_guess
from nox_cargo.errors import ConfigError, NoxCargoError, ToolchainError, Unavailable
from nox_cargo.project import Project

if TYPE_CHECKING:
    from nox_cargo.build import toolchain as tc
    from nox_cargo.provision.installer import Provisioner
    from nox_cargo.provision.needs import Need

# Probing toolchains and provisioning are imported where they are used: every session calls
# `ensure_pinned`, which for a workspace without a pin only looks for a file or two.

FILE_NAMES = ("rust-toolchain.toml", "rust-toolchain")


@dataclass(frozen=True)
class CompilerSpec:
    """Which toolchain the project asks for, and why."""

    name: str  # rustup toolchain name or rustc path; "" = the default toolchain
    origin: str  # "rust-toolchain.toml", "config `toolchain`", "the default toolchain"
    components: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()

    @property
    def is_path(self) -> bool:
        return "/" in self.name or "\\" in self.name

    def needs(self, toolchain_name: str | None = None) -> tuple[Need, ...]:
        """What rustup must have for this spec (nothing for a path or the default)."""
        from nox_cargo.provision import needs as nd

        name = toolchain_name or self.name
        if not name or self.is_path:
            return ()
        found: list[Need] = [] if toolchain_name else [nd.toolchain(name)]
        found += [nd.component(c, name) for c in self.components]
        found += [nd.target(t, name) for t in self.targets]
        return tuple(found)


def find_toolchain_file(start: Path) -> Path | None:
    """rust-toolchain.toml (or the legacy rust-toolchain) in `start` or a directory above."""
    for directory in (start, *start.parents):
        for name in FILE_NAMES:
            candidate = directory / name
            if candidate.is_file():
                return candidate
    return None


def read_toolchain_file(path: Path) -> CompilerSpec:
    text = path.read_text(encoding="utf-8")
    if path.name == "rust-toolchain" and "[toolchain]" not in text:
        channel = text.strip()
        if not channel or "\n" in channel:
            raise ConfigError(
                f"{path} holds {channel!r}, not one toolchain name.",
                "write the channel alone (e.g. `1.93`) or use rust-toolchain.toml with "
                '[toolchain] channel = "1.93".',
            )
        return CompilerSpec(channel, str(path.name))
    try:
        data = tomllib.loads(text)
        table = data["toolchain"]
        channel = table.get("channel") or table.get("path")
        components = tuple(str(c) for c in table.get("components", ()))
        targets = tuple(str(t) for t in table.get("targets", ()))
    except (tomllib.TOMLDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(
            f"{path} is not a toolchain file nox-cargo can read ({exc}).",
            'it needs a [toolchain] table with `channel = "1.93"` (rustup\'s format).',
        ) from None
    if not isinstance(channel, str) or not channel:
        raise ConfigError(
            f"{path} names no toolchain: its [toolchain] table has no `channel`.",
            'add `channel = "stable"` (or a version such as "1.93").',
        )
    return CompilerSpec(channel, path.name, components, targets)


def spec_for(configured: str, workspace_root: Path) -> CompilerSpec:
    if configured:
        return CompilerSpec(configured, "config `toolchain`")
    found = find_toolchain_file(workspace_root)
    if found is not None:
        return read_toolchain_file(found)
    return CompilerSpec("", "the default toolchain")


def match(spec: CompilerSpec, toolchains: Sequence[tc.Toolchain], host: str) -> tc.Toolchain | None:
    """The installed toolchain `spec` names, if any."""
    if spec.is_path:
        wanted = Path(spec.name).expanduser()
        for t in toolchains:
            if t.rustc == wanted or t.rustc.resolve() == wanted.resolve():
                return t
        return None
    names = {spec.name, f"{spec.name}-{host}"}
    return next((t for t in toolchains if t.rustup_name in names), None)


def resolve(
    project: Project,
    toolchains: Sequence[tc.Toolchain],
    default: tc.Toolchain | None,
    host: str,
    provisioner: Provisioner | None,
) -> tuple[tc.Toolchain, str]:
    """(the project's compiler, where the choice comes from); provisions a missing pin."""
    from nox_cargo.provision import needs as nd

    spec = spec_for(project.config.toolchain, project.workspace_path)
    if not spec.name:
        if default is None:
            raise Unavailable(
                "No Rust toolchain is installed (no `rustc` on PATH).",
                "install rustup (https://rustup.rs) and open a new shell.",
            )
        return default, spec.origin
    found = match(spec, toolchains, host)
    if found is None and spec.is_path:
        found = _probe_path(Path(spec.name))
    if found is None:
        if provisioner is None:
            raise Unavailable(
                f"The project's toolchain {spec.name} ({spec.origin}) is not installed.",
                f"`{nd.toolchain(spec.name).user_command()}` (or `nox -s provision`).",
            )
        provisioner.ensure(spec.needs(), f"the project's toolchain ({spec.origin})")
        found = _probe_rustup(project, spec.name, host)
    elif provisioner is not None and found.rustup_name is not None:
        provisioner.ensure(
            spec.needs(found.rustup_name), f"the project's toolchain ({spec.origin})"
        )
    return found, f"{spec.origin}: {spec.name}"


def _probe_path(rustc: Path) -> tc.Toolchain:
    from nox_cargo.build import toolchain as tc

    try:
        return tc.probe(rustc, f"config:{rustc}", "path")
    except NoxCargoError as exc:
        raise ConfigError(
            f"The config's `toolchain` {rustc} does not run as rustc ({exc.message}).",
            "give a rustup toolchain name or the path of a working rustc.",
        ) from None


def _probe_rustup(project: Project, name: str, host: str) -> tc.Toolchain:
    from nox_cargo.build import toolchain as tc
    from nox_cargo.provision.installer import rustup_home, toolchain_dir

    directory = toolchain_dir(rustup_home(project.environ), name, host)
    if directory is None:
        raise ToolchainError(
            f"rustup reported toolchain {name} installed, but it is not in "
            f"{rustup_home(project.environ) / 'toolchains'}.",
            "check RUSTUP_HOME.",
        )
    return tc.probe(
        directory / "bin" / "rustc", f"rustup:{directory.name}", "rustup", directory.name
    )


def provisioner_for(
    project: Project, host: str, which: Callable[[str], str | None] | None = None
) -> Provisioner:
    """Installs a project's needs into its tool directory, with the config's policy."""
    from nox_cargo.provision.installer import Provisioner
    from nox_cargo.provision.tooldir import ToolDir

    tools = ToolDir.for_config(project.config.tools_dir, project.base_dir, project.environ)
    path = project.environ.get("PATH")
    return Provisioner(
        tools,
        project.environ,
        host,
        project.config.provision,
        which=which or (lambda name: shutil.which(name, path=path)),
    )


@dataclass(frozen=True)
class Cargo:
    """How a stage runs cargo with the project's compiler."""

    prefix: tuple[str, ...]  # `cargo +1.93` or `/usr/bin/cargo`
    env: dict[str, str]  # RUSTC/RUSTDOC for a toolchain outside rustup
    toolchain: tc.Toolchain
    origin: str

    def describe(self) -> str:
        """`the default toolchain (rustc 1.95.0 …)` or `rust-toolchain.toml: 1.63 (rustc …)`."""
        return f"{self.origin} ({self.toolchain.version_line})"


def cargo_for(project: Project, components: Sequence[str] = (), for_what: str = "") -> Cargo:
    """The project's compiler for a cargo stage, with the rustup components it needs (rustfmt,
    clippy) provisioned."""
    from nox_cargo.build import toolchain as tc
    from nox_cargo.provision import needs as nd

    toolchains = tc.discover(project.environ)
    default = tc.default_toolchain(toolchains, project.environ)
    host = default.host if default else (toolchains[0].host if toolchains else host_triple_guess())
    provisioner = provisioner_for(project, host)
    toolchain, origin = resolve(project, toolchains, default, host, provisioner)
    if toolchain.rustup_name is not None and components:
        provisioner.ensure(
            [nd.component(c, toolchain.rustup_name) for c in components],
            for_what or "the project's compiler",
        )
    prefix, env = toolchain.cargo_invocation()
    return Cargo(tuple(prefix), env, toolchain, origin)


def ensure_pinned(project: Project) -> None:
    """Install a pinned rustup toolchain before anything runs cargo in the workspace.

    rustup's proxies obey rust-toolchain.toml, and a rustup that does not install it on demand
    makes even `cargo metadata` fail; so the pin is provisioned first (a file lookup and a
    directory check when it is there; with `provision = "never"` the stage skips naming it).
    """
    spec = spec_for(project.config.toolchain, project.workspace_path)
    if not spec.name or spec.is_path:
        return
    from nox_cargo.provision.installer import rustup_home, toolchain_dir

    host = host_triple_guess()
    if toolchain_dir(rustup_home(project.environ), spec.name, host) is not None:
        return
    provisioner_for(project, host).ensure(spec.needs(), f"the project's toolchain ({spec.origin})")
