"""The pipeline's configuration: one frozen dataclass tree fed by layered sources.

Layers, lowest first: the defaults below < the config file < `NOX_CARGO_*` environment variables <
session arguments (`-c key=value`). The file is `[tool.nox-cargo]` in the pyproject.toml beside the
noxfile, or else `[workspace.metadata.nox-cargo]` in the workspace's Cargo.toml (read through
`cargo metadata`, never by hand). Keys are kebab-case in TOML, dotted on the command line
(`lint.clippy-deny-warnings=false`) and upper snake case in the environment
(`NOX_CARGO_LINT_CLIPPY_DENY_WARNINGS=false`).

Every value goes through one converter (`_convert`), so a wrong type, an unknown key or a bad value
gives the same kind of error from every source: the key, where it came from, and what is allowed.
"""

from __future__ import annotations

import dataclasses
import json
import re
import tomllib
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from nox_cargo.errors import ConfigError

ENV_PREFIX = "NOX_CARGO_"
PYPROJECT_TABLE = "tool.nox-cargo"
CARGO_TABLE = "workspace.metadata.nox-cargo"


class ByteSize(int):
    """A size in bytes, written as an integer or as `300 KiB`, `120KB`, `20 MB`, `1.5 MiB`."""

    UNITS: typing.ClassVar[dict[str, int]] = {
        "": 1,
        "b": 1,
        "kb": 1000,
        "mb": 1000**2,
        "gb": 1000**3,
        "kib": 1024,
        "mib": 1024**2,
        "gib": 1024**3,
    }

    @classmethod
    def parse(cls, value: object) -> ByteSize:
        if isinstance(value, bool):
            raise ValueError("a size, not a boolean")
        if isinstance(value, int):
            if value < 0:
                raise ValueError("a size cannot be negative")
            return cls(value)
        if isinstance(value, str):
            match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", value)
            if match and match.group(2).lower() in cls.UNITS:
                number = float(match.group(1)) * cls.UNITS[match.group(2).lower()]
                if number != int(number):
                    raise ValueError(f"{value!r} is not a whole number of bytes")
                return cls(int(number))
        raise ValueError(
            f"{value!r} is not a size; write bytes as an integer or with a unit, "
            'e.g. 307200, "300 KiB", "20 MB" (units: B, KB, MB, GB, KiB, MiB, GiB)'
        )

    def human(self) -> str:
        for unit, factor in (("MiB", 1024**2), ("KiB", 1024)):
            if self >= factor:
                return f"{self / factor:.1f} {unit}"
        return f"{int(self)} B"


def _doc(text: str) -> dict[str, str]:
    return {"doc": text}


# --------------------------------------------------------------------------------------------
# The model. Field docs are the configuration reference (README and `doctor` print them).
# --------------------------------------------------------------------------------------------

TARGET_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
TRIPLE = re.compile(r"^[a-z0-9_]+(-[a-z0-9_.]+){1,4}$")


@dataclass(frozen=True)
class LintConfig:
    clippy_deny_warnings: bool = field(
        default=True, metadata=_doc("clippy fails on any warning (`-D warnings`)")
    )
    clippy_args: tuple[str, ...] = field(
        default=("--all-targets",), metadata=_doc("extra arguments for `cargo clippy`")
    )
    check_args: tuple[str, ...] = field(
        default=("--all-targets",), metadata=_doc("extra arguments for `cargo check`")
    )


@dataclass(frozen=True)
class TestConfig:
    runner: Literal["auto", "nextest", "cargo"] = field(
        default="auto",
        metadata=_doc("`auto` uses cargo-nextest when installed, else `cargo test`"),
    )
    msrv_toolchain: str = field(
        default="",
        metadata=_doc(
            "toolchain for `test(toolchain=msrv)`: a rustup toolchain name or a path to rustc; "
            "empty = the oldest discovered toolchain that satisfies the workspace's rust-version"
        ),
    )


