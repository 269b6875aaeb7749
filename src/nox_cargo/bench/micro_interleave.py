"""`--base` for micro benchmarks: base and head criterion benchmarks run back to back, interleaved.

Two `cargo bench` runs minutes apart are not comparable on a shared machine: here, one ran 35 %
faster than the other on unchanged code (see docs/bench.md). So the bench executables of both
sides are built (`cargo bench --no-run`; the base's in a worktree, cached by commit + compiler +
cargo arguments, so a second gated run does not build it again), and every benchmark runs
`bench.cargo-bench-rounds` times on each side, the base and head run of a round back to back in
a seeded random order (`<exe> --bench --exact <id> <harness args>`, each with a criterion home of
its own). A round's base and head see the same load; rounds are the unit of the comparison.

The executables run from the head's package directory (as `cargo bench` does), the base's too:
its worktree is gone by then.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nox_cargo.bench import criterion
from nox_cargo.bench.baseref import cache_key, from_base
from nox_cargo.bench.results import BaselineError, MicroEstimate, MicroResult
from nox_cargo.build.compiler import Cargo
from nox_cargo.console import get_console
from nox_cargo.errors import NoxCargoError
from nox_cargo.fsutil import atomic_copy, atomic_write_text, ensure_dir
from nox_cargo.process import run
from nox_cargo.project import Project
from nox_cargo.workspace import load_workspace

LISTED = ": benchmark"  # criterion's `--list` line: "<id>: benchmark"


@dataclass(frozen=True)
class Executable:
    member: str
    bench: str
    path: Path


def split_args(args: Sequence[str]) -> tuple[list[str], list[str]]:
    """(cargo's arguments, the harness's: what follows `--`)."""
    if "--" in args:
        at = list(args).index("--")
        return list(args[:at]), list(args[at + 1 :])
    return list(args), []


def parse_artifacts(stdout: str, benches: Sequence[str]) -> dict[str, Path]:
    """Bench executables from `cargo --message-format=json` lines, by target name."""
    found: dict[str, Path] = {}
    for line in stdout.splitlines():
        if not line.startswith("{"):
            continue
        message = json.loads(line)
        target = message.get("target") or {}
        if (
            message.get("reason") == "compiler-artifact"
            and "bench" in target.get("kind", [])
            and target.get("name") in benches
            and message.get("executable")
        ):
            found[target["name"]] = Path(message["executable"])
    return found


def build(
    project: Project,
    cargo: Cargo,
    targets: dict[str, tuple[str, ...]],
    workspace: Path,
    target_dir: Path,
) -> list[Executable]:
    """`cargo bench --no-run` per member (shown), then the same with JSON messages (instant,
    quiet) for the paths of the executables."""
    cargo_args, _ = split_args(project.config.bench.cargo_bench_args)
    env = {**cargo.env, "CARGO_TARGET_DIR": str(target_dir)}
    out: list[Executable] = []
    for member, benches in targets.items():
        picks = [a for b in benches for a in ("--bench", b)]
        argv = [*cargo.prefix, "bench", *project.locked, "-p", member, *picks, "--no-run"]
        argv += cargo_args
        run(
            argv,
            cwd=workspace,
            env=env,
            hint="the benchmarks do not build; cargo's error is above.",
        )
        done = run(
            [*argv, "--message-format=json"], cwd=workspace, env=env, capture=True, quiet=True
        )
        found = parse_artifacts(done.stdout, benches)
        missing = [b for b in benches if b not in found]
        if missing:
            raise NoxCargoError(
                f"`cargo bench --no-run` in {workspace} reported no executable for "
                f"{', '.join(missing)}.",
                "check that these are [[bench]] targets of " + member + ".",
            )
        out.extend(Executable(member, b, found[b]) for b in benches)
    return out


def _manifest(executables: Sequence[Executable], directory: Path, manifest: Path) -> Path:
    """Copy the executables into `directory`; list them in `manifest` (which from_base then
    copies into `directory`, last)."""
    ensure_dir(directory)
    records = []
    for exe in executables:
        name = f"{exe.member}--{exe.bench}"
        atomic_copy(exe.path, directory / name)
        records.append({"member": exe.member, "bench": exe.bench, "file": name})
    atomic_write_text(manifest, json.dumps(records, indent=1) + "\n")
    return manifest


def load_manifest(path: Path) -> list[Executable]:
    fix = f"delete {path.parent}; the next gated run builds the base's benchmarks again."
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
        out = [
            Executable(str(r["member"]), str(r["bench"]), path.parent / str(r["file"]))
            for r in records
        ]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BaselineError(
            f"The cached base benchmarks {path} are unreadable ({exc}).", fix
        ) from None
    except (KeyError, TypeError) as exc:
        raise BaselineError(
            f"The cached base benchmarks {path} have the wrong shape ({exc!r}).", fix
        ) from None
    for exe in out:
        if not exe.path.is_file():
            raise BaselineError(f"The cached base benchmark {exe.path} is missing.", fix)
    return out


def base_executables(
    project: Project, cargo: Cargo, targets: dict[str, tuple[str, ...]], base_ref: str, mode: str
) -> tuple[str, list[Executable], bool]:
    """(commit, the base's executables, built now?) — cached by commit + compiler + arguments."""
    from nox_cargo.bench.cargo_bench import select  # the selection rule, applied to the base

    bench_dir = project.report_dir / "bench"
    key = json.dumps([cargo.describe(), cargo.toolchain.version_line, sorted(targets.items()),
                      list(project.config.bench.cargo_bench_args)])  # fmt: skip
    built = False

    def cached(commit: str) -> Path:
        entry = f"{commit[:12]}-{cache_key(commit, key)}"
        return bench_dir / "base-micro" / entry / "manifest.json"

    def make(tree: Path, manifest: Path) -> Path:
        nonlocal built
        built = True
        # The base's own bench targets: a benchmark the head added is not in the base.
        workspace = load_workspace(tree)
        has_benches = any(p.benches for p in workspace.members)
        chosen = select(workspace, mode).targets if has_benches else {}
        # The head's target dir: dependencies are compiled once. The base's executables land
        # where the head's do (same names), so they are copied out at once, and the head is
        # built after the base (cargo_bench._interleaved).
        exes = build(project, cargo, chosen, tree, project.workspace.target_dir)
        return _manifest(exes, manifest.parent, tree / "nox-cargo-base-micro.json")

    commit, path = from_base(project, base_ref, cached, make)
    return commit, load_manifest(path), built


def list_ids(exe: Path, cwd: Path) -> list[str]:
    done = run([exe, "--bench", "--list"], cwd=cwd, capture=True, quiet=True)
    return [line[: -len(LISTED)] for line in done.stdout.splitlines() if line.endswith(LISTED)]


def run_one(
    exe: Path, bench_id: str, harness: Sequence[str], cwd: Path, home: Path
) -> MicroEstimate:
    """One criterion benchmark, alone, with its own criterion home."""
    if home.exists():
        shutil.rmtree(home)
    run(
        [exe, "--bench", "--exact", bench_id, *harness],
        cwd=cwd,
        env={"CRITERION_HOME": str(home)},
        hint="the benchmark executable failed (its output is above).",
    )
    found = criterion.read_home(home, f"re-run the stage; criterion wrote {home} just now.")
    if bench_id not in found:
        raise NoxCargoError(
            f"`{exe} --bench --exact {bench_id}` wrote no result for {bench_id!r} under {home}.",
            "do not pass --discard-baseline, --load-baseline or a filter in cargo-bench-args.",
        )
    return found[bench_id]


def interleaved(
    project: Project,
    head: Sequence[Executable],
    base: Sequence[Executable],
    rounds: int,
    seed: int,
) -> tuple[MicroResult, ...]:
    """Every benchmark of both sides, `rounds` times, base and head back to back."""
    _, harness = split_args(project.config.bench.cargo_bench_args)
    home = project.report_dir / "bench" / "criterion" / "rounds"
    cwd_of = {p.name: p.manifest_path.parent for p in project.workspace.members}
    head_by = {(e.member, e.bench): e for e in head}
    base_by = {(e.member, e.bench): e for e in base}
    rng = random.Random(seed)
    console = get_console()
    results: list[MicroResult] = []
    for target in sorted(set(head_by) | set(base_by)):
        cwd = cwd_of.get(target[0], project.workspace.root)
        sides = {
            label: (exe.path, set(list_ids(exe.path, cwd)))
            for label, exe in (("base", base_by.get(target)), ("head", head_by.get(target)))
            if exe is not None
        }
        ids = sorted(set().union(*(s[1] for s in sides.values())))
        for bench_id in ids:
            have = [label for label, (_, listed) in sides.items() if bench_id in listed]
            if len(have) == 1:
                only = run_one(sides[have[0]][0], bench_id, harness, cwd, home / have[0])
                results.append(
                    MicroResult(bench_id, "criterion", only if have == ["head"] else None,
                                only if have == ["base"] else None)
                )  # fmt: skip
                continue
            pairs = []
            for k in range(rounds):
                order = rng.sample(["base", "head"], 2)
                console.info(f"micro {bench_id}: round {k + 1}/{rounds}, {' then '.join(order)}")
                got = {
                    label: run_one(sides[label][0], bench_id, harness, cwd, home / f"{label}-{k}")
                    for label in order
                }
                pairs.append((got["base"], got["head"]))
            results.append(
                MicroResult(bench_id, "criterion", pairs[-1][1], pairs[-1][0], tuple(pairs))
            )
    shutil.rmtree(home, ignore_errors=True)
    return tuple(sorted(results, key=lambda r: r.id))
