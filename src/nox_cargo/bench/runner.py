"""The bench stage: which binary, which cases, measure, compare, report, gate.

1. The head binary is the one `build(target=<bench.target>)` recorded in its BuildManifest
   (re-checked by sha256); the launcher is compiled by the same toolchain.
2. Optional comparison: `--base REF` builds REF in a temporary worktree with the same settings and
   measures base and head interleaved in random order in the same launcher batches;
   `--baseline FILE` compares against a saved result (cross-run, less reliable).
3. Every input is validated before anything is measured or written: a bad baseline, an unknown
   ref or a failing case leaves every existing file as it was.
4. Outputs under `<report_dir>/bench/`: results.json (every sample), bench.md, bench.svg,
   hyperfine.json, github-action-benchmark-{smaller,bigger}.json; `--save FILE` appends the result
   to a series (bench/series.py), and with a series (`--history`, or `--save`'s) the report shows
   each case's trend and bench-trend.svg, and applies the alert rule (bench/history.py).
   Any regression (or alert, with `bench.fail-on-alert`) raises BenchRegression (non-zero exit).
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

from nox_cargo import git
from nox_cargo.bench import (
    cargo_bench,
    chart,
    exports,
    history,
    micro_compare,
    report,
    series,
    sizes,
    trend_chart,
)
from nox_cargo.bench.baseref import BaseBuilder, StageBuilder, build_base
from nox_cargo.bench.cases import parse_compare, prepare_cases
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
from nox_cargo.bench.results import (
    BenchRun,
    CaseResult,
    ComparedResult,
    SizeEntry,
    Subject,
)
from nox_cargo.bench.staging import fresh_copies
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


def head_label(project: Project, manifest: BuildManifest) -> str:
    """The build's commit, `+dirty.<hash>` when the tree it was built from (the tree now: bench
    runs right after its build) differs from that commit."""
    state = git.tree_state(project.workspace_path)
    return state if state.partition("+")[0] == manifest.git_commit else manifest.git_commit


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
                runs = len(next(iter(series[0].values())))
                console.info(
                    f"case {case.name}: {runs} sample(s) per side in "
                    f"{time.monotonic() - started:.1f} s"
                )
            frozen = [{k: tuple(v) for k, v in s.items()} for s in series]
            measured, compared = frozen[: len(sides)], frozen[len(sides) :]
            results.append(
                CaseResult(
                    name=case.name,
                    mode=case.mode,
                    args=case.template_args,
                    input_bytes=case.input_bytes,
                    invocations=case.invocations,
                    workers=cpu_count(),
                    head=measured[-1],
                    base=measured[0] if len(measured) == 2 else None,
                    compared=tuple(
                        ComparedResult(c.template, samples)
                        for c, samples in zip(case.compare, compared, strict=True)
                    ),
                    parameters=case.parameters,
                )
            )
    return results


def with_baseline(run: BenchRun, baseline: BenchRun, path: Path) -> BenchRun:
    """Attach a saved result's head as this run's base, case by case."""
    by_name = {c.name: c for c in baseline.cases}
    cases = []
    for case in run.cases:
        old = by_name.get(case.name)
        if old is None or old.shape != case.shape:
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
    trend: Path

    @classmethod
    def under(cls, bench_dir: Path) -> Outputs:
        return cls(
            results=bench_dir / "results.json",
            markdown=bench_dir / "bench.md",
            chart=bench_dir / "bench.svg",
            hyperfine=bench_dir / "hyperfine.json",
            smaller=bench_dir / "github-action-benchmark-smaller.json",
            bigger=bench_dir / "github-action-benchmark-bigger.json",
            trend=bench_dir / "bench-trend.svg",
        )


def write_outputs(
    bench_dir: Path, run: BenchRun, rows: Sequence[Row], trends: Sequence[history.Trend] = ()
) -> Outputs:
    out = Outputs.under(bench_dir)
    run.save(out.results)
    atomic_write_text(out.markdown, report.markdown(run, rows, trends))
    if trends:
        atomic_write_text(out.trend, trend_chart.svg(trends))
    else:
        out.trend.unlink(missing_ok=True)  # a chart of an earlier run's series would mislead
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
    compare: Sequence[str] = (),
    history_path: Path | None = None,
) -> tuple[BenchRun, list[Row]]:
    """The whole stage; raises BenchRegression when a metric regressed (or, with
    `bench.fail-on-alert`, when the history's alert rule fires)."""
    console = get_console()
    config = project.config.bench
    if base_ref and baseline_path:
        raise UsageError(
            "--base and --baseline are two ways to get a base; give one of them.",
            "use --base REF (measured side by side, reliable) or --baseline FILE.",
        )
    # Inputs first: nothing is measured or written until every one of them is valid.
    extra = [parse_compare(text) for text in compare]
    baseline = series.last(baseline_path) if baseline_path else None
    if history_path is None and save_path is not None and not series.single_document(save_path):
        history_path = save_path  # saving into a series shows its trend
    prior = read_series(history_path, save_path)
    target_id = bench_target(project.config, None if config.target else runtime_host(project))
    dist = project.dist_dir
    manifest = BuildManifest.load(dist, target_id)
    binaries = list(project.workspace.release_binaries(project.config.binaries))
    binary = config.binary or (binaries[0] if binaries else "")
    head_path = manifest.verified_path(dist, binary)
    artifact = manifest.artifact(binary)
    head = Subject(
        "head", head_label(project, manifest), str(head_path), artifact.size, artifact.sha256
    )
    bench_dir = project.report_dir / "bench"
    cases = prepare_cases(
        config.cases or default_cases(project.config.build.smoke_args),
        bench_dir / "inputs",
        config.seed,
        project.workspace.root,
        config.workdir,
        extra,
    )
    sides = [Side("head", head_path)]
    base: Subject | None = None
    if base_ref:
        builder = builder or StageBuilder(project, target_id, binary)
        base = base_subject(project, base_ref, builder, binary)
        sides = [Side("base", Path(base.binary)), Side("head", head_path)]
    rustc = manifest.toolchain_path or "rustc"
    launcher = build_launcher(rustc, bench_dir / "launcher")
    sampling = sampling_of(config)
    console.info(
        f"measuring {binary} of {target_id} ({head_path}); {len(cases)} case(s), "
        f"{'base and head interleaved' if base else 'head only'}"
    )
    if config.fresh_copies:
        sides = fresh_copies(sides, bench_dir / "run")
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
                    "fresh_copies",
                )
            },
            "cargo_bench": {"ran": micro.ran, "note": micro.note},
        },
        micro=micro.results,
    )
    if baseline is not None and baseline_path is not None:
        run = with_baseline(run, baseline, baseline_path)
    bench_gate = Gate.from_config(config)
    rows = evaluate(run, bench_gate, seed=config.seed) + micro_compare.rows_of(
        run, bench_gate, config.seed
    )
    rule = history.AlertRule(percent=config.alert_percent, window=config.alert_window)
    trends = history.trends(prior.runs, run, rule, config.history_length) if prior else []
    out = write_outputs(bench_dir, run, rows, trends)
    if save_path is not None:
        saved = series.save(save_path, run)
        console.info(f"saved this result: {save_path} ({len(saved.runs)} result(s) in it)")
    show(run, rows, trends, out, history_path)
    gate(rows, trends, out, config.fail_on_alert, history_path)
    return run, rows