@dataclass(frozen=True)
class Target:
    id: str = field(metadata=_doc("short id used in session names, e.g. `aarch64-musl`"))
    triple: str = field(metadata=_doc("the Rust target triple"))
    runner: str = field(default="ubuntu-latest", metadata=_doc("GitHub Actions runner label"))
    strategy: str = field(
        default="",
        metadata=_doc("force one build strategy (native, rustup, zig, cross); empty = auto"),
    )
    linker: str = field(
        default="", metadata=_doc("linker for the triple, e.g. `aarch64-linux-gnu-gcc`")
    )
    rustflags: tuple[str, ...] = field(default=(), metadata=_doc("extra RUSTFLAGS"))
    features: tuple[str, ...] = field(default=(), metadata=_doc("cargo features to enable"))
    profile: str = field(default="", metadata=_doc("cargo profile; empty = build.profile"))
    static: bool | None = field(
        default=None,
        metadata=_doc("link statically (+crt-static); default: yes for musl and MSVC, no for gnu"),
    )

    def __post_init__(self) -> None:
        if not TARGET_ID.match(self.id):
            raise _Invalid(
                "id",
                f"{self.id!r} is not a valid target id (lowercase letters, digits, `-`, `_`, `.`)",
            )
        if not TRIPLE.match(self.triple):
            raise _Invalid(
                "triple", f"{self.triple!r} is not a target triple (e.g. x86_64-unknown-linux-musl)"
            )
        if self.strategy not in ("", *STRATEGIES):
            raise _Invalid("strategy", f"{self.strategy!r} is not one of {', '.join(STRATEGIES)}")


STRATEGIES = ("native", "rustup", "zig", "cross")

DEFAULT_TARGETS = (
    Target("x86_64-musl", "x86_64-unknown-linux-musl", "ubuntu-latest"),
    Target("aarch64-musl", "aarch64-unknown-linux-musl", "ubuntu-24.04-arm"),
    # The old pipeline's macos-13 runner was retired by GitHub on 2025-12-04 (jobs on it queue
    # forever); macos-15-intel is the supported Intel image.
    Target("x86_64-macos", "x86_64-apple-darwin", "macos-15-intel"),
    Target("aarch64-macos", "aarch64-apple-darwin", "macos-14"),
    Target("x86_64-windows", "x86_64-pc-windows-msvc", "windows-latest"),
)


@dataclass(frozen=True)
class BuildConfig:
    profile: str = field(default="release", metadata=_doc("cargo profile of release builds"))
    strategies: tuple[str, ...] = field(
        default=STRATEGIES,
        metadata=_doc("strategies to try, in order: native, rustup, zig, cross"),
    )
    default_targets: bool = field(
        default=True,
        metadata=_doc("start from the five default targets; false = only `[[targets]]`"),
    )
    smoke_args: tuple[str, ...] = field(
        default=("--version",), metadata=_doc("arguments of the smoke run of each built binary")
    )

    def __post_init__(self) -> None:
        for name in self.strategies:
            if name not in STRATEGIES:
                raise _Invalid("strategies", f"{name!r} is not one of {', '.join(STRATEGIES)}")


@dataclass(frozen=True)
class PackageConfig:
    format: Literal["zip", "tar.gz", "tar.xz"] = field(
        default="zip",
        metadata=_doc("archive format of release packages; Windows targets always get zip"),
    )
    files: tuple[str, ...] = field(
        default=("README.md", "LICENSE", "CHANGELOG.md"),
        metadata=_doc("files packed beside each binary, relative to the workspace root"),
    )
    name_template: str = field(
        default="{bin}-{version}-{target}",
        metadata=_doc("archive name without extension; fields {bin}, {version}, {target}"),
    )

    def __post_init__(self) -> None:
        try:
            name = self.name_template.format(bin="b", version="1.0.0", target="t")
        except (KeyError, IndexError, ValueError) as exc:
            raise _Invalid(
                "name-template",
                f"{self.name_template!r} uses an unknown field ({exc}); "
                "use {bin}, {version}, {target}",
            ) from None
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise _Invalid("name-template", f"{self.name_template!r} is not a plain file name")
        for entry in self.files:
            if not entry or Path(entry).is_absolute() or ".." in Path(entry).parts:
                raise _Invalid("files", f"{entry!r} must be a path inside the workspace root")


DEFAULT_DOCKER_PLATFORMS = {"linux/amd64": "x86_64-musl", "linux/arm64": "aarch64-musl"}
PLATFORM = re.compile(r"^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$")


