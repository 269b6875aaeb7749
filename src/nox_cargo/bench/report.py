"""The human report: metric · base · head · Δ · CI · verdict, for the console, the job summary
and the PR comment (bench.md, which the workflows stage posts)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from nox_cargo.bench.compare import Row
from nox_cargo.bench.history import Trend
from nox_cargo.bench.results import BenchRun
from nox_cargo.console import markdown_table

COLUMNS = ("case", "metric", "base", "head", "Δ", "CI (99 %)", "verdict")
ICONS = {
    "regression": "❌ regression",
    "over budget": "❌ over budget",
    "improvement": "✅ improvement",
    "unchanged": "unchanged",
    "inconclusive": "⚠️ inconclusive",
    "too noisy": "not gated: too noisy",
    "measured": "measured",
    "not measured": "not measured",
    "info": "",
    "compared": "",  # a compared command: information, never gated; the note says how it ran
}
# Rows without a figure of their own (the note says why).
NO_FIGURE = ("not measured",)


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
    if row.verdict in NO_FIGURE:
        return (row.case, row.metric, "—", "—", "", "", f"{ICONS[row.verdict]}: {row.note}")
    head = fmt(row.head, row.unit)
    if row.spread is not None and row.unit == "ms":
        head += f" ± {row.spread:.3f}"
    shown = row.delta is not None and not math.isnan(row.delta) and row.unit
    delta = f"{row.delta * 100:+.1f} %" if shown and row.delta is not None else ""
    if row.ratio is not None and delta:
        delta += " ¹"  # the paired estimate, explained under the table
    verdict = ICONS.get(row.verdict, row.verdict)
    if row.detectable is not None and row.verdict in (
        "unchanged",
        "regression",
        "improvement",
        "too noisy",
    ):
        verdict += f" (detects ≥ {row.detectable * 100:.1f} %)"
    if row.note and (row.case == "sizes" or row.verdict in ("inconclusive", "regression")):
        verdict += f": {row.note}"
    elif row.verdict == "compared":
        verdict = row.note
    return (
        row.case,
        row.metric,
        fmt(row.base, row.unit) if row.base is not None else "—",
        head,
        delta,
        _ci(row),
        verdict,
    )


def short_ref(ref: str) -> str:
    """`0123456789ab`, or `0123456789ab+dirty.5f3e…` for a build of a modified tree."""
    commit, plus, dirty = ref.partition("+")
    return commit[:12] + (plus + dirty if plus else "")


def heading(run: BenchRun) -> str:
    head = f"`{short_ref(run.head.ref) or 'working tree'}`"
    if run.comparison == "interleaved" and run.base:
        return (
            f"base `{short_ref(run.base.ref)}` vs head {head}, measured interleaved in random "
            "order in one run"
        )
    if run.comparison == "baseline" and run.base:
        return (
            f"head {head} vs saved baseline `{run.baseline_file}` (`{short_ref(run.base.ref)}`): "
            "a cross-run comparison, less reliable than `--base`"
        )
    return f"head {head}, no comparison (use `--base REF` or `--baseline FILE`)"


def markdown(run: BenchRun, rows: Sequence[Row], history: Sequence[Trend] = ()) -> str:
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
        f"{fp.get('kernel', '?')}, {fp.get('rustc', '?')}. Head binary: `{run.head.binary}`"
        + (
            ", measured from fresh copies (same page-cache history and path length for every side)."
            if run.settings.get("fresh_copies")
            else "."
        ),
        "Wall time: CLOCK_MONOTONIC around posix_spawn..wait4 in a native launcher, after warm-up "
        "runs; median ± MAD; CI = 99 % bootstrap interval (of the head/base ratio when comparing). "
        f"Gate: regression when the whole CI is above +{run.settings.get('noise_floor_percent')} "
        f"% and the change is ≥ +{run.settings.get('threshold_percent')} %; a row whose run "
        "cannot resolve that threshold says *not gated: too noisy* instead of *unchanged*.",
    ]
    if run.micro:
        lines.append(
            "Micro benchmarks (`cargo bench`, criterion): criterion's median time per iteration; "
            "alone, with criterion's own interval; against a base, the 99 % bootstrap interval "
            "of the ratio of medians on criterion's samples, from two separate runs "
            "(cross-run, not interleaved)."
        )
    if any(r.ratio is not None for r in rows):
        lines += ["", _delta_footnote(run, rows)]
    if history:
        lines += ["", history_markdown(history)]
    return "\n".join(lines) + "\n"


def _delta_footnote(run: BenchRun, rows: Sequence[Row]) -> str:
    """Why Δ may disagree with the two figures beside it."""
    if run.comparison == "interleaved":
        text = (
            "¹ Δ is the paired estimate, not the ratio of the two figures beside it: for medians, "
            "the median of the per-block ratios (head[i]/base[i]; a compared command's time over "
            "the binary's) over the runs made side by side; for the 10th percentile, its ratio "
            "with blocks resampled together. Load that slows both runs of a block cancels out of "
            "it; load that changed during the run moves the two figures apart."
        )
    else:
        text = "¹ Δ is the ratio of the two figures beside it (a cross-run comparison)."
    apart = [
        f"{r.case}, {r.metric}: paired {(r.ratio - 1) * 100:+.1f} %, figures "
        f"{(r.head / r.base - 1) * 100:+.1f} %"
        for r in rows
        if r.ratio is not None
        and r.base
        and r.better == "smaller"
        and abs(r.head / r.base - r.ratio) > 0.02
    ]
    if apart and run.comparison == "interleaved":
        text += " Here they differ by more than 2 points: " + "; ".join(apart) + "."
    return text


HISTORY_COLUMNS = ("case", "metric", "results", "first → last", "min … max", "alert rule")
ALERT_ICONS = {"alert": "🔔 **alert**", "ok": "ok", "no rule": ""}


def history_cells(trend: Trend, labels: bool = True) -> tuple[str, ...]:
    """A row of the history table; `labels=False` leaves out the commits (a narrow console)."""
    drawn = trend.drawn
    first, last = drawn[0], drawn[-1]
    values = [p.value for p in drawn]
    unit = trend.unit
    alert = trend.alert
    rule = f"{ALERT_ICONS[alert.status]}: {alert.message}" if ALERT_ICONS[alert.status] else ""
    span = f"{fmt(first.value, unit)} → {fmt(last.value, unit)}"
    if labels:
        span = f"{fmt(first.value, unit)} ({first.label}) → {fmt(last.value, unit)} ({last.label})"
    return (
        trend.case,
        trend.metric,
        f"{len(drawn)} of {len(trend.points)}",
        span,
        f"{fmt(min(values), unit)} … {fmt(max(values), unit)}",
        rule or alert.message,
    )


def history_markdown(history: Sequence[Trend], chart: str = "bench-trend.svg") -> str:
    """The trend section of bench.md: a row per case, what was left out, any alert first."""
    alerting = [t for t in history if t.alert.status == "alert"]
    lines = ["### History", ""]
    if alerting:
        lines += [
            "> [!WARNING]",
            *(
                f"> 🔔 **{t.case}** ({t.metric}): the last result alerts: {t.alert.message}."
                for t in alerting
            ),
            "",
        ]
    lines += [markdown_table(HISTORY_COLUMNS, [history_cells(t) for t in history]), ""]
    for trend in history:
        if trend.left_out:
            lines.append(f"- {trend.case}: left out {'; '.join(trend.left_out)}.")
    lines.append(
        f"Trend chart: `{chart}`. Only results of the same machine and case shape join a line; "
        "the alert rule compares the last result with the median of the window before it: it "
        "alerts when worse by more than `bench.alert-percent`, by more than 3 x the window's "
        "MAD, and than every result of the window."
    )
    return "\n".join(lines)


def regression_markdown(rows: Sequence[Row]) -> str:
    return markdown_table(COLUMNS, [cells(r) for r in rows if r.failed])
