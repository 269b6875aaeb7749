"""The pipeline's configuration: one frozen dataclass tree fed by layered sources.

- model.py: the dataclass tree, its defaults and its checks (also those across sections);
- convert.py: one converter per field type, the unknown-key check, building a section;
- sources.py: the layers (file, `NOX_CARGO_*` environment, `-c key=value`) and their assembly;
- reference.py: the configuration reference generated from the model (`python -m nox_cargo.config`).
"""

from __future__ import annotations

from nox_cargo.config.model import (
    BENCH_CASE_NAME,
    DEFAULT_DOCKER_PLATFORMS,
    DEFAULT_TARGETS,
    PLATFORM,
    TARGET_ID,
    TRIPLE,
    WASM_TRIPLE,
    BenchCase,
    BenchConfig,
    BuildConfig,
    ByteSize,
    Config,
    DockerConfig,
    LintConfig,
    PackageConfig,
    Target,
    TestConfig,
    WasmConfig,
    WasmModule,
    toml_key,
)
from nox_cargo.config.reference import reference, reference_markdown
from nox_cargo.config.sources import (
    CARGO_TABLE,
    ENV_PREFIX,
    PYPROJECT_TABLE,
    ConfigSource,
    Layer,
    Leaf,
    assemble,
    cargo_source,
    env_layer,
    env_name,
    file_layer,
    leaves,
    load,
    override_layer,
    pyproject_source,
    read_toml,
    table_for,
)

__all__ = [
    "BENCH_CASE_NAME",
    "CARGO_TABLE",
    "DEFAULT_DOCKER_PLATFORMS",
    "DEFAULT_TARGETS",
    "ENV_PREFIX",
    "PLATFORM",
    "PYPROJECT_TABLE",
    "TARGET_ID",
    "TRIPLE",
    "WASM_TRIPLE",
    "BenchCase",
    "BenchConfig",
    "BuildConfig",
    "ByteSize",
    "Config",
    "ConfigSource",
    "DockerConfig",
    "Layer",
    "Leaf",
    "LintConfig",
    "PackageConfig",
    "Target",
    "TestConfig",
    "WasmConfig",
    "WasmModule",
    "assemble",
    "cargo_source",
    "env_layer",
    "env_name",
    "file_layer",
    "leaves",
    "load",
    "override_layer",
    "pyproject_source",
    "read_toml",
    "reference",
    "reference_markdown",
    "table_for",
    "toml_key",
]
