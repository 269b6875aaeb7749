"""The configuration model: one frozen dataclass tree, its defaults, and every check on it.

Field docs are the configuration reference (README and `doctor` print them). A check on one field
raises `Invalid` with the field and the reason; the converter (convert.py) turns it into a
ConfigError naming the key and the source. Checks that span sections live on `Config`.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from nox_cargo.errors import ConfigError


class Invalid(ValueError):
    """Raised by a model's __post_init__: which key is wrong and why."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(reason)
        self.key = key
        self.reason = reason


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


TARGET_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
TRIPLE = re.compile(r"^[a-z0-9_]+(-[a-z0-9_.]+){1,4}$")
MACOS_VERSION = re.compile(r"^[0-9]{2}\.[0-9]{1,2}(\.[0-9]{1,2})?$")


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
    slow_timeout: float = field(
        default=60.0,
        metadata=_doc(
            "seconds after which a running test is reported slow (nextest `slow-timeout`)"
        ),
    )
    terminate_after: int = field(
        default=10,
        metadata=_doc(
            "a test is stopped after this many slow-timeout periods (nextest `terminate-after`; "
            "`cargo test`: stopped when no test finished for that long); 0 = never"
        ),
    )
    doctests: bool = field(
        default=True,
        metadata=_doc("run `cargo test --doc` after nextest, which does not run doctests"),
    )

    def __post_init__(self) -> None:
        if self.slow_timeout <= 0:
            raise Invalid("slow-timeout", "must be a positive number of seconds")
        if self.terminate_after < 0:
            raise Invalid("terminate-after", "must be 0 (never) or more")