@dataclass(frozen=True)
class DockerConfig:
    platforms: dict[str, str] = field(
        default_factory=lambda: dict(DEFAULT_DOCKER_PLATFORMS),
        metadata=_doc("image platform (os/arch) -> target id whose static binary it carries"),
    )
    image: str = field(
        default="", metadata=_doc("image name (repository) without tag; empty = the binary name")
    )
    binary: str = field(
        default="", metadata=_doc("binary the image runs; empty = the first released binary")
    )
    dockerfile: Path = field(
        default=Path("Dockerfile"),
        metadata=_doc("the FROM scratch template, relative to the config file"),
    )
    size_budget: ByteSize = field(
        default=ByteSize(20 * 1000**2),
        metadata=_doc("largest allowed image size (also: never more than binary + 1 MiB)"),
    )
    registry: str = field(
        default="", metadata=_doc("registry prefix for `--push`, e.g. `ghcr.io/owner`")
    )
    source: str = field(
        default="",
        metadata=_doc("org.opencontainers.image.source; empty = the package's `repository`"),
    )

    def __post_init__(self) -> None:
        if not self.platforms:
            raise _Invalid("platforms", "needs at least one platform, e.g. linux/amd64")
        for platform, target in self.platforms.items():
            if not PLATFORM.match(platform):
                raise _Invalid(
                    "platforms", f"{platform!r} is not an os/arch platform (e.g. linux/amd64)"
                )
            if not TARGET_ID.match(target):
                raise _Invalid("platforms", f"{target!r} (for {platform}) is not a target id")
        if self.registry.endswith("/"):
            raise _Invalid("registry", f"{self.registry!r}: write it without a trailing `/`")


WASM_TRIPLE = re.compile(r"^wasm(32|64)-[a-z0-9_.-]+$")


@dataclass(frozen=True)
class WasmConfig:
    targets: tuple[str, ...] = field(
        default=("wasm32-wasip1",),
        metadata=_doc("wasm target triples of `wasm(target=...)`"),
    )
    package: str = field(
        default="",
        metadata=_doc("package whose bin is built for wasm; empty = the workspace's only bin"),
    )
    profile: str = field(
        default="wasm-release",
        metadata=_doc("cargo profile of the wasm build (opt-level z, LTO, panic abort, strip)"),
    )
    strip: bool = field(
        default=True,
        metadata=_doc(
            "drop the name, producers and debug sections from the shipped module "
            "(the size breakdown reads the names before they are dropped)"
        ),
    )
    optimize: bool = field(
        default=True, metadata=_doc("run wasm-opt (binaryen) on the module when installed")
    )
    wasm_opt_args: tuple[str, ...] = field(
        default=("-Oz",),
        metadata=_doc("wasm-opt arguments (feature flags are added from the module's features)"),
    )
    raw_budget: ByteSize = field(
        default=ByteSize(300 * 1024), metadata=_doc("largest allowed module, in bytes")
    )
    gzip_budget: ByteSize = field(
        default=ByteSize(120 * 1024),
        metadata=_doc("largest allowed `gzip -9` size of the module"),
    )
    brotli_budget: ByteSize | None = field(
        default=None, metadata=_doc("largest allowed brotli (quality 11) size; unset = no gate")
    )
    smoke_input: Path | None = field(
        default=None,
        metadata=_doc("stdin of the smoke run, relative to the config file; unset = built-in text"),
    )
    smoke_args: tuple[str, ...] = field(
        default=(), metadata=_doc("arguments of the module in the smoke run")
    )
    native_bin: str = field(
        default="",
        metadata=_doc(
            "host binary whose output the wasm run must equal; empty = the wasm package's own bin"
        ),
    )
    native_args: tuple[str, ...] = field(
        default=(), metadata=_doc("arguments of the native reference run")
    )
    breakdown_top: int = field(
        default=10, metadata=_doc("how many of the largest functions the size breakdown lists")
    )

    def __post_init__(self) -> None:
        if not self.targets:
            raise _Invalid("targets", "give at least one wasm target triple")
        for triple in self.targets:
            if not WASM_TRIPLE.match(triple):
                raise _Invalid(
                    "targets", f"{triple!r} is not a wasm target triple (e.g. wasm32-wasip1)"
                )
        if not self.profile:
            raise _Invalid("profile", "give the cargo profile of the wasm build")
        if self.breakdown_top < 0:
            raise _Invalid("breakdown-top", "must be 0 or more")


BENCH_CASE_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


