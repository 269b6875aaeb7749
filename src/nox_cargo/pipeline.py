"""The stages of the pipeline, in order: the one place a stage is named and described.

Plain `nox` runs the stages whose `in_pipeline` is true, in this order; `nox -l`, every
`-- --help`, `nox -s doctor` and the generated workflow matrices are derived from these
declarations (see nox_cargo.stage). A noxfile can add its own: `register(stages=(*STAGES, mine))`.
"""

from __future__ import annotations

from pathlib import Path

from nox_cargo import doctor
from nox_cargo.bench.doctor_rows import bench_rows
from nox_cargo.build.builder import target_rows
from nox_cargo.config import Config
from nox_cargo.docker.doctor_rows import docker_stage_rows
from nox_cargo.github.matrix import docker_extras, msrv_extras, target_extras
from nox_cargo.provision import stages as provision_needs
from nox_cargo.sessions import bench, build, cargo, docker, package, provision, wasm, workflows
from nox_cargo.sessions import doctor as doctor_session
from nox_cargo.stage import CIMatrix, Option, Param, Stage
from nox_cargo.wasm.module import wasm_stage_rows


def _target_ids(config: Config) -> list[str]:
    return [t.id for t in config.target_registry]


STAGES: tuple[Stage, ...] = (
    Stage(
        name="lint",
        summary="Lint the workspace with cargo fmt, clippy and check",
        param=Param.fixed("step", cargo.LINT_DOCS),
        options=(Option(("--fix",), "apply fixes (fmt, clippy) instead of checking"),),
        run=cargo.run_lint,
        doctor=(doctor.rust_rows,),
        ci=CIMatrix(),
        needs=provision_needs.lint_needs,
    ),
    Stage(
        name="test",
        summary="Run the workspace tests on the default toolchain and on the MSRV",
        param=Param.fixed("toolchain", cargo.TEST_DOCS),
        passthrough="passed to nextest / cargo test",
        run=cargo.run_test,
        doctor=(doctor.msrv_rows,),
        ci=CIMatrix(msrv_extras),
        needs=provision_needs.test_needs,
    ),
    Stage(
        name="build",
        summary="Release binaries for every target of the registry",
        param=Param("target", _target_ids, build.describe),
        options=(
            Option(
                ("--dry-run",),
                "print the strategy, commands and environment without running them",
            ),
        ),
        run=build.run,
        doctor=(target_rows,),
        ci=CIMatrix(target_extras),
        needs=provision_needs.build_needs,
    ),
    Stage(
        name="wasm",
        summary="Build the wasm module, gate its size and smoke-run it under wasmtime",
        param=Param("target", lambda config: config.wasm.targets, wasm.describe),
        run=wasm.run,
        doctor=(doctor.wasm_rows, wasm_stage_rows),
        ci=CIMatrix(),
        needs=provision_needs.wasm_needs,
    ),
    Stage(
        name="bench",
        summary="Benchmark the release binary; `-- --base REF` gates it against REF, interleaved.",
        options=(
            Option(
                ("--base",),
                "git ref to build in a worktree and measure interleaved with the head (reliable)",
                metavar="REF",
            ),
            Option(
                ("--baseline",),
                "compare with a result saved by --save (cross-run: less reliable than --base)",
                metavar="FILE",
                type=Path,
            ),
            Option(("--save",), "save this result as a baseline", metavar="FILE", type=Path),
        ),
        requires=bench.requires,
        run=bench.run,
        doctor=(bench_rows,),
    ),
    Stage(
        name="package",
        summary="Archive a target's built binary with README, LICENSE, CHANGELOG and checksums",
        param=Param("target", _target_ids),
        requires=package.requires,
        run=package.package,
    ),
    Stage(
        name="installers",
        summary="Write install.sh / install.ps1 that fetch this machine's archive and check "
        "SHA256SUMS.",
        run=package.write_installers,
    ),
    Stage(
        name="checksums",
        summary="Rewrite dist/SHA256SUMS from every archive in dist/ (a release job's gathered "
        "files).",
        run=package.write_checksums,
    ),
    Stage(
        name="verify",
        summary="Re-hash dist/ against SHA256SUMS and sidecars, and check every archive's "
        "contents.",
        run=package.verify_dist,
    ),
    Stage(
        name="docker",
        summary="Build, check and tag the FROM scratch image of the release binary",
        param=Param("platform", lambda config: list(config.docker.platforms)),
        options=(
            Option(("--push",), "after the checks pass, push the tags to `docker.registry` (CI)"),
        ),
        requires=docker.requires,
        run=docker.run,
        doctor=(doctor.docker_rows, docker_stage_rows),
        ci=CIMatrix(docker_extras),
    ),
    Stage(
        name="image",
        summary="Write the multi-arch release image index, check every platform, push with skopeo.",
        options=(
            Option(
                ("--push",),
                "after every check passes, push the index with skopeo to each `docker.tags` tag",
            ),
        ),
        requires=docker.image_requires,
        run=docker.run_image,
    ),
    Stage(
        name="doctor",
        summary="Show what this machine has for each stage (toolchains, targets, Docker, wasm "
        "tools).",
        run=doctor_session.show,
        in_pipeline=False,
    ),
    Stage(
        name="provision",
        summary="Install the toolchains, targets, components and tools the pipeline needs, in one "
        "go.",
        run=provision.run,
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
            Option(("--actionlint",), "also run actionlint"),
        ),
        run=workflows.run_workflows,
        in_pipeline=False,
    ),
)