@dataclass(frozen=True)
class Target:
    id: str = field(metadata=_doc("short id used in session names, e.g. `aarch64-musl`"))
    triple: str = field(metadata=_doc("the Rust target triple"))
    runner: str = field(default="ubuntu-latest", metadata=_doc("GitHub Actions runner label"))
    strategy: str = field(
        default="",
        metadata=_doc("force one build strategy (a name from `build.strategies`); empty = auto"),
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
    c_compiler: str = field(
        default="",
        metadata=_doc(
            "C compiler for the triple's C dependencies (cc-rs `CC_<triple>`), e.g. "
            "`aarch64-linux-musl-gcc`; empty = found on PATH, else the zig strategy"
        ),
    )
    macos_deployment_target: str = field(
        default="",
        metadata=_doc(
            "minimum macOS of a macOS build (`MACOSX_DEPLOYMENT_TARGET`); empty = 10.12 for "
            "x86_64, 11.0 for aarch64"
        ),
    )

    def __post_init__(self) -> None:
        if not TARGET_ID.match(self.id):
            raise Invalid(
                "id",
                f"{self.id!r} is not a valid target id (lowercase letters, digits, `-`, `_`, `.`)",
            )
        if not TRIPLE.match(self.triple):
            raise Invalid(
                "triple", f"{self.triple!r} is not a target triple (e.g. x86_64-unknown-linux-musl)"
            )
        if self.strategy:
            check_strategies("strategy", (self.strategy,))
        if self.macos_deployment_target and not MACOS_VERSION.match(self.macos_deployment_target):
            raise Invalid(
                "macos-deployment-target",
                f"{self.macos_deployment_target!r} is not a macOS version like 11.0 or 10.12",
            )


# The build strategies, in the order they are tried by default. Named here so that loading the
# config does not import the strategies themselves; `nox_cargo.build.strategies.STRATEGIES` is
# built from this tuple and refuses to load when a name has no strategy or a strategy no name.
STRATEGY_NAMES = ("native", "rustup", "zig", "cross")


def strategy_names() -> tuple[str, ...]:
    """The build strategies, in the order they are tried (the registry's order)."""
    return STRATEGY_NAMES


def check_strategies(key: str, names: Sequence[str]) -> None:
    known = strategy_names()
    for name in names:
        if name not in known:
            raise Invalid(key, f"{name!r} is not one of {', '.join(known)}")


DEFAULT_TARGETS = (
    Target("x86_64-musl", "x86_64-unknown-linux-musl", "ubuntu-latest"),
    Target("aarch64-musl", "aarch64-unknown-linux-musl", "ubuntu-24.04-arm"),
    # Current GitHub labels only (github/runners.py keeps the retired ones): macos-13 went on
    # 2025-12-04, macos-14 on 2026-11-02; macos-15-intel is the supported Intel image.
    Target("x86_64-macos", "x86_64-apple-darwin", "macos-15-intel"),
    Target("aarch64-macos", "aarch64-apple-darwin", "macos-15"),
    Target("x86_64-windows", "x86_64-pc-windows-msvc", "windows-latest"),
)


@dataclass(frozen=True)
class BuildConfig:
    profile: str = field(default="release", metadata=_doc("cargo profile of release builds"))
    strategies: tuple[str, ...] = field(
        default_factory=strategy_names,
        metadata=_doc("build strategies to try, in order (the default lists every one)"),
    )
    default_targets: bool = field(
        default=True,
        metadata=_doc("start from the five default targets; false = only `[[targets]]`"),
    )
    smoke_args: tuple[str, ...] = field(
        default=("--version",), metadata=_doc("arguments of the smoke run of each built binary")
    )

    def __post_init__(self) -> None:
        check_strategies("strategies", self.strategies)


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
    download_url: str = field(
        default="",
        metadata=_doc(
            "where the installers download a release from, field {version}; empty = "
            "<repository>/releases/download/v{version} (GitHub releases)"
        ),
    )
    max_entry_size: ByteSize = field(
        default=ByteSize(512 * 1024**2),
        metadata=_doc(
            "`verify` refuses an archive entry whose declared size is larger, before reading it"
        ),
    )
    max_compression_ratio: float = field(
        default=200.0,
        metadata=_doc(
            "`verify` refuses an entry above 1 MiB that its archive compresses more than this "
            "(a zip bomb)"
        ),
    )

    def __post_init__(self) -> None:
        try:
            name = self.name_template.format(bin="b", version="1.0.0", target="t")
        except (KeyError, IndexError, ValueError) as exc:
            raise Invalid(
                "name-template",
                f"{self.name_template!r} uses an unknown field ({exc}); "
                "use {bin}, {version}, {target}",
            ) from None
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise Invalid("name-template", f"{self.name_template!r} is not a plain file name")
        for entry in self.files:
            if not entry or Path(entry).is_absolute() or ".." in Path(entry).parts:
                raise Invalid("files", f"{entry!r} must be a path inside the workspace root")
        if self.max_compression_ratio < 1:
            raise Invalid("max-compression-ratio", "must be at least 1")


DEFAULT_DOCKER_PLATFORMS = {"linux/amd64": "x86_64-musl", "linux/arm64": "aarch64-musl"}
PLATFORM = re.compile(r"^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$")
DOCKER_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


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
    dockerfile: Path | None = field(
        default=None,
        metadata=_doc(
            "the FROM scratch template, relative to the config file; unset = "
            "`nox-cargo.Dockerfile`, else a `Dockerfile` that is nox-cargo's template, else the "
            "one inside the package (a repository's own Dockerfile is never used by accident)"
        ),
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
    tags: tuple[str, ...] = field(
        default=("{version}", "{major}.{minor}", "latest"),
        metadata=_doc(
            "tags the `image` stage pushes; fields {version} {major} {minor} {patch}; a "
            "pre-release version gets only the tags that contain {version}"
        ),
    )

    def __post_init__(self) -> None:
        if not self.tags:
            raise Invalid("tags", "needs at least one tag, e.g. {version}")
        for tag in self.tags:
            try:
                text = tag.format(version="1.2.3", major=1, minor=2, patch=3)
            except (KeyError, IndexError, ValueError) as exc:
                raise Invalid(
                    "tags",
                    f"{tag!r} uses an unknown field ({exc}); use {{version}} {{major}} "
                    "{minor} {patch}",
                ) from None
            if not DOCKER_TAG.match(text):
                raise Invalid("tags", f"{tag!r} does not give a valid image tag ({text!r})")
        if not self.platforms:
            raise Invalid("platforms", "needs at least one platform, e.g. linux/amd64")
        for platform, target in self.platforms.items():
            if not PLATFORM.match(platform):
                raise Invalid(
                    "platforms", f"{platform!r} is not an os/arch platform (e.g. linux/amd64)"
                )
            if not TARGET_ID.match(target):
                raise Invalid("platforms", f"{target!r} (for {platform}) is not a target id")
        if self.registry.endswith("/"):
            raise Invalid("registry", f"{self.registry!r}: write it without a trailing `/`")


WASM_TRIPLE = re.compile(r"^wasm(32|64)-[a-z0-9_.-]+$")


@dataclass(frozen=True)
class WasmModule:
    package: str = field(
        metadata=_doc("workspace member built for wasm: its bin (a command) or its cdylib")
    )
    raw_budget: ByteSize | None = field(
        default=None, metadata=_doc("largest allowed module, in bytes; unset = wasm.raw-budget")
    )
    gzip_budget: ByteSize | None = field(
        default=None, metadata=_doc("largest allowed gzip -9 size; unset = wasm.gzip-budget")
    )
    brotli_budget: ByteSize | None = field(
        default=None, metadata=_doc("largest allowed brotli size; unset = wasm.brotli-budget")
    )

    def __post_init__(self) -> None:
        if not self.package:
            raise Invalid("package", "name the workspace member to build for wasm")


@dataclass(frozen=True)
class WasmConfig:
    targets: tuple[str, ...] = field(
        default=("wasm32-wasip1",),
        metadata=_doc("wasm target triples of `wasm(target=...)`; empty = no wasm stage"),
    )
    package: str = field(
        default="",
        metadata=_doc(
            "package built for wasm (its bin as a WASI command, else its cdylib); empty = the "
            "workspace's cdylib packages, else its only bin package"
        ),
    )
    modules: tuple[WasmModule, ...] = field(
        default=(),
        metadata=_doc(
            "`[[wasm.modules]]` tables: several wasm packages, each with its own budgets "
            "(instead of `package`)"
        ),
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
        for triple in self.targets:
            if not WASM_TRIPLE.match(triple):
                raise Invalid(
                    "targets", f"{triple!r} is not a wasm target triple (e.g. wasm32-wasip1)"
                )
        if not self.profile:
            raise Invalid("profile", "give the cargo profile of the wasm build")
        if self.breakdown_top < 0:
            raise Invalid("breakdown-top", "must be 0 or more")
        if self.package and self.modules:
            raise Invalid("modules", "give `package` or `[[wasm.modules]]`, not both")
        names = [m.package for m in self.modules]
        for name in names:
            if names.count(name) > 1:
                raise Invalid("modules", f"package {name!r} is listed twice")


BENCH_CASE_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
PARAMETER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_-]*)\}")


