"""`cargo bench` in the bench stage: criterion's micro benchmarks beside the whole-program cases.

- Which: the `[[bench]]` targets of members that have criterion or divan as dev-dependency
  (`bench.cargo-bench = "auto"`), or of every member (`"always"`); `"never"` skips it. Each member
  is one `cargo bench -p <member> --bench <target>… <bench.cargo-bench-args>` with the project's
  compiler (the same `cargo_for` the test stage uses), output shown.
- Where the results go: `CRITERION_HOME` is a directory of this run (emptied first), so only
  benchmarks of this run are read, never a stale one from an earlier `cargo bench`.
- divan: its results are printed, not collected. divan 0.1 has no machine-readable output
  (nvzqz/divan#10) and reports no interval or samples, so it could not be gated honestly.
- `--base REF`: the same command in a worktree of REF (baseref.from_base), cached by commit +
  compiler + command, so a second gated run against the same base does not re-run its benches.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from nox_cargo.bench import criterion
from nox_cargo.bench.baseref import cache_key, from_base
from nox_cargo.bench.results import BaselineError, MicroEstimate, MicroResult, parse_estimate
from nox_cargo.build.compiler import Cargo, cargo_for
from nox_cargo.console import get_console
from nox_cargo.errors import NoxCargoError
from nox_cargo.fsutil import atomic_write_text
from nox_cargo.process import run
from nox_cargo.project import Project
from nox_cargo.workspace import Workspace, load_workspace

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


def _key(project: Project, cargo: Cargo, selection: Selection) -> str:
    return json.dumps(
        [
            cargo.describe(),
            cargo.toolchain.version_line,
            [a[len(cargo.prefix) :] for a in commands(project, cargo, selection)],
        ]
    )


def _dump(estimates: dict[str, MicroEstimate]) -> str:
    return json.dumps({k: asdict(v) for k, v in estimates.items()}, indent=1) + "\n"


def load_cached(path: Path) -> dict[str, MicroEstimate]:
    fix = f"delete {path}; the next gated run runs the base's benchmarks again."
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        out = {}
        for key, value in document.items():
            estimate = parse_estimate(value)
            if estimate is None:
                raise ValueError(f"{key!r} has no estimate")
            out[str(key)] = estimate
        return out
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BaselineError(
            f"The cached base micro benchmark results {path} are unreadable ({exc}).", fix
        ) from None
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise BaselineError(
            f"The cached base micro benchmark results {path} have the wrong shape ({exc!r}).", fix
        ) from None


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
    bench_dir = project.report_dir / "bench"
    base: dict[str, MicroEstimate] | None = None
    if base_ref:
        key = _key(project, cargo, selection)

        def cached(commit: str) -> Path:
            return bench_dir / "base-micro" / f"{commit[:12]}-{cache_key(commit, key)}.json"

        def make(tree: Path) -> Path:
            # The base's own bench targets: a benchmark added by the head is not in the base.
            base_workspace = load_workspace(tree)
            chosen = Selection({}, "the base has no [[bench]] target")
            if any(p.benches for p in base_workspace.members):
                chosen = select(base_workspace, config.cargo_bench)
            estimates = run_benches(
                project,
                cargo,
                chosen,
                tree,
                bench_dir / "criterion" / "base",
                # The head's target dir: the base's dependencies are compiled once, its own
                # crates get other hashes (another path) and never replace the head's.
                target_dir=project.workspace.target_dir,
            )
            out = tree / "nox-cargo-base-micro.json"  # inside the worktree: removed with it
            atomic_write_text(out, _dump(estimates))
            return out

        console.info(f"cargo bench: base {base_ref} (cached by commit, compiler and command)")
        commit, path = from_base(project, base_ref, cached, make)
        shutil.rmtree(bench_dir / "criterion" / "base", ignore_errors=True)
        base = load_cached(path)
        console.info(f"cargo bench: base {commit[:12]}: {len(base)} benchmark(s) from {path}")
    console.info(f"cargo bench with {cargo.describe()}")
    head = run_benches(
        project, cargo, selection, project.workspace.root, bench_dir / "criterion" / "head"
    )
    if not head and config.cargo_bench == "always":
        raise NoxCargoError(
            "`cargo bench` ran but wrote no criterion results "
            f"(nothing under {bench_dir / 'criterion' / 'head'}).",
            "criterion benchmarks need `harness = false` and `criterion_main!`; divan's are not "
            "collected. Do not pass --discard-baseline or --load-baseline in cargo-bench-args.",
        )
    ran = ", ".join(f"{m} ({', '.join(b)})" for m, b in selection.targets.items())
    return MicroRun(True, f"ran {ran}", merge(head, base))


def from_saved(run: Sequence[MicroResult], saved: Sequence[MicroResult]) -> tuple[MicroResult, ...]:
    """This run's micro results against a saved result's heads (`--baseline`)."""
    head = {m.id: m.head for m in run if m.head is not None}
    base = {m.id: m.head for m in saved if m.head is not None}
    return merge(head, base)