@dataclass(frozen=True)
class BenchCase:
    name: str = field(metadata=_doc("case name, e.g. `startup`"))
    args: tuple[str, ...] = field(
        default=(),
        metadata=_doc("arguments of the binary; `{input}` is replaced by the generated input file"),
    )
    input_kind: Literal["none", "text", "bytes"] = field(
        default="none",
        metadata=_doc("generated input: `text` (seeded words and lines), `bytes`, or `none`"),
    )
    input_size: ByteSize = field(
        default=ByteSize(0), metadata=_doc("size of the generated input, e.g. `20 MB`")
    )
    stdin: bool = field(
        default=False, metadata=_doc("feed the generated input on stdin (else /dev/null)")
    )
    mode: Literal["latency", "throughput"] = field(
        default="latency",
        metadata=_doc(
            "`latency`: one sample per run; `throughput`: one sample per batch of `invocations` "
            "back-to-back runs, sequentially and with one worker per core"
        ),
    )
    invocations: int = field(default=100, metadata=_doc("runs per throughput batch"))

    def __post_init__(self) -> None:
        if not BENCH_CASE_NAME.match(self.name):
            raise _Invalid("name", f"{self.name!r} is not a valid case name (lowercase, digits, -)")
        for arg in self.args:
            if any(c in arg for c in "\t\n\r\0"):
                raise _Invalid("args", f"{arg!r} contains a tab, newline or NUL")
        uses_input = any("{input}" in a for a in self.args)
        if self.input_kind == "none":
            if uses_input or self.stdin:
                raise _Invalid("input-kind", "`{input}` or `stdin` needs an `input-kind`")
        elif self.input_size <= 0:
            raise _Invalid("input-size", "a generated input needs a size above 0")
        if self.invocations < 1:
            raise _Invalid("invocations", "must be at least 1")


@dataclass(frozen=True)
class BenchConfig:
    target: str = field(
        default="",
        metadata=_doc(
            "target id whose build is benchmarked; empty = the first registry target whose "
            "triple is the default toolchain's host"
        ),
    )
    binary: str = field(default="", metadata=_doc("binary to run; empty = the first of `binaries`"))
    cases: tuple[BenchCase, ...] = field(
        default=(),
        metadata=_doc(
            "`[[bench.cases]]` tables; empty = `startup` (build.smoke-args) and `invocations` "
            "(100 back-to-back runs)"
        ),
    )
    warmup: int = field(default=5, metadata=_doc("warm-up runs per command before measuring"))
    min_runs: int = field(default=30, metadata=_doc("samples per command before stopping early"))
    max_runs: int = field(default=400, metadata=_doc("samples per command at most"))
    max_seconds: float = field(
        default=60.0, metadata=_doc("time budget per case (stops sampling, not a run)")
    )
    target_ci_percent: float = field(
        default=1.0,
        metadata=_doc("stop sampling once the 99 % CI half-width is below this (percent)"),
    )
    noise_floor_percent: float = field(
        default=3.0, metadata=_doc("a regression's whole CI must lie above 1 + this (percent)")
    )
    threshold_percent: float = field(
        default=5.0, metadata=_doc("a regression's point estimate must reach this (percent)")
    )
    rss_threshold_percent: float = field(
        default=5.0, metadata=_doc("peak RSS regression: growth above max(this, rss-min-growth)")
    )
    rss_min_growth: ByteSize = field(
        default=ByteSize(1024 * 1024), metadata=_doc("peak RSS growth always tolerated")
    )
    size_threshold_percent: float = field(
        default=1.0, metadata=_doc("binary/WASM/image size growth over the base that fails")
    )
    binary_budget: ByteSize | None = field(
        default=None, metadata=_doc("absolute limit for the benchmarked binary's size")
    )
    wasm_budget: ByteSize | None = field(
        default=None, metadata=_doc("absolute limit for each WASM module's size")
    )
    image_budget: ByteSize | None = field(
        default=None, metadata=_doc("absolute limit for each Docker image's size")
    )
    seed: int = field(default=20240601, metadata=_doc("seed of run order and bootstrap"))
    base: str = field(
        default="",
        metadata=_doc(
            "git ref to build in a worktree and measure interleaved with the head (`--base`)"
        ),
    )
    baseline: Path | None = field(
        default=None, metadata=_doc("saved result to compare with (`--baseline`, cross-run)")
    )
    save: Path | None = field(
        default=None, metadata=_doc("write this run's result there as a baseline (`--save`)")
    )

    def __post_init__(self) -> None:
        if self.target and not TARGET_ID.match(self.target):
            raise _Invalid("target", f"{self.target!r} is not a target id")
        names = [c.name for c in self.cases]
        for name in names:
            if names.count(name) > 1:
                raise _Invalid("cases", f"case {name!r} is defined twice")
        if self.warmup < 0:
            raise _Invalid("warmup", "cannot be negative")
        if not 2 <= self.min_runs <= self.max_runs:
            raise _Invalid("min-runs", "need 2 <= min-runs <= max-runs")
        if self.max_seconds <= 0:
            raise _Invalid("max-seconds", "must be positive")
        for key in ("target_ci_percent", "noise_floor_percent", "threshold_percent"):
            if not 0 <= getattr(self, key) < 100:
                raise _Invalid(key, "must be a percentage in [0, 100)")
        if self.noise_floor_percent > self.threshold_percent:
            raise _Invalid("noise-floor-percent", "cannot exceed threshold-percent")
        if self.base and self.baseline is not None:
            raise _Invalid("base", "give `base` or `baseline`, not both")