def base_subject(project: Project, ref: str, builder: BaseBuilder, binary: str) -> Subject:
    """The base revision's binary, built (or taken from the cache) the way `--base` builds it."""
    commit, path = build_base(project, ref, builder, binary)
    get_console().info(f"base {ref} = {commit[:12]}: {path}")
    return Subject("base", commit, str(path), path.stat().st_size, sha256_file(path))


def show(
    run: BenchRun,
    rows: Sequence[Row],
    trends: Sequence[history.Trend],
    out: Outputs,
    history_path: Path | None,
) -> None:
    """The report on the console and in the job summary, and where every output went."""
    console = get_console()
    console.table(f"bench: {report.heading(run)}", report.COLUMNS, [report.cells(r) for r in rows])
    if trends:
        console.table(
            f"bench history: {history_path} (chart: {out.trend})",
            report.HISTORY_COLUMNS,
            [report.history_cells(t, labels=False) for t in trends],
        )
    console.summary(out.markdown.read_text(encoding="utf-8"))
    console.info(
        f"raw samples: {out.results}; report: {out.markdown}; chart: {out.chart}; exports: "
        f"{out.hyperfine.name}, {out.smaller.name}, {out.bigger.name}"
    )


def read_series(history_path: Path | None, save_path: Path | None) -> series.Series | None:
    """The series whose trend the report shows; a corrupt one (or a corrupt series to save
    into) fails here, before anything is measured or written. A `.json` save path is a single
    result that --save rewrites whole, as it always did: it is not read."""
    prior = series.read(history_path, missing_ok=True) if history_path else None
    if save_path not in (None, history_path) and not series.single_document(save_path):
        series.read(save_path, missing_ok=True)
    for note in prior.notes if prior else ():
        get_console().info(note)
    for warning in prior.dropped if prior else ():
        get_console().warn(warning)
    return prior


def gate(
    rows: Sequence[Row],
    trends: Sequence[history.Trend],
    out: Outputs,
    fail_on_alert: bool,
    history_path: Path | None,
) -> None:
    """Raise BenchRegression on a regression, or on a history alert with fail-on-alert."""
    console = get_console()
    failed = regressions(rows)
    alerting = history.alerts(trends)
    for trend in alerting:
        console.warn(f"history alert: {trend.case} ({trend.metric}): {trend.alert.message}")
    if failed:
        raise BenchRegression(
            f"{len(failed)} benchmark metric(s) regressed:\n" + report.regression_markdown(rows),
            f"see {out.markdown} and {out.chart}; if the change is intended, say so in the PR.",
        )
    if alerting and fail_on_alert:
        raise BenchRegression(
            f"{len(alerting)} case(s) alert on the history {history_path}:\n"
            + "\n".join(f"- {t.case} ({t.metric}): {t.alert.message}" for t in alerting),
            f"see {out.markdown} and {out.trend}; `bench.fail-on-alert = false` makes an alert "
            "a warning.",
        )
    console.success("no regression" + (f", {len(alerting)} history alert(s)" if alerting else ""))
