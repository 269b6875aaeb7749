"""Where the configuration comes from, and how the layers become one Config.

Layers, lowest first: the model's defaults < the config file < `NOX_CARGO_*` environment
variables < session arguments (`-c key=value`). The file is `[tool.nox-cargo]` in the
pyproject.toml beside the noxfile, or else `[workspace.metadata.nox-cargo]` in the workspace's
Cargo.toml (read through `cargo metadata`, never by hand). Keys are kebab-case in TOML, dotted on
the command line (`lint.clippy-deny-warnings=false`) and upper snake case in the environment
(`NOX_CARGO_LINT_CLIPPY_DENY_WARNINGS=false`).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nox_cargo.config.convert import build, closest, convert, describe, from_string, known_keys
from nox_cargo.config.model import Config, fields, is_section, toml_key
from nox_cargo.errors import ConfigError

ENV_PREFIX = "NOX_CARGO_"
# Variables of that prefix that are not config keys: NOX_CARGO_DEBUG=1 shows the traceback of an
# unexpected error (see sessions/runner.py).
NON_CONFIG_ENV = frozenset({"NOX_CARGO_DEBUG"})
PYPROJECT_TABLE = "tool.nox-cargo"
CARGO_TABLE = "workspace.metadata.nox-cargo"
ENV_LISTING = (
    f"a variable is {ENV_PREFIX} and a key in upper snake case ({ENV_PREFIX}BENCH_BASE sets "
    "bench.base); `python -m nox_cargo.config` lists every key"
)

# --------------------------------------------------------------------------------------------
# Layers: every source produces {dotted path: converted value}; higher layers override.
# --------------------------------------------------------------------------------------------

Leaf = tuple[tuple[str, ...], Any]  # (python field path, type)


def leaves(cls: type = Config, path: tuple[str, ...] = ()) -> dict[str, Leaf]:
    """Every settable key of the model: dotted TOML key -> (field path, type)."""
    found: dict[str, Leaf] = {}
    for name, (_, tp) in fields(cls).items():
        here = (*path, name)
        if is_section(tp):
            found.update(leaves(tp, here))
        else:
            found[".".join(toml_key(p) for p in here)] = (here, tp)
    return found


def env_name(dotted: str) -> str:
    return ENV_PREFIX + re.sub(r"[.-]", "_", dotted).upper()


Layer = dict[tuple[str, ...], Any]


def file_layer(table: Mapping[str, Any], source: str) -> Layer:
    """Flatten a validated config table into a layer."""
    layer: Layer = {}

    def walk(cls: type, data: Mapping[str, Any], path: tuple[str, ...]) -> None:
        prefix = ".".join(toml_key(p) for p in path)
        values = known_keys(cls, data, prefix, source)
        for name, (raw, tp) in values.items():
            if is_section(tp):
                if not isinstance(raw, Mapping):
                    key = f"{prefix}.{toml_key(name)}" if prefix else toml_key(name)
                    raise ConfigError(
                        f"Invalid value for `{key}` in {source}: expected a table, got "
                        f"{type(raw).__name__} {raw!r}.",
                        f"write it as a `[{key}]` table.",
                    )
                walk(tp, raw, (*path, name))
            else:
                key = ".".join(toml_key(p) for p in (*path, name))
                layer[(*path, name)] = convert(raw, tp, key, source)

    walk(Config, table, ())
    return layer


def env_layer(environ: Mapping[str, str]) -> Layer:
    """`NOX_CARGO_*` variables; an unknown one is an error rather than silently ignored."""
    by_env = {env_name(dotted): (dotted, leaf) for dotted, leaf in leaves().items()}
    layer: Layer = {}
    for name, text in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or name in NON_CONFIG_ENV:
            continue
        if name not in by_env:
            raise ConfigError(
                f"Unknown environment variable {name}.",
                closest(name, by_env, "unset it", ENV_PREFIX, ENV_LISTING),
            )
        dotted, (path, tp) = by_env[name]
        layer[path] = _string_value(
            text, tp, dotted, f"environment variable {name}", f"set {name} to"
        )
    return layer


def override_layer(assignments: Sequence[str], source: str = "session arguments") -> Layer:
    """`key=value` assignments from `-c` session arguments."""
    known = leaves()
    layer: Layer = {}
    for assignment in assignments:
        dotted, sep, text = assignment.partition("=")
        dotted = dotted.strip().replace("_", "-")
        if not sep:
            raise ConfigError(
                f"`-c {assignment}` in {source} is not of the form key=value.",
                "write e.g. `-c lint.clippy-deny-warnings=false`.",
            )
        if dotted not in known:
            raise ConfigError(
                f"Unknown key `{dotted}` in {source}.", closest(dotted, known, "correct it")
            )
        path, tp = known[dotted]
        layer[path] = _string_value(text, tp, dotted, source, "give")
    return layer


def _string_value(text: str, tp: Any, dotted: str, source: str, fix_verb: str) -> Any:
    """A value written as a string (environment, `-c`), converted to the key's type."""
    try:
        raw = from_string(text, tp)
    except ValueError as exc:
        raise ConfigError(
            f"Invalid value for `{dotted}` in {source}: {exc}.",
            f"{fix_verb} {describe(tp)}.",
        ) from None
    return convert(raw, tp, dotted, source)


