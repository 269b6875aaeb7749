"""`wasm(target=<triple>)`: build the module, optimize it, gate its size, smoke-run it."""

from __future__ import annotations

import argparse

from nox_cargo.config import Config
from nox_cargo.project import Project


def describe(config: Config, triple: str) -> str:
    return f"Build, wasm-opt, size-gate and smoke-run the {triple} module under wasmtime."


def run(project: Project, args: argparse.Namespace, triple: str) -> object:
    from nox_cargo.wasm import module

    return module.run_wasm(project, triple)
