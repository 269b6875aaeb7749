"""The human report: metric · base · head · Δ · CI · verdict, for the console, the job summary
and the PR comment (bench.md, which the workflows stage posts)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from nox_cargo.bench.compare import Row
from nox_cargo.bench.results import BenchRun
from nox_cargo.console import markdown_table

COLUMNS = ("case", "metric", "base", "head", "Δ", "CI (99 %)", "verdict")
ICONS = {
    "regression": "❌ regression",
    "over budget": "❌ over budget",
    "improvement": "✅ improvement",
    "unchanged": "unchanged",
    "inconclusive": "⚠️ inconclusive",
    "measured": "measured",
    "info": "",
}


def fmt(value: float, unit: str) -> str:
    if math.isnan(value):
        return "—"  # not measured on this side (a micro benchmark the head does not have)
    if unit == "ms":
        text = f"{value:.3f}" if value < 100 else f"{value:.1f}"
    elif unit in ("ns", "µs"):
        text = f"{value:.4g}"
    elif unit == "MiB":
        text = f"{value:.2f}"
    elif unit == "B":
        return f"{int(value):,} B"
    elif unit in ("/s", ""):
        text = f"{value:,.0f}"
    else:
        text = f"{value:.1f}"
    return f"{text} {unit}".strip()


def _ci(row: Row) -> str:
    if row.ci is None:
        return ""
    low, high = row.ci
    if row.ci_is_ratio:
        return f"[{(low - 1) * 100:+.1f} %, {(high - 1) * 100:+.1f} %]"
    return f"[{fmt(low, row.unit)}, {fmt(high, row.unit)}]"


def cells(row: Row) -> tuple[str, ...]:
    head = fmt(row.head, row.unit)
    if row.spread is not None and row.unit == "ms":
        head += f" ± {row.spread:.3f}"
    shown = row.delta is not None and not math.isnan(row.delta) and row.unit
    delta = f"{row.delta * 100:+.1f} %" if shown and row.delta is not None else ""
    verdict = ICONS.get(row.verdict, row.verdict)
    if row.detectable is not None and row.verdict in ("unchanged", "regression", "improvement"):
        verdict += f" (detects ≥ {row.detectable * 100:.1f} %)"
    if row.note and (row.case == "sizes" or row.verdict in ("inconclusive", "regression")):
        verdict += f": {row.note}"
    return (
        row.case,
        row.metric,
        fmt(row.base, row.unit) if row.base is not None else "—",
        head,
        delta,
        _ci(row),
        verdict,
    )


def heading(run: BenchRun) -> str:
    head = f"`{run.head.ref[:12] or 'working tree'}`"
    if run.comparison == "interleaved" and run.base:
        return (
            f"base `{run.base.ref[:12]}` vs head {head}, measured interleaved in random order "
            "in one run"
        )
    if run.comparison == "baseline" and run.base:
        return (
            f"head {head} vs saved baseline `{run.baseline_file}` (`{run.base.ref[:12]}`): "
            "a cross-run comparison, less reliable than `--base`"
        )
    return f"head {head}, no comparison (use `--base REF` or `--baseline FILE`)"


def markdown(run: BenchRun, rows: Sequence[Row]) -> str:
    fp = run.fingerprint
    failed = [r for r in rows if r.failed]
    verdict = f"**{len(failed)} regression(s)**" if failed else "**no regression**"
    lines = [
        "## nox-cargo bench",
        "",
        f"{verdict} — {heading(run)}.",
        "",
        markdown_table(COLUMNS, [cells(r) for r in rows]),
        "",
        f"Machine: {fp.get('cpu', '?')}, {fp.get('cores', '?')} cores, kernel "
        f"{fp.get('kernel', '?')}, {fp.get('rustc', '?')}. Head binary: `{run.head.binary}`.",
        "Wall time: CLOCK_MONOTONIC around fork..wait4 in a native launcher, after warm-up runs; "
        "median ± MAD; CI = 99 % bootstrap interval (of the head/base ratio when comparing). "
        f"Gate: regression when the whole CI is above +{run.settings.get('noise_floor_percent')} "
        f"% and the change is ≥ +{run.settings.get('threshold_percent')} %.",
    ]
    if run.micro:
        lines.append(
            "Micro benchmarks (`cargo bench`, criterion): criterion's median time per iteration; "
            "alone, with criterion's own interval; against a base, the 99 % bootstrap interval "
            "of the ratio of medians on criterion's samples, from two separate runs "
            "(cross-run, not interleaved)."
        )
    return "\n".join(lines) + "\n"


def regression_markdown(rows: Sequence[Row]) -> str:
    return markdown_table(COLUMNS, [cells(r) for r in rows if r.failed])