def assemble(layers: Sequence[tuple[Layer, str]]) -> Config:
    """Merge layers (lowest first) into a Config; a failed check names the layer responsible."""
    merged: Layer = {}
    origin: dict[tuple[str, ...], str] = {}
    for layer, source in layers:
        merged.update(layer)
        origin.update(dict.fromkeys(layer, source))

    def section(cls: type, path: tuple[str, ...]) -> Any:
        values: dict[str, Any] = {}
        for name, (_, tp) in fields(cls).items():
            here = (*path, name)
            if is_section(tp):
                values[name] = section(tp, here)
            elif here in merged:
                values[name] = merged[here]
        sources = sorted({origin[p] for p in merged if p[: len(path)] == path}) or ["defaults"]
        prefix = ".".join(toml_key(p) for p in path)
        return build(cls, values, prefix, " and ".join(sources))

    config: Config = section(Config, ())
    return config


# --------------------------------------------------------------------------------------------
# Reading the file.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigSource:
    """Where the file layer came from: its table and a human name for errors."""

    table: Mapping[str, Any]
    description: str
    base_dir: Path


def table_for(source: ConfigSource | None, section: str = "") -> str:
    """The TOML table a fix line should name, in the file the config really comes from.

    `table_for(source, "wasm")` is "`[tool.nox-cargo.wasm]` in /repo/pyproject.toml", or
    "`[workspace.metadata.nox-cargo.wasm]` in /repo/Cargo.toml" when the config lives there.
    """
    suffix = f".{section}" if section else ""
    if source is None:
        return f"`[{PYPROJECT_TABLE}{suffix}]` in pyproject.toml"
    file_part, _, table = source.description.rpartition(" [")
    table = table.rstrip("]") or PYPROJECT_TABLE
    return f"`[{table}{suffix}]` in {file_part or source.description}"


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid TOML: {exc}.", f"fix the syntax of {path.name}."
        ) from None
    except OSError as exc:
        raise ConfigError(f"Cannot read {path}: {exc.strerror}.", f"check {path}.") from None


def _dig(data: Mapping[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def pyproject_source(root: Path) -> ConfigSource | None:
    """`[tool.nox-cargo]` of root/pyproject.toml, if there is one."""
    path = root / "pyproject.toml"
    if not path.is_file():
        return None
    table = _dig(read_toml(path), PYPROJECT_TABLE)
    if table is None:
        return None
    if not isinstance(table, Mapping):
        raise ConfigError(
            f"`{PYPROJECT_TABLE}` in {path} must be a table.", f"write it as `[{PYPROJECT_TABLE}]`."
        )
    return ConfigSource(table, f"{path} [{PYPROJECT_TABLE}]", root)


def cargo_source(manifest: Path, metadata: Mapping[str, Any] | None) -> ConfigSource | None:
    """`[workspace.metadata.nox-cargo]`, as `cargo metadata` reports it (its `metadata` field)."""
    if not metadata or "nox-cargo" not in metadata:
        return None
    table = metadata["nox-cargo"]
    if not isinstance(table, Mapping):
        raise ConfigError(
            f"`{CARGO_TABLE}` in {manifest} must be a table.", f"write it as `[{CARGO_TABLE}]`."
        )
    return ConfigSource(table, f"{manifest} [{CARGO_TABLE}]", manifest.parent)


def load(
    source: ConfigSource | None,
    environ: Mapping[str, str],
    overrides: Sequence[str] = (),
) -> Config:
    """Assemble the config from a file source, the environment and `-c` overrides."""
    layers: list[tuple[Layer, str]] = []
    if source is not None:
        layers.append((file_layer(source.table, source.description), source.description))
    layers.append((env_layer(environ), "the environment"))
    if overrides:
        layers.append((override_layer(overrides), "session arguments"))
    return assemble(layers)