@dataclass(frozen=True)
class Config:
    workspace: Path = field(
        default=Path(), metadata=_doc("the Cargo workspace, relative to the config file")
    )
    binaries: tuple[str, ...] = field(
        default=(), metadata=_doc("binaries to release; empty = every bin target of the workspace")
    )
    strict: bool = field(
        default=False,
        metadata=_doc(
            "fail instead of skipping what this machine cannot do (always on when CI is set)"
        ),
    )
    dist_dir: Path = field(default=Path("dist"), metadata=_doc("where artifacts are written"))
    lint: LintConfig = field(default_factory=LintConfig)
    test: TestConfig = field(default_factory=TestConfig)
    build: BuildConfig = field(default_factory=BuildConfig)
    wasm: WasmConfig = field(default_factory=WasmConfig)
    package: PackageConfig = field(default_factory=PackageConfig)
    docker: DockerConfig = field(default_factory=DockerConfig)
    bench: BenchConfig = field(default_factory=BenchConfig)
    targets: tuple[Target, ...] = field(
        default=(),
        metadata=_doc(
            "`[[targets]]` tables: added to the defaults, or replacing a default of the same id"
        ),
    )

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for target in self.targets:
            if target.id in seen:
                raise _Invalid("targets", f"target id {target.id!r} is defined twice")
            seen.add(target.id)

    @property
    def target_registry(self) -> tuple[Target, ...]:
        """Default targets (unless disabled), overridden or extended by `[[targets]]`."""
        registry: dict[str, Target] = {}
        if self.build.default_targets:
            registry.update((t.id, t) for t in DEFAULT_TARGETS)
        registry.update((t.id, t) for t in self.targets)
        return tuple(registry.values())


# --------------------------------------------------------------------------------------------
# Conversion: one function turns a raw value (TOML or string) into the field's type.
# --------------------------------------------------------------------------------------------


