"""`nox -s doctor` rows for bench: which build it measures, the launcher's rustc, hyperfine."""

from __future__ import annotations

from collections.abc import Iterable

from nox_cargo.bench.target import bench_target
from nox_cargo.doctor import Probes, Row
from nox_cargo.errors import NoxCargoError
from nox_cargo.manifest import BuildManifest


def bench_rows(facts: Probes) -> Iterable[Row]:
    """The benchmarked target and whether its build exists; what compiles the launcher."""
    project = facts.project
    default = facts.default_toolchain
    try:
        target_id = bench_target(project.config, default.host if default else None)
    except NoxCargoError as exc:
        yield Row("bench", "target", False, exc.message, exc.hint or "")
        return
    try:
        manifest = BuildManifest.load(project.dist_dir, target_id)
    except NoxCargoError:
        yield Row(
            "bench",
            "target",
            None,
            f"{target_id}: not built yet (`nox -s bench` builds it first)",
        )
        launcher_rustc = default.describe() if default else None
    else:
        yield Row("bench", "target", True, f"{target_id}: built by {manifest.toolchain}")
        launcher_rustc = manifest.toolchain
    yield Row(
        "bench",
        "launcher rustc",
        launcher_rustc is not None,
        launcher_rustc or "no rustc to compile the measurement launcher",
        "" if launcher_rustc else "install Rust (https://rustup.rs)",
    )
    hyperfine = facts.which("hyperfine")
    yield Row(
        "bench",
        "hyperfine",
        None if hyperfine is None else True,
        hyperfine or "not installed: only benchmarks/startup_vs_hyperfine.py needs it",
        "" if hyperfine else "apt-get install hyperfine",
    )
