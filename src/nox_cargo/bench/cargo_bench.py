"""`cargo bench` in the bench stage: criterion's micro benchmarks beside the whole-program cases.

- Which: the `[[bench]]` targets of members that have criterion or divan as dev-dependency
  (`bench.cargo-bench = "auto"`), or of every member (`"always"`); `"never"` skips it. Each member
  is one `cargo bench -p <member> --bench <target>… <bench.cargo-bench-args>` with the project's
  compiler (the same `cargo_for` the test stage uses), output shown.
- Where the results go: `CRITERION_HOME` is a directory of this run (emptied first), so only
  benchmarks of this run are read, never a stale one from an earlier `cargo bench`.
- divan: its results are printed, not collected. divan 0.1 has no machine-readable output
  (nvzqz/divan#10) and reports no interval or samples, so it could not be gated honestly.
- `--base REF`: base and head benchmarks interleaved in rounds (micro_interleave); the base's
  executables are built in a worktree of REF and cached by commit + compiler + arguments.
- `--baseline FILE`: this run's estimates against the saved ones (cross-run).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nox_cargo.bench import criterion, micro_interleave
from nox_cargo.bench.results import MicroEstimate, MicroResult
from nox_cargo.build.compiler import Cargo, cargo_for
from nox_cargo.console import get_console
from nox_cargo.errors import NoxCargoError
from nox_cargo.process import run
from nox_cargo.project import Project
from nox_cargo.workspace import Workspace

FRAMEWORKS = ("criterion", "divan")


@dataclass(frozen=True)
class Selection:
    """What `cargo bench` runs: bench targets per member, or why nothing runs."""

    targets: dict[str, tuple[str, ...]]  # member -> its [[bench]] targets
    reason: str = ""  # why nothing runs (empty when something does)
    divan: tuple[str, ...] = ()  # members depending on divan


def select(workspace: Workspace, mode: str) -> Selection:
    if mode == "never":
        return Selection({}, "bench.cargo-bench = never")
    members = [p for p in workspace.members if p.benches]
    if mode == "auto":
        members = [p for p in members if set(FRAMEWORKS) & set(p.dev_dependencies)]
    targets = {p.name: p.benches for p in members}
    divan = tuple(p.name for p in members if "divan" in p.dev_dependencies)
    if not targets:
        if mode == "always":
            raise NoxCargoError(
                "bench.cargo-bench = always, but no member of the workspace has a `[[bench]]` "
                "target.",
                "add a criterion benchmark (benches/*.rs with a `[[bench]]` table, harness = "
                'false), or set `cargo-bench = "auto"` in [tool.nox-cargo.bench].',
            )
        return Selection({}, "no member has a [[bench]] target with criterion or divan")
    return Selection(targets, divan=divan)


def commands(project: Project, cargo: Cargo, selection: Selection) -> list[list[str]]:
    args = list(project.config.bench.cargo_bench_args)
    out = []
    for member, benches in selection.targets.items():
        picks = [a for b in benches for a in ("--bench", b)]
        out.append([*cargo.prefix, "bench", *project.locked, "-p", member, *picks, *args])
    return out


def run_benches(
    project: Project,
    cargo: Cargo,
    selection: Selection,
    workspace: Path,
    home: Path,
    target_dir: Path | None = None,
) -> dict[str, MicroEstimate]:
    """Run the selected benches in `workspace` with criterion's home at `home` (emptied first)."""
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    env = {**cargo.env, "CRITERION_HOME": str(home)}
    if target_dir is not None:
        env["CARGO_TARGET_DIR"] = str(target_dir)
    for argv in commands(project, cargo, selection):
        run(
            argv,
            cwd=workspace,
            env=env,
            hint="`cargo bench` failed (its output is above); fix the benchmark, or set "
            '`cargo-bench = "never"` in [tool.nox-cargo.bench] to leave micro benchmarks out.',
        )
    fix = (
        "re-run the stage (criterion writes these files afresh on every run); if the file keeps "
        f"coming out wrong, delete {home} and check the criterion version (0.5 is read)."
    )
    return criterion.read_home(home, fix)


