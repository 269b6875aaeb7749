"""The `wasm(target=<triple>)` sessions: build, optimize, size-gate and smoke-run the module."""

from __future__ import annotations

import argparse

import nox

from nox_cargo.project import Project
from nox_cargo.sessions.runner import Define, define_matrix, parser, run_stage
from nox_cargo.wasm import module as wasm_module


def define_wasm(project: Project) -> None:
    """Register one `wasm(target=…)` session per configured wasm triple."""

    def make(triple: str) -> Define:
        name = f"wasm(target={triple})"
        p = parser(
            name,
            "Build the wasm module, optimize it with wasm-opt, gate its raw/gzip/brotli size "
            "against the budgets, and check its output under wasmtime against the native binary.",
        )

        def body(session: nox.Session) -> None:
            def stage_body(proj: Project, args: argparse.Namespace) -> None:
                wasm_module.run_wasm(proj, triple)

            run_stage(session, name, stage_body, p, project.root)

        return body

    define_matrix(
        "wasm",
        "target",
        project.config.wasm.targets,
        "Build the wasm module, gate its size and smoke-run it under wasmtime",
        make,
        describe=lambda triple: (
            f"Build, wasm-opt, size-gate and smoke-run the {triple} module under wasmtime."
        ),
    )