class _Invalid(ValueError):
    """Raised by a model's __post_init__: which key is wrong and why."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(reason)
        self.key = key
        self.reason = reason


def toml_key(name: str) -> str:
    return name.replace("_", "-")


def _fields(cls: type) -> dict[str, tuple[dataclasses.Field[Any], Any]]:
    hints = typing.get_type_hints(cls)
    return {f.name: (f, hints[f.name]) for f in dataclasses.fields(cls)}


def _is_section(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (types.UnionType, typing.Union):
        return " or ".join(_describe(a) for a in typing.get_args(tp) if a is not type(None))
    if origin is tuple:
        inner = typing.get_args(tp)[0]
        if _is_section(inner):
            return "an array of tables"
        return "a list of " + _describe(inner).removeprefix("a ").removeprefix("an ") + "s"
    if origin is dict:
        return "a table of strings"
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        Path: "a path (string)",
        ByteSize: 'a size (bytes, or e.g. "300 KiB")',
    }.get(tp, getattr(tp, "__name__", str(tp)))


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _from_string(text: str, tp: Any) -> Any:
    """Environment and command-line values arrive as strings: lift them to TOML-like values."""
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        non_none = [a for a in typing.get_args(tp) if a is not type(None)]
        if text == "" and type(None) in typing.get_args(tp):
            return None
        return _from_string(text, non_none[0])
    if tp is bool:
        lowered = text.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(f"{text!r} is not a boolean (use true/false, 1/0, yes/no)")
    if tp is int:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{text!r} is not an integer") from None
    if tp is float:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a number") from None
    if origin is tuple or origin is dict:
        stripped = text.strip()
        if stripped.startswith(("[", "{")):
            try:
                return json.loads(stripped)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{text!r} is not valid JSON: {exc.msg}") from None
        if origin is tuple and not _is_section(typing.get_args(tp)[0]):
            return [part.strip() for part in stripped.split(",") if part.strip()]
        raise ValueError(f"{text!r}: give {_describe(tp)} as JSON")
    return text


def _convert(value: Any, tp: Any, key: str, source: str) -> Any:
    """Convert a TOML-like value to `tp`, or raise ConfigError naming `key` and `source`."""

    def bad(reason: str | None = None) -> ConfigError:
        why = reason or f"expected {_describe(tp)}, got {type(value).__name__} {value!r}"
        return ConfigError(
            f"Invalid value for `{key}` in {source}: {why}.",
            f"set `{key}` to {_describe(tp)}.",
        )

    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None and type(None) in typing.get_args(tp):
            return None
        return _convert(value, options[0], key, source)
    if origin is Literal:
        if value not in typing.get_args(tp):
            raise bad(f"{value!r} is not {_describe(tp)}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise bad()
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad()
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad()
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise bad()
        return value
    if tp is Path:
        if not isinstance(value, str) or not value:
            raise bad()
        return Path(value)
    if tp is ByteSize:
        try:
            return ByteSize.parse(value)
        except ValueError as exc:
            raise bad(str(exc)) from None
    if origin is tuple:
        inner = typing.get_args(tp)[0]
        if not isinstance(value, list | tuple):
            raise bad()
        return tuple(_convert(v, inner, f"{key}[{i}]", source) for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise bad()
        return dict(value)
    if _is_section(tp):
        if not isinstance(value, Mapping):
            raise bad(f"expected a table, got {type(value).__name__} {value!r}")
        return _build(tp, _table_values(tp, value, key, source), key, source)
    raise TypeError(f"nox-cargo bug: no converter for {tp!r}")  # pragma: no cover


def _table_values(cls: type, table: Mapping[str, Any], prefix: str, source: str) -> dict[str, Any]:
    """Check a TOML table's keys against `cls` and convert each value."""
    known = _fields(cls)
    by_toml = {toml_key(name): name for name in known}
    values: dict[str, Any] = {}
    for raw_key, raw_value in table.items():
        key = f"{prefix}.{raw_key}" if prefix else raw_key
        name = by_toml.get(raw_key)
        if name is None:
            allowed = ", ".join(sorted(by_toml))
            raise ConfigError(
                f"Unknown key `{key}` in {source}.",
                f"remove it or use one of: {allowed}.",
            )
        values[name] = _convert(raw_value, known[name][1], key, source)
    return values