def placeholders(argv: Sequence[str]) -> list[str]:
    """The `{name}` placeholders of a command line, in order of appearance."""
    return [m.group(1) for arg in argv for m in PLACEHOLDER.finditer(arg)]


def _plain(argv: Sequence[str]) -> bool:
    return not any(c in arg for arg in argv for c in "\t\n\r\0")


@dataclass(frozen=True)
class BenchCase:
    name: str = field(metadata=_doc("case name, e.g. `startup`"))
    args: tuple[str, ...] = field(
        default=(),
        metadata=_doc(
            "arguments of the binary; `{input}` is replaced by the input's path, `{NAME}` by a "
            "value of parameter NAME"
        ),
    )
    input_kind: Literal["none", "text", "bytes"] = field(
        default="none",
        metadata=_doc("generated input: `text` (seeded words and lines), `bytes`, or `none`"),
    )
    input_size: ByteSize = field(
        default=ByteSize(0), metadata=_doc("size of the generated input, e.g. `20 MB`")
    )
    input: Path | None = field(
        default=None,
        metadata=_doc(
            "an input corpus from the workspace instead of a generated one: a file or a directory, "
            "relative to the workspace root (MB/s counts a directory's total size)"
        ),
    )
    stdin: bool = field(
        default=False, metadata=_doc("feed the input file on stdin (else /dev/null)")
    )
    mode: Literal["latency", "throughput"] = field(
        default="latency",
        metadata=_doc(
            "`latency`: one sample per run; `throughput`: one sample per batch of `invocations` "
            "back-to-back runs, sequentially and with one worker per core"
        ),
    )
    invocations: int = field(default=100, metadata=_doc("runs per throughput batch"))
    compare: tuple[tuple[str, ...], ...] = field(
        default=(),
        metadata=_doc(
            "other commands measured interleaved with the binary (latency cases), each an argv "
            'list, e.g. `[["wc", "-w", "{input}"]]`; argv[0] is looked up on PATH, or '
            "relative to the workspace root when it holds a `/`; reported with their ratio to the "
            "binary, never gated"
        ),
    )
    parameters: dict[str, tuple[str, ...]] = field(
        default_factory=dict,
        metadata=_doc(
            'parameter scan: `{ threads = ["1", "2"] }` makes one case per value, named '
            "`NAME[threads=2]`, with `{threads}` replaced in args, compare, prepare and cleanup; "
            "several parameters give every combination"
        ),
    )
    prepare: tuple[str, ...] = field(
        default=(),
        metadata=_doc(
            "command (argv list) run before each run of each command, warm-ups included, "
            "untimed (hyperfine's --prepare; latency cases)"
        ),
    )
    cleanup: tuple[str, ...] = field(
        default=(),
        metadata=_doc("command (argv list) run once per command after all its runs"),
    )
    workdir: Path | None = field(
        default=None,
        metadata=_doc(
            "where this case's runs start, relative to the workspace root; unset = bench.workdir"
        ),
    )

    def command_lines(self) -> list[tuple[str, tuple[str, ...]]]:
        """(key, argv) of every command line of the case: args, prepare, cleanup, compare."""
        return [
            ("args", self.args),
            ("prepare", self.prepare),
            ("cleanup", self.cleanup),
            *(("compare", c) for c in self.compare),
        ]

    def __post_init__(self) -> None:
        if not BENCH_CASE_NAME.match(self.name):
            raise Invalid("name", f"{self.name!r} is not a valid case name (lowercase, digits, -)")
        case = f"case {self.name!r}"
        for key, argv in self.command_lines():
            if not _plain(argv):
                raise Invalid(key, f"{case}: {list(argv)!r} contains a tab, newline or NUL")
        for command in self.compare:
            if not command or not command[0]:
                raise Invalid("compare", f"{case}: a compared command needs at least a program")
        self._check_parameters(case)
        has_input = self.input_kind != "none" or self.input is not None
        if self.input is not None and self.input_kind != "none":
            raise Invalid("input", f"{case}: give `input` (a corpus) or `input-kind`, not both")
        if not has_input and self.stdin:
            raise Invalid("input-kind", f"{case}: `stdin` needs an `input-kind` or an `input`")
        if self.input_kind != "none" and self.input_size <= 0:
            raise Invalid("input-size", f"{case}: a generated input needs a size above 0")
        self._check_placeholders(case, has_input)
        if self.invocations < 1:
            raise Invalid("invocations", f"{case}: must be at least 1")
        if self.mode == "throughput":
            for key in ("compare", "prepare"):
                if getattr(self, key):
                    raise Invalid(key, f"{case}: `{key}` is for latency cases")

    def _check_placeholders(self, case: str, has_input: bool) -> None:
        known = {*self.parameters, *(("input",) if has_input else ())}
        for key, argv in self.command_lines():
            for name in placeholders(argv):
                if name == "input" and not has_input:
                    raise Invalid(
                        "input-kind", f"{case}: `{{input}}` needs an `input-kind` or an `input`"
                    )
                if name not in known:
                    raise Invalid(
                        key,
                        f"{case}: `{{{name}}}` is not a placeholder of this case (known: "
                        + (", ".join(f"{{{k}}}" for k in sorted(known)) or "none")
                        + "; a parameter is declared in `parameters`)",
                    )

    def _check_parameters(self, case: str) -> None:
        for name, values in self.parameters.items():
            if not PARAMETER_NAME.match(name) or name == "input":
                raise Invalid(
                    "parameters",
                    f"{case}: {name!r} is not a parameter name (letters, digits, `_`; not `input`)",
                )
            if not values:
                raise Invalid("parameters", f"{case}: parameter {name!r} has no values")
            if len(set(values)) != len(values):
                raise Invalid("parameters", f"{case}: parameter {name!r} repeats a value")
            if not _plain(values):
                raise Invalid("parameters", f"{case}: a value of {name!r} holds a tab or newline")


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
    run_timeout: float = field(
        default=60.0,
        metadata=_doc(
            "seconds one run of a case may take; a run still going is killed (its process "
            "group) and the case fails, named"
        ),
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
    fresh_copies: bool = field(
        default=True,
        metadata=_doc(
            "run each measured binary from a fresh copy under the bench dir, so base and head "
            "have the same page-cache history and path length (false: run them where they are)"
        ),
    )
    workdir: Path | None = field(
        default=None,
        metadata=_doc(
            "where runs start (their current directory), relative to the workspace root; unset "
            "= the workspace root; a case's `workdir` wins"
        ),
    )
    seed: int = field(default=20240601, metadata=_doc("seed of run order and bootstrap"))
    base: str = field(
        default="",
        metadata=_doc(
            "git ref to build in a worktree and measure interleaved with the head (`--base`)"
        ),
    )
    baseline: Path | None = field(
        default=None,
        metadata=_doc(
            "saved result (a series: its last result) to compare with (`--baseline`, cross-run)"
        ),
    )
    save: Path | None = field(
        default=None,
        metadata=_doc(
            "append this run's result to that JSON Lines series (`--save`; a `.json` path "
            "holds one result, rewritten); also shows that series' history"
        ),
    )
    history: Path | None = field(
        default=None,
        metadata=_doc(
            "a series (JSON Lines) whose trend the report shows with this run as its last "
            "result, and whose alert rule it applies (`--history`)"
        ),
    )
    history_length: int = field(
        default=20, metadata=_doc("results shown in the trend table and chart")
    )
    alert_percent: float = field(
        default=10.0,
        metadata=_doc(
            "history alert: the last result is this much worse (percent) than the median of "
            "the alert window, beyond 3 x the window's MAD and beyond its worst result"
        ),
    )
    alert_window: int = field(
        default=10,
        metadata=_doc("earlier comparable results whose median the alert rule compares with"),
    )
    fail_on_alert: bool = field(
        default=False,
        metadata=_doc("a history alert fails the session (default: a warning and a report line)"),
    )
    cargo_bench: Literal["auto", "always", "never"] = field(
        default="auto",
        metadata=_doc(
            "run `cargo bench` and collect criterion's estimates: `auto` = when a member has a "
            "`[[bench]]` target and criterion or divan as dev-dependency"
        ),
    )
    cargo_bench_rounds: int = field(
        default=5,
        metadata=_doc(
            "with `--base`: rounds in which each benchmark runs once on the base and once on "
            "the head, back to back in random order"
        ),
    )
    cargo_bench_args: tuple[str, ...] = field(
        default=(),
        metadata=_doc(
            "extra arguments of `cargo bench`; harness options after `--`, e.g. "
            '`["--", "--measurement-time", "2"]`'
        ),
    )

    def __post_init__(self) -> None:
        if self.target and not TARGET_ID.match(self.target):
            raise Invalid("target", f"{self.target!r} is not a target id")
        names = [c.name for c in self.cases]
        for name in names:
            if names.count(name) > 1:
                raise Invalid("cases", f"case {name!r} is defined twice")
        if self.warmup < 0:
            raise Invalid("warmup", "cannot be negative")
        if not 2 <= self.min_runs <= self.max_runs:
            raise Invalid("min-runs", "need 2 <= min-runs <= max-runs")
        if self.max_seconds <= 0:
            raise Invalid("max-seconds", "must be positive")
        if self.run_timeout <= 0:
            raise Invalid("run-timeout", "must be positive")
        for key in ("target_ci_percent", "noise_floor_percent", "threshold_percent"):
            if not 0 <= getattr(self, key) < 100:
                raise Invalid(key, "must be a percentage in [0, 100)")
        if self.noise_floor_percent > self.threshold_percent:
            raise Invalid("noise-floor-percent", "cannot exceed threshold-percent")
        if self.cargo_bench_rounds < 2:
            raise Invalid("cargo-bench-rounds", "need at least 2 rounds")
        if self.base and self.baseline is not None:
            raise Invalid("base", "give `base` or `baseline`, not both")
        self._check_history()

    def _check_history(self) -> None:
        if self.history_length < 2:
            raise Invalid("history-length", "must be at least 2")
        if not 0 < self.alert_percent < 1000:
            raise Invalid("alert-percent", "must be a percentage in (0, 1000)")
        if self.alert_window < 5:
            raise Invalid("alert-window", "must be at least 5 (the alert rule needs 5 results)")


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
    cache: bool | None = field(
        default=None,
        metadata=_doc(
            "reuse a stage's recorded result while its inputs are unchanged; unset = on, except "
            "that under CI only results this CI job recorded are reused (set true where the job "
            "restores target/nox-cargo/cache/)"
        ),
    )
    toolchain: str = field(
        default="",
        metadata=_doc(
            "the toolchain of every cargo stage: a rustup toolchain (`1.93`, `stable`) or a path "
            "to rustc; empty = the workspace's rust-toolchain.toml, else the default toolchain"
        ),
    )
    provision: Literal["auto", "never"] = field(
        default="auto",
        metadata=_doc(
            "`auto` installs what a stage needs (rustup toolchains, targets and components; PyPI "
            "and crates.io tools into `tools-dir`); `never` skips the stage with the command"
        ),
    )
    tools_dir: str = field(
        default="",
        metadata=_doc(
            "nox-cargo's own tool directory for PyPI and crates.io tools; empty = the user "
            "cache dir (~/.cache/nox-cargo/tools, ~/Library/Caches/..., %LOCALAPPDATA%\\...)"
        ),
    )
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
                raise Invalid("targets", f"target id {target.id!r} is defined twice")
            seen.add(target.id)

    @property
    def target_registry(self) -> tuple[Target, ...]:
        """Default targets (unless disabled), overridden or extended by `[[targets]]`."""
        registry: dict[str, Target] = {}
        if self.build.default_targets:
            registry.update((t.id, t) for t in DEFAULT_TARGETS)
        registry.update((t.id, t) for t in self.targets)
        return tuple(registry.values())

    def check_references(self) -> None:
        """Checks across sections, for the pipeline that `register()` defines: every
        `docker.platforms` target is in the target registry.

        Not run on every load: a session's `-c build.default-targets=false` narrows one run, and
        the stage that then misses a target says so itself (Unknown target id ...).
        """
        known = {t.id for t in self.target_registry}
        for platform, target_id in self.docker.platforms.items():
            if target_id not in known:
                raise ConfigError(
                    f"`docker.platforms` maps {platform} to target {target_id!r}, which is not in "
                    f"the target registry ({', '.join(sorted(known))}).",
                    "use one of those ids, or add the target as a "
                    "[[tool.nox-cargo.targets]] table.",
                )


# --------------------------------------------------------------------------------------------
# Walking the tree: the TOML spelling of a field, a class's fields with their types, sections.
# --------------------------------------------------------------------------------------------


def toml_key(name: str) -> str:
    return name.replace("_", "-")


@functools.cache
def fields(cls: type) -> dict[str, tuple[dataclasses.Field[Any], Any]]:
    """A section's fields with their resolved types (once per class: get_type_hints evaluates
    every annotation, and a config load walks each section several times)."""
    hints = typing.get_type_hints(cls)
    return {f.name: (f, hints[f.name]) for f in dataclasses.fields(cls)}


def is_section(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)