def merge(
    head: dict[str, MicroEstimate] | None, base: dict[str, MicroEstimate] | None
) -> tuple[MicroResult, ...]:
    """One result per id of either side (a side without it holds None)."""
    head, base = head or {}, base or {}
    ids = sorted(set(head) | set(base))
    return tuple(MicroResult(i, "criterion", head.get(i), base.get(i)) for i in ids)


@dataclass(frozen=True)
class MicroRun:
    ran: bool
    note: str  # what ran, or why nothing did
    results: tuple[MicroResult, ...] = ()


def micro_results(project: Project, base_ref: str | None) -> MicroRun:
    """Run `cargo bench` on the head (and the base with `--base`) and merge the estimates."""
    console = get_console()
    config = project.config.bench
    selection = select(project.workspace, config.cargo_bench)
    if not selection.targets:
        console.info(f"cargo bench: not run ({selection.reason})")
        return MicroRun(False, selection.reason)
    cargo = cargo_for(project, (), "bench (cargo bench)")
    if selection.divan:
        console.warn(
            f"cargo bench: divan's results ({', '.join(selection.divan)}) are shown but not "
            "collected: divan 0.1 has no machine-readable output and reports no interval."
        )
    if base_ref:
        return _interleaved(project, cargo, selection, base_ref)
    console.info(f"cargo bench with {cargo.describe()}")
    home = project.report_dir / "bench" / "criterion" / "head"
    head = run_benches(project, cargo, selection, project.workspace.root, home)
    if not head and config.cargo_bench == "always":
        raise NoxCargoError(
            f"`cargo bench` ran but wrote no criterion results (nothing under {home}).",
            "criterion benchmarks need `harness = false` and `criterion_main!`; divan's are not "
            "collected. Do not pass --discard-baseline or --load-baseline in cargo-bench-args.",
        )
    ran = ", ".join(f"{m} ({', '.join(b)})" for m, b in selection.targets.items())
    return MicroRun(True, f"ran {ran}", merge(head, None))


def _interleaved(project: Project, cargo: Cargo, selection: Selection, base_ref: str) -> MicroRun:
    """`--base`: both sides' executables, every benchmark in rounds, base and head back to back."""
    config = project.config.bench
    console = get_console()
    workspace = project.workspace
    # The base first: it builds into the head's target dir, where cargo gives a workspace
    # crate the same file name whatever its directory (the hash is of the path relative to the
    # workspace), so its executables are copied to the cache before the head's build replaces
    # them; building the head last leaves the head's own executables in place.
    commit, base, built = micro_interleave.base_executables(
        project, cargo, selection.targets, base_ref, config.cargo_bench
    )
    console.info(
        f"cargo bench: the base's benchmarks ({commit[:12]}) "
        + ("built in a worktree" if built else "from the cache (commit, compiler, arguments)")
    )
    console.info(f"cargo bench: building the head's benchmarks with {cargo.describe()}")
    head = micro_interleave.build(
        project, cargo, selection.targets, workspace.root, workspace.target_dir
    )
    results = micro_interleave.interleaved(
        project, head, base, config.cargo_bench_rounds, config.seed
    )
    note = (
        f"interleaved with base {commit[:12]}: {config.cargo_bench_rounds} rounds per benchmark, "
        "base and head back to back in random order"
    )
    return MicroRun(True, note, results)


def from_saved(run: Sequence[MicroResult], saved: Sequence[MicroResult]) -> tuple[MicroResult, ...]:
    """This run's micro results against a saved result's heads (`--baseline`)."""
    head = {m.id: m.head for m in run if m.head is not None}
    base = {m.id: m.head for m in saved if m.head is not None}
    return merge(head, base)