def _build(cls: type, values: Mapping[str, Any], prefix: str, source: str) -> Any:
    """Instantiate `cls`; a missing required key or a failed check names the key."""
    missing = [
        toml_key(f.name)
        for f, _ in _fields(cls).values()
        if f.name not in values
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        where = f"`{prefix}`" if prefix else "the configuration"
        raise ConfigError(
            f"Missing key `{missing[0]}` in {where} ({source}).",
            f"add `{missing[0]} = ...` to it.",
        )
    try:
        return cls(**values)
    except _Invalid as exc:
        key = f"{prefix}.{toml_key(exc.key)}" if prefix else toml_key(exc.key)
        raise ConfigError(
            f"Invalid value for `{key}` in {source}: {exc.reason}.", f"correct `{key}`."
        ) from None


# --------------------------------------------------------------------------------------------
# Layers: every source produces {dotted path: converted value}; higher layers override.
# --------------------------------------------------------------------------------------------

Leaf = tuple[tuple[str, ...], Any]  # (python field path, type)


def leaves(cls: type = Config, path: tuple[str, ...] = ()) -> dict[str, Leaf]:
    """Every settable key of the model: dotted TOML key -> (field path, type)."""
    found: dict[str, Leaf] = {}
    for name, (_, tp) in _fields(cls).items():
        here = (*path, name)
        if _is_section(tp):
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
        values = _table_values_shallow(cls, data, prefix, source)
        for name, (raw, tp) in values.items():
            if _is_section(tp):
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
                layer[(*path, name)] = _convert(raw, tp, key, source)

    walk(Config, table, ())
    return layer


def _table_values_shallow(
    cls: type, table: Mapping[str, Any], prefix: str, source: str
) -> dict[str, tuple[Any, Any]]:
    known = _fields(cls)
    by_toml = {toml_key(name): name for name in known}
    out: dict[str, tuple[Any, Any]] = {}
    for raw_key, raw_value in table.items():
        name = by_toml.get(raw_key)
        if name is None:
            key = f"{prefix}.{raw_key}" if prefix else raw_key
            raise ConfigError(
                f"Unknown key `{key}` in {source}.",
                f"remove it or use one of: {', '.join(sorted(by_toml))}.",
            )
        out[name] = (raw_value, known[name][1])
    return out


def env_layer(environ: Mapping[str, str]) -> Layer:
    """`NOX_CARGO_*` variables; an unknown one is an error rather than silently ignored."""
    by_env = {env_name(dotted): (dotted, leaf) for dotted, leaf in leaves().items()}
    layer: Layer = {}
    for name, text in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX):
            continue
        if name not in by_env:
            raise ConfigError(
                f"Unknown environment variable {name}.",
                f"unset it, or use one of: {', '.join(sorted(by_env))}.",
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
                f"Unknown key `{dotted}` in {source}.",
                f"use one of: {', '.join(sorted(known))}.",
            )
        path, tp = known[dotted]
        layer[path] = _string_value(text, tp, dotted, source, "give")
    return layer


def _string_value(text: str, tp: Any, dotted: str, source: str, fix_verb: str) -> Any:
    """A value written as a string (environment, `-c`), converted to the key's type."""
    try:
        raw = _from_string(text, tp)
    except ValueError as exc:
        raise ConfigError(
            f"Invalid value for `{dotted}` in {source}: {exc}.",
            f"{fix_verb} {_describe(tp)}.",
        ) from None
    return _convert(raw, tp, dotted, source)


def assemble(layers: Sequence[tuple[Layer, str]]) -> Config:
    """Merge layers (lowest first) into a Config; a failed check names the layer responsible."""
    merged: Layer = {}
    origin: dict[tuple[str, ...], str] = {}
    for layer, source in layers:
        merged.update(layer)
        origin.update(dict.fromkeys(layer, source))

    def build(cls: type, path: tuple[str, ...]) -> Any:
        values: dict[str, Any] = {}
        for name, (_, tp) in _fields(cls).items():
            here = (*path, name)
            if _is_section(tp):
                values[name] = build(tp, here)
            elif here in merged:
                values[name] = merged[here]
        sources = sorted({origin[p] for p in merged if p[: len(path)] == path}) or ["defaults"]
        prefix = ".".join(toml_key(p) for p in path)
        return _build(cls, values, prefix, " and ".join(sources))

    config: Config = build(Config, ())
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


def reference() -> list[tuple[str, str, str, str]]:
    """(key, type, default, description) for every key: the README's configuration reference."""
    rows: list[tuple[str, str, str, str]] = []

    def walk(cls: type, path: tuple[str, ...]) -> None:
        for name, (f, tp) in _fields(cls).items():
            here = (*path, name)
            if _is_section(tp):
                walk(tp, here)
                continue
            if f.default is not dataclasses.MISSING:
                default = f.default
            elif f.default_factory is not dataclasses.MISSING:
                default = f.default_factory()
            else:
                default = "(required)"
            rows.append(
                (
                    ".".join(toml_key(p) for p in here),
                    _describe(tp),
                    json.dumps(default, default=str) if default != "(required)" else default,
                    f.metadata.get("doc", ""),
                )
            )
            inner = typing.get_args(tp)[0] if typing.get_origin(tp) is tuple else None
            if inner is not None and _is_section(inner):  # array of tables: one entry's fields
                walk(inner, (*path, f"{name}[]"))

    walk(Config, ())
    return rows


def reference_markdown() -> str:
    """The configuration reference as a Markdown table (README embeds it; a test keeps it true)."""
    lines = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for key, kind, default, doc in reference():
        cell_doc = doc.replace("|", "\\|")
        lines.append(f"| `{key}` | {kind} | `{default}` | {cell_doc} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(reference_markdown())
