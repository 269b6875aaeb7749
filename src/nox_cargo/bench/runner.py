"""The bench stage: which binary, which cases, measure, compare, report, gate.

1. The head binary is the one `build(target=<bench.target>)` recorded in its BuildManifest
   (re-checked by sha256); the launcher is compiled by the same toolchain.
2. Optional comparison: `--base REF` builds REF in a temporary worktree with the same settings and
   measures base and head interleaved in random order in the same launcher batches;
   `--baseline FILE` compares against a saved result (cross-run, less reliable).
3. Every input is validated before anything is measured or written: a bad baseline, an unknown
   ref or a failing case leaves every existing file as it was.
4. Outputs under `<report_dir>/bench/`: results.json (every sample), bench.md, bench.svg,
   hyperfine.json, github-action-benchmark-{smaller,bigger}.json; `--save FILE` writes the result
   as a baseline. Any regression raises BenchRegression (non-zero exit) with the failing rows.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from nox_cargo.bench import cargo_bench, chart, exports, inputs, micro_compare, report, sizes
from nox_cargo.bench.baseref import BaseBuilder, StageBuilder, build_base
from nox_cargo.bench.compare import Gate, Row, evaluate, regressions
from nox_cargo.bench.fingerprint import fingerprint
from nox_cargo.bench.launcher import build_launcher, cpu_count
from nox_cargo.bench.measure import (
    PreparedCase,
    Sampling,
    Side,
    expected_runs,
    measure,
)
from nox_cargo.bench.results import BenchRun, CaseResult, SizeEntry, Subject, load_baseline
from nox_cargo.bench.target import bench_target as bench_target  # noqa: PLC0414 (re-export)
from nox_cargo.build import toolchain as tc
from nox_cargo.build.targets import host_triple_guess
from nox_cargo.config import BenchCase, BenchConfig
from nox_cargo.console import get_console
from nox_cargo.errors import NoxCargoError, UsageError
from nox_cargo.fsutil import atomic_write_text
from nox_cargo.manifest import BuildManifest, sha256_file
from nox_cargo.project import Project


class BenchRegression(NoxCargoError):
    """At least one metric regressed."""


# -- which target, binary and cases ------------------------------------------------------------


def runtime_host(project: Project) -> str:
    default = tc.default_toolchain(tc.discover(project.environ), project.environ)
    return default.host if default else host_triple_guess()


def default_cases(smoke_args: Sequence[str]) -> tuple[BenchCase, ...]:
    return (
        BenchCase(name="startup", args=tuple(smoke_args)),
        BenchCase(name="invocations", args=tuple(smoke_args), mode="throughput", invocations=100),
    )


def prepare_cases(cases: Sequence[BenchCase], input_dir: Path, seed: int) -> list[PreparedCase]:
    prepared = []
    for case in cases:
        path: Path | None = None
        if case.input_kind != "none":
            get_console().info(
                f"case {case.name}: input {case.input_kind}, {case.input_size.human()} "
                f"(generated once, seed {seed})"
            )
            path = inputs.input_file(input_dir, case.input_kind, int(case.input_size), seed)
        args = tuple(a.replace("{input}", str(path)) if path else a for a in case.args)
        prepared.append(
            PreparedCase(
                name=case.name,
                mode=case.mode,
                args=args,
                template_args=case.args,
                stdin=path if case.stdin else None,
                input_bytes=path.stat().st_size if path else 0,
                invocations=case.invocations,
            )
        )
    return prepared


def sampling_of(config: BenchConfig) -> Sampling:
    return Sampling(
        warmup=config.warmup,
        min_runs=config.min_runs,
        max_runs=config.max_runs,
        max_seconds=config.max_seconds,
        run_timeout=config.run_timeout,
        target_half_width=config.target_ci_percent / 100,
        seed=config.seed,
    )


# -- measuring ---------------------------------------------------------------------------------


def measure_cases(
    launcher: Path,
    cases: Sequence[PreparedCase],
    sides: Sequence[Side],
    sampling: Sampling,
    workdir: Path,
) -> list[CaseResult]:
    """Measure every case for every side (base first when there are two), with progress bars."""
    results = []
    console = get_console()
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("runs"),
        TimeElapsedColumn(),
    )
    # Live bars on a terminal; CI logs get one line per case instead of redraw frames.
    live = console.rich.is_terminal and not console.github
    with Progress(*columns, console=console.rich, transient=False, disable=not live) as progress:
        for case in cases:
            total = expected_runs(case, len(sides), sampling)
            task = progress.add_task(case.name, total=total)
            started = time.monotonic()

            def tick(n: int, task_id: TaskID = task) -> None:
                progress.advance(task_id, n)

            series = measure(launcher, case, sides, sampling, workdir, tick)
            progress.update(task, total=progress.tasks[-1].completed)
            if not live:
                runs = len(next(iter(series[-1].values())))
                console.info(
                    f"case {case.name}: {runs} sample(s) per side in "
                    f"{time.monotonic() - started:.1f} s"
                )
            frozen = [{k: tuple(v) for k, v in s.items()} for s in series]
            results.append(
                CaseResult(
                    name=case.name,
                    mode=case.mode,
                    args=case.template_args,
                    input_bytes=case.input_bytes,
                    invocations=case.invocations,
                    workers=cpu_count(),
                    head=frozen[-1],
                    base=frozen[0] if len(frozen) == 2 else None,
                )
            )
    return results


def with_baseline(run: BenchRun, baseline: BenchRun, path: Path) -> BenchRun:
    """Attach a saved result's head as this run's base, case by case."""
    by_name = {c.name: c for c in baseline.cases}
    cases = []
    for case in run.cases:
        old = by_name.get(case.name)
        shape = (case.mode, case.args, case.input_bytes, case.invocations)
        if old is None or (old.mode, old.args, old.input_bytes, old.invocations) != shape:
            get_console().warn(
                f"case {case.name}: not in the baseline {path} with the same arguments, input "
                "and mode; not compared"
            )
            cases.append(case)
            continue
        cases.append(replace(case, base=old.head))
    ran = run.settings.get("cargo_bench", {}).get("ran", False)
    return replace(
        run,
        cases=tuple(cases),
        micro=cargo_bench.from_saved(run.micro, baseline.micro) if ran else run.micro,
        comparison="baseline",
        base=baseline.head,
        base_fingerprint=baseline.fingerprint,
        base_sizes=baseline.sizes,
        baseline_file=str(path),
    )


# -- the stage ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outputs:
    """The files a run writes in `<report_dir>/bench/` (CI's bench job uploads some of them)."""

    results: Path
    markdown: Path
    chart: Path
    hyperfine: Path
    smaller: Path
    bigger: Path

    @classmethod
    def under(cls, bench_dir: Path) -> Outputs:
        return cls(
            results=bench_dir / "results.json",
            markdown=bench_dir / "bench.md",
            chart=bench_dir / "bench.svg",
            hyperfine=bench_dir / "hyperfine.json",
            smaller=bench_dir / "github-action-benchmark-smaller.json",
            bigger=bench_dir / "github-action-benchmark-bigger.json",
        )


def write_outputs(bench_dir: Path, run: BenchRun, rows: Sequence[Row]) -> Outputs:
    out = Outputs.under(bench_dir)
    run.save(out.results)
    atomic_write_text(out.markdown, report.markdown(run, rows))
    atomic_write_text(out.chart, chart.svg(run))
    atomic_write_text(out.hyperfine, exports.dumps(exports.hyperfine(run)))
    smaller, bigger = exports.github_action_benchmark(rows)
    atomic_write_text(out.smaller, exports.dumps(smaller))
    atomic_write_text(out.bigger, exports.dumps(bigger))
    return out


def run_bench(
    project: Project,
    base_ref: str | None = None,
    baseline_path: Path | None = None,
    save_path: Path | None = None,
    builder: BaseBuilder | None = None,
) -> tuple[BenchRun, list[Row]]:
    """The whole stage; raises BenchRegression when a metric regressed."""
    console = get_console()
    config = project.config.bench
    if base_ref and baseline_path:
        raise UsageError(
            "--base and --baseline are two ways to get a base; give one of them.",
            "use --base REF (measured side by side, reliable) or --baseline FILE.",
        )
    # Inputs first: nothing is measured or written until every one of them is valid.
    baseline = load_baseline(baseline_path) if baseline_path else None
    target_id = bench_target(project.config, None if config.target else runtime_host(project))
    dist = project.dist_dir
    manifest = BuildManifest.load(dist, target_id)
    binaries = list(project.workspace.release_binaries(project.config.binaries))
    binary = config.binary or (binaries[0] if binaries else "")
    head_path = manifest.verified_path(dist, binary)
    artifact = manifest.artifact(binary)
    head = Subject("head", manifest.git_commit, str(head_path), artifact.size, artifact.sha256)
    bench_dir = project.report_dir / "bench"
    sides = [Side("head", head_path)]
    base: Subject | None = None
    if base_ref:
        builder = builder or StageBuilder(project, target_id, binary)
        commit, base_path = build_base(project, base_ref, builder, binary)
        base = Subject(
            "base", commit, str(base_path), base_path.stat().st_size, sha256_file(base_path)
        )
        sides = [Side("base", base_path), Side("head", head_path)]
        console.info(f"base {base_ref} = {commit[:12]}: {base_path}")
    rustc = manifest.toolchain_path or "rustc"
    launcher = build_launcher(rustc, bench_dir / "launcher")
    cases = prepare_cases(
        config.cases or default_cases(project.config.build.smoke_args),
        bench_dir / "inputs",
        config.seed,
    )
    sampling = sampling_of(config)
    console.info(
        f"measuring {binary} of {target_id} ({head_path}); {len(cases)} case(s), "
        f"{'base and head interleaved' if base else 'head only'}"
    )
    results = measure_cases(launcher, cases, sides, sampling, bench_dir / "work")
    micro = cargo_bench.micro_results(project, base_ref)
    binary_size = SizeEntry(
        "binary",
        f"{target_id}/{binary}",
        artifact.size,
        str(BuildManifest.path_for(dist, target_id)),
    )
    run = BenchRun(
        created=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        fingerprint=fingerprint(manifest.toolchain),
        head=head,
        cases=tuple(results),
        sizes=tuple(sizes.collect(dist, binary_size)),
        comparison="interleaved" if base else "none",
        base=base,
        base_fingerprint=fingerprint(manifest.toolchain) if base else None,
        base_sizes=(
            (SizeEntry("binary", f"{target_id}/{binary}", base.size, "base build"),) if base else ()
        ),
        settings={
            **asdict(sampling),
            **{
                k: getattr(config, k)
                for k in (
                    "noise_floor_percent",
                    "threshold_percent",
                    "rss_threshold_percent",
                    "size_threshold_percent",
                )
            },
            "cargo_bench": {"ran": micro.ran, "note": micro.note},
        },
        micro=micro.results,
    )
    if baseline is not None and baseline_path is not None:
        run = with_baseline(run, baseline, baseline_path)
    gate = Gate.from_config(config)
    rows = evaluate(run, gate, seed=config.seed) + micro_compare.rows_of(run, gate, config.seed)
    out = write_outputs(bench_dir, run, rows)
    if save_path is not None:
        run.save(save_path)
        console.info(f"saved this result as a baseline: {save_path}")
    console.table(f"bench: {report.heading(run)}", report.COLUMNS, [report.cells(r) for r in rows])
    markdown = out.markdown.read_text(encoding="utf-8")
    console.summary(markdown)
    console.info(
        f"raw samples: {out.results}; report: {out.markdown}; chart: {out.chart}; exports: "
        f"{out.hyperfine.name}, {out.smaller.name}, {out.bigger.name}"
    )
    failed = regressions(rows)
    if failed:
        raise BenchRegression(
            f"{len(failed)} benchmark metric(s) regressed:\n" + report.regression_markdown(rows),
            f"see {out.markdown} and {out.chart}; if the change is intended, say so in the PR.",
        )
    console.success("no regression")
    return run, rows
