"""The stages of the pipeline, in order: the one place a stage is named and described.

Plain `nox` runs the stages whose `in_pipeline` is true, in this order; `nox -l`, every
`-- --help`, `nox -s doctor` and the generated workflow matrices are derived from these
declarations (see nox_cargo.stage). A noxfile can add its own: `register(stages=(*STAGES, mine))`.
"""

from __future__ import annotations

from pathlib import Path

from nox_cargo.config import Config
from nox_cargo.sessions import bench, build, cargo, docker, package, wasm
from nox_cargo.stage import CIMatrix, Option, Param, Stage, lazy
from nox_cargo.stage_inputs import (
    BENCH,
    BUILD,
    CHECKSUMS,
    DOCKER,
    IMAGE,
    INSTALLERS,
    LINT,
    PACKAGE,
    TEST,
    VERIFY,
    WASM,
)


def _target_ids(config: Config) -> list[str]:
    return [t.id for t in config.target_registry]


STAGES: tuple[Stage, ...] = (
    Stage(
        name="lint",
        summary="Lint the workspace with cargo fmt, clippy and check",
        param=Param.fixed("step", cargo.LINT_DOCS),
        options=(
            Option(("--fix",), "apply fixes (fmt, clippy) instead of checking", cacheable=False),
        ),
        run=lazy("nox_cargo.sessions.cargo:run_lint"),
        inputs=LINT,
        doctor=(lazy("nox_cargo.doctor:rust_rows"),),
        ci=CIMatrix(),
        needs=lazy("nox_cargo.provision.stages:lint_needs"),
    ),
    Stage(
        name="test",
        summary="Run the workspace tests on the default toolchain and on the MSRV",
        param=Param.fixed("toolchain", cargo.TEST_DOCS),
        passthrough="passed to nextest / cargo test",
        run=lazy("nox_cargo.sessions.cargo:run_test"),
        inputs=TEST,
        doctor=(lazy("nox_cargo.doctor:msrv_rows"),),
        ci=CIMatrix(lazy("nox_cargo.github.matrix:msrv_extras")),
        needs=lazy("nox_cargo.provision.stages:test_needs"),
    ),
    Stage(
        name="build",
        summary="Release binaries for every target of the registry",
        param=Param("target", _target_ids, build.describe),
        options=(
            Option(
                ("--dry-run",),
                "print the strategy, commands and environment without running them",
                cacheable=False,
            ),
        ),
        run=lazy("nox_cargo.sessions.build:run"),
        inputs=BUILD,
        doctor=(lazy("nox_cargo.build.builder:target_rows"),),
        ci=CIMatrix(lazy("nox_cargo.github.matrix:target_extras")),
        needs=lazy("nox_cargo.provision.stages:build_needs"),
    ),
    Stage(
        name="wasm",
        summary="Build the wasm module, gate its size and smoke-run it under wasmtime",
        param=Param("target", lambda config: config.wasm.targets, wasm.describe),
        run=lazy("nox_cargo.sessions.wasm:run"),
        inputs=WASM,
        doctor=(lazy("nox_cargo.doctor:wasm_rows"), lazy("nox_cargo.wasm.module:wasm_stage_rows")),
        ci=CIMatrix(),
        needs=lazy("nox_cargo.provision.stages:wasm_needs"),
    ),
    Stage(
        name="bench",
        summary="Benchmark the release binary; `-- --base REF` gates it against REF, interleaved.",
        options=(
            Option(
                ("--base",),
                "git ref to build in a worktree and measure interleaved with the head (reliable)",
                metavar="REF",
                cacheable=False,
            ),
            Option(
                ("--baseline",),
                "compare with a result saved by --save (cross-run: less reliable than --base)",
                metavar="FILE",
                type=Path,
                cacheable=False,
            ),
            Option(
                ("--save",),
                "append this result to a series (JSON Lines; a .json file holds one result) "
                "and show its trend",
                metavar="FILE",
                type=Path,
                cacheable=False,
            ),
            Option(
                ("--history",),
                "show the trend of a saved series with this run as its last result, and apply "
                "its alert rule",
                metavar="FILE",
                type=Path,
                cacheable=False,
            ),
            Option(
                ("--compare",),
                "also measure CMD (shell words, not run by a shell; {input} allowed) in every "
                "latency case, interleaved with the binary; reported, never gated; repeatable",
                metavar="CMD",
                cacheable=False,
                repeat=True,
            ),
        ),
        requires=bench.requires,
        run=lazy("nox_cargo.sessions.bench:run"),
        inputs=BENCH,
        doctor=(lazy("nox_cargo.bench.doctor_rows:bench_rows"),),
    ),
    Stage(
        name="package",
        summary="Archive a target's built binary with README, LICENSE, CHANGELOG and checksums",
        param=Param("target", _target_ids),
        requires=package.requires,
        run=lazy("nox_cargo.sessions.package:package"),
        inputs=PACKAGE,
    ),
    Stage(
        name="installers",
        summary="Write install.sh / install.ps1 that fetch this machine's archive and check "
        "SHA256SUMS.",
        run=lazy("nox_cargo.sessions.package:write_installers"),
        inputs=INSTALLERS,
    ),
    Stage(
        name="checksums",
        summary="Rewrite dist/SHA256SUMS from every archive in dist/ (a release job's gathered "
        "files).",
        run=lazy("nox_cargo.sessions.package:write_checksums"),
        inputs=CHECKSUMS,
    ),
    Stage(
        name="verify",
        summary="Re-hash dist/ against SHA256SUMS and sidecars, and check every archive's "
        "contents.",
        run=lazy("nox_cargo.sessions.package:verify_dist"),
        inputs=VERIFY,
    ),
    Stage(
        name="docker",
        summary="Build, check and tag the FROM scratch image of the release binary",
        param=Param("platform", lambda config: list(config.docker.platforms)),
        options=(
            Option(
                ("--push",),
                "after the checks pass, push the tags to `docker.registry` (CI)",
                cacheable=False,
            ),
        ),
        requires=docker.requires,
        run=lazy("nox_cargo.sessions.docker:run"),
        inputs=DOCKER,
        doctor=(
            lazy("nox_cargo.doctor:docker_rows"),
            lazy("nox_cargo.docker.doctor_rows:docker_stage_rows"),
        ),
        ci=CIMatrix(lazy("nox_cargo.github.matrix:docker_extras")),
    ),
    Stage(
        name="image",
        summary="Write the multi-arch release image index, check every platform, push with skopeo.",
        options=(
            Option(
                ("--push",),
                "after every check passes, push the index with skopeo to each `docker.tags` tag",
                cacheable=False,
            ),
        ),
        requires=docker.image_requires,
        run=lazy("nox_cargo.sessions.docker:run_image"),
        inputs=IMAGE,
    ),
    Stage(
        name="doctor",
        summary="Show what this machine has for each stage (toolchains, targets, Docker, wasm "
        "tools).",
        run=lazy("nox_cargo.sessions.doctor:show"),
        in_pipeline=False,
    ),
    Stage(
        name="provision",
        summary="Install the toolchains, targets, components and tools the pipeline needs, in one "
        "go.",
        run=lazy("nox_cargo.sessions.provision:run"),
        in_pipeline=False,
    ),
    Stage(
        name="workflows",
        summary="Check the GitHub workflows against the registry and sessions (`-- --write` "
        "fixes).",
        options=(
            Option(
                ("--check",),
                "fail with a diff when a generated block drifted (default)",
                group="mode",
            ),
            Option(("--write",), "regenerate the blocks in place", group="mode"),
            Option(
                ("--matrix",),
                "print one matrix as JSON (build, release, lint, ...)",
                metavar="NAME",
                group="mode",
            ),
            Option(
                ("--rehearse",),
                "run the Linux jobs of ci.yml and release.yml here as a runner would (all, or "
                "JOB: a file, a job id, `file:job`, an entry such as `lint(step=fmt)`; several "
                "separated by commas, `-JOB` leaves one out)",
                metavar="JOB",
                nargs="?",
                const="",
                group="mode",
            ),
            Option(
                ("--event",),
                "the event a rehearsal pretends to be: push (to main, the default) or pull_request",
                metavar="EVENT",
                default="push",
            ),
            Option(("--actionlint",), "also run actionlint"),
        ),
        run=lazy("nox_cargo.sessions.workflows:run_workflows"),
        in_pipeline=False,
    ),
)
