"""From samples to verdicts: one row per metric, with the gate that applies to it.

- Timing (wall time of latency cases, batch time of throughput cases): bootstrap CI of the
  head/base ratio, paired when base and head were interleaved in one run, and the
  floor/threshold rule of `stats.decide`. Latency cases are gated on two statistics, each its own
  row: the median of the per-pair ratios, and the ratio of the 10th percentiles (the runs that
  nothing else slowed down, where a fixed cost added to the program shows at full size; on a
  loaded machine the median dilutes it). A row whose run could not resolve the threshold says
  "not gated: too noisy (detects >= X %)" instead of "unchanged".
- CPU: user + system is exact (the kernel's precise runtime); the user/system split is sampled
  per timer tick on Linux, so it is shown only when the samples are not quantized. Not gated.
- Peak RSS: regression when the head's median peak exceeds the base's by more than
  max(rss-threshold-percent, rss-min-growth).
- Sizes: exact; regression above size-threshold-percent growth or above an absolute budget.
- A base measured on another machine (different fingerprint) makes timing and RSS inconclusive.
"""

from __future__ import annotations

import random
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from nox_cargo.bench import stats
from nox_cargo.bench.results import BenchRun, CaseResult, SizeEntry
from nox_cargo.config import BenchConfig

FAILING = ("regression", "over budget")
TIMES = "\N{MULTIPLICATION SIGN}"
FINGERPRINT_KEYS = ("cpu", "cores", "kernel", "arch")


@dataclass(frozen=True)
class Row:
    case: str
    metric: str
    unit: str
    better: str  # smaller | bigger
    head: float
    base: float | None = None
    spread: float | None = None  # head MAD, same unit
    ci: tuple[float, float] | None = None  # head/base ratio CI, or the head median's CI
    ci_is_ratio: bool = False
    ratio: float | None = None  # the gate's point estimate (median of pair ratios when paired)
    verdict: str = "measured"
    detectable: float | None = None
    note: str = ""

    @property
    def delta(self) -> float | None:
        if self.ratio is not None:
            return self.ratio - 1 if self.better == "smaller" else 1 / self.ratio - 1
        if self.base is None or self.base == 0:
            return None
        return (self.head - self.base) / self.base

    @property
    def failed(self) -> bool:
        return self.verdict in FAILING


@dataclass(frozen=True)
class Gate:
    floor: float
    threshold: float
    rss_fraction: float
    rss_min_kib: float
    size_fraction: float
    binary_budget: int | None
    wasm_budget: int | None
    image_budget: int | None

    @classmethod
    def from_config(cls, config: BenchConfig) -> Gate:
        return cls(
            floor=config.noise_floor_percent / 100,
            threshold=config.threshold_percent / 100,
            rss_fraction=config.rss_threshold_percent / 100,
            rss_min_kib=config.rss_min_growth / 1024,
            size_fraction=config.size_threshold_percent / 100,
            binary_budget=config.binary_budget,
            wasm_budget=config.wasm_budget,
            image_budget=config.image_budget,
        )


def fingerprint_mismatch(a: dict[str, str], b: dict[str, str] | None) -> list[str]:
    if b is None:
        return []
    return [k for k in FINGERPRINT_KEYS if a.get(k) != b.get(k)]


def inconclusive_reason(run: BenchRun) -> str:
    """Why timings cannot be compared with this run's base (empty when they can)."""
    mismatch = fingerprint_mismatch(run.fingerprint, run.base_fingerprint)
    return f"base measured on another machine ({', '.join(mismatch)} differ)" if mismatch else ""


def evaluate(run: BenchRun, gate: Gate, seed: int = 0) -> list[Row]:
    """Every row of the report, in case order, then sizes."""
    inconclusive = inconclusive_reason(run)
    paired = run.comparison == "interleaved"
    binary = Path(run.head.binary).name
    rows: list[Row] = []
    for case in run.cases:
        judge = Judge(gate, paired, inconclusive, random.Random(seed))
        if case.mode == "throughput":
            rows.extend(_throughput_rows(case, judge))
        else:
            rows.extend(_latency_rows(case, judge))
            rows.extend(compared_rows(case, binary, judge.rng))
    rows.extend(size_rows(run.sizes, run.base_sizes if run.comparison != "none" else None, gate))
    return rows


@dataclass(frozen=True)
class Metric:
    """One measured quantity of a case: head samples, base samples if any, and how to show them."""

    case: str
    name: str
    head: Sequence[float]
    base: Sequence[float] | None
    scale: float  # sample unit → shown unit
    unit: str


@dataclass(frozen=True)
class Judge:
    """How timings are judged in this run."""

    gate: Gate
    paired: bool
    inconclusive: str
    rng: random.Random


FAST_QUANTILE = 0.10  # "fast runs": the 10th percentile


def _timing_row(m: Metric, judge: Judge, quantile: float | None = None) -> Row:
    """A gated timing row: the median (of pair ratios when paired), or the given quantile."""
    case, metric, head, base, scale, unit = m.case, m.name, m.head, m.base, m.scale, m.unit
    gate, paired, inconclusive, rng = judge.gate, judge.paired, judge.inconclusive, judge.rng

    def centre(values: Sequence[float]) -> float:
        return stats.median(values) if quantile is None else stats.quantile(values, quantile)

    shown = Row(case, metric, unit, "smaller", centre(head) * scale)
    spread = stats.mad(head) * scale if quantile is None else None
    if base is None:
        if quantile is not None:
            return replace(shown, verdict="info")
        low, high = stats.bootstrap_median_ci(head, rng)
        return replace(shown, spread=spread, ci=(low * scale, high * scale))
    pairs = paired and len(base) == len(head)
    if quantile is None:
        estimate = stats.bootstrap_ratio_ci(base, head, rng, paired=pairs)
    else:
        estimate = stats.bootstrap_quantile_ratio_ci(base, head, quantile, rng, paired=pairs)
    decision = stats.decide(estimate, gate.floor, gate.threshold)
    verdict: str = decision.verdict
    note = decision.reason
    if inconclusive:
        verdict, note = "inconclusive", inconclusive
    if not paired and not inconclusive:
        note += "; cross-run comparison (less reliable than an interleaved --base run)"
    return replace(
        shown,
        base=centre(base) * scale,
        spread=spread,
        ci=(estimate.low, estimate.high),
        ci_is_ratio=True,
        ratio=estimate.ratio,
        verdict=verdict,
        detectable=decision.detectable,
        note=note,
    )


def _cpu_rows(case: CaseResult) -> list[Row]:
    """CPU time: user + system (exact), and the split when it is measured rather than sampled."""
    h, b = case.head, case.base

    def total(series: dict[str, tuple[float, ...]]) -> list[float]:
        return [u + s for u, s in zip(series["user_us"], series["sys_us"], strict=True)]

    rows = [
        _info_row(
            Metric(
                case.name,
                "CPU time, user + system (median)",
                total(h),
                total(b) if b else None,
                1e-3,
                "ms",
            )
        )
    ]
    sides = [h, *([b] if b else [])]
    split = [(key, label) for key, label in (("user_us", "user"), ("sys_us", "system"))]
    if any(stats.quantized(side[key]) for side in sides for key, _ in split):
        zeros = {label: sum(1 for v in h[key] if v == 0) for key, label in split}
        rows.append(
            Row(
                case.name,
                "CPU time, user / system split",
                "",
                "smaller",
                0.0,
                verdict="not measured",
                note=(
                    f"tick-sampled by the kernel ({zeros['user']} user and {zeros['system']} "
                    f"system samples of {len(h['user_us'])} are 0): no figure to show; the sum "
                    "above is exact"
                ),
            )
        )
        return rows
    for key, label in split:
        base = b[key] if b else None
        rows.append(_info_row(Metric(case.name, f"{label} CPU (median)", h[key], base, 1e-3, "ms")))
    return rows


def _info_row(m: Metric, better: str = "smaller") -> Row:
    return Row(
        m.case,
        m.name,
        m.unit,
        better,
        stats.median(m.head) * m.scale,
        base=stats.median(m.base) * m.scale if m.base else None,
        spread=stats.mad(m.head) * m.scale,
        verdict="info",
    )


def _latency_rows(case: CaseResult, judge: Judge) -> list[Row]:
    h, b = case.head, case.base

    def metric(name: str, key: str, scale: float, unit: str) -> Metric:
        return Metric(case.name, name, h[key], b[key] if b else None, scale, unit)

    rows = [
        _timing_row(metric("wall time (median ± MAD)", "wall_ns", 1e-6, "ms"), judge),
        _timing_row(
            metric("wall time (fast runs: 10th percentile)", "wall_ns", 1e-6, "ms"),
            judge,
            quantile=FAST_QUANTILE,
        ),
        Row(
            case.name,
            "wall time (min)",
            "ms",
            "smaller",
            min(h["wall_ns"]) * 1e-6,
            base=min(b["wall_ns"]) * 1e-6 if b else None,
            verdict="info",
        ),
        *_cpu_rows(case),
        _rss_row(metric("peak RSS (median)", "maxrss_kib", 1 / 1024, "MiB"), judge),
    ]
    if case.input_bytes:
        mb = case.input_bytes / 1e6
        head_rate = mb / (stats.median(h["wall_ns"]) * 1e-9)
        base_rate = mb / (stats.median(b["wall_ns"]) * 1e-9) if b else None
        rows.append(
            Row(
                case.name,
                "throughput",
                "MB/s",
                "bigger",
                head_rate,
                base=base_rate,
                verdict="info",
                note="input size / median wall time",
            )
        )
    rows.append(
        Row(
            case.name,
            "runs",
            "",
            "bigger",
            float(len(h["wall_ns"])),
            base=float(len(b["wall_ns"])) if b else None,
            verdict="info",
        )
    )
    return rows


def shown(argv: Sequence[str]) -> str:
    """A command line for the report: shell-quoted where needed, `{placeholders}` left bare."""
    return " ".join(a if re.fullmatch(r"[\w{}./=,:+@%-]+", a) else shlex.quote(a) for a in argv)


def relative_speed(program: str, estimate: stats.RatioEstimate, binary: str) -> str:
    """hyperfine's summary line with a CI: `grep: 1.35x [1.31, 1.39] slower than weft` (with
    the multiplication sign); the factor is above 1 either way, as hyperfine writes it."""
    ratio, low, high = estimate.ratio, estimate.low, estimate.high
    if ratio >= 1:
        return f"{program}: {ratio:.2f}{TIMES} [{low:.2f}, {high:.2f}] slower than {binary}"
    return f"{program}: {1 / ratio:.2f}{TIMES} [{1 / high:.2f}, {1 / low:.2f}] faster than {binary}"


def compared_rows(case: CaseResult, binary: str, rng: random.Random) -> list[Row]:
    """One row per compared command: its median ± MAD and its paired ratio to the binary's head
    runs of the same blocks, with the CI. Information, never gated."""
    head = case.head["wall_ns"]
    rows = []
    for compared in case.compared:
        wall = compared.samples["wall_ns"]
        estimate = stats.bootstrap_ratio_ci(head, wall, rng, paired=len(wall) == len(head))
        rows.append(
            Row(
                case.name,
                f"{shown(compared.command)} (median ± MAD)",
                "ms",
                "smaller",
                stats.median(wall) * 1e-6,
                spread=stats.mad(wall) * 1e-6,
                ci=(estimate.low, estimate.high),
                ci_is_ratio=True,
                ratio=estimate.ratio,
                verdict="compared",
                note=relative_speed(Path(compared.command[0]).name, estimate, binary),
            )
        )
    return rows


def _rss_row(m: Metric, judge: Judge) -> Row:
    case, head, base, gate, inconclusive = m.case, m.head, m.base, judge.gate, judge.inconclusive
    shown = Row(case, "peak RSS (median)", "MiB", "smaller", stats.median(head) / 1024)
    if base is None:
        return replace(shown, verdict="measured", note=f"max over runs {max(head) / 1024:.2f} MiB")
    base_kib = stats.median(base)
    allowed = max(base_kib * gate.rss_fraction, gate.rss_min_kib)
    growth = stats.median(head) - base_kib
    if inconclusive:
        verdict, note = "inconclusive", inconclusive
    elif growth > allowed:
        verdict, note = "regression", f"grew {growth / 1024:.2f} MiB > {allowed / 1024:.2f} MiB"
    elif -growth > allowed:
        verdict, note = "improvement", f"shrank {-growth / 1024:.2f} MiB"
    else:
        verdict, note = "unchanged", f"within {allowed / 1024:.2f} MiB"
    return replace(shown, base=base_kib / 1024, verdict=verdict, note=note)


def _throughput_rows(case: CaseResult, judge: Judge) -> list[Row]:
    rows = []
    for key, label in (("batch_ns_seq", "sequential"), ("batch_ns_par", f"{case.workers} workers")):
        head = case.head[key]
        base = case.base[key] if case.base else None
        timing = _timing_row(Metric(case.name, "", head, base, 1.0, "ns"), judge)
        rate = case.invocations / (stats.median(head) * 1e-9)
        base_rate = case.invocations / (stats.median(base) * 1e-9) if base else None
        if timing.ci_is_ratio and timing.ci:
            ci = (1 / timing.ci[1], 1 / timing.ci[0])  # throughput ratio = 1 / time ratio
        elif timing.ci:
            ci = (
                case.invocations / (timing.ci[1] * 1e-9),
                case.invocations / (timing.ci[0] * 1e-9),
            )
        else:
            ci = None
        rows.append(
            Row(
                case.name,
                f"invocations/s ({label}, {case.invocations} per batch)",
                "/s",
                "bigger",
                rate,
                base=base_rate,
                ci=ci,
                ci_is_ratio=timing.ci_is_ratio,
                ratio=timing.ratio,
                verdict=timing.verdict,
                detectable=timing.detectable,
                note=timing.note,
            )
        )
    return rows


def size_rows(
    sizes: Sequence[SizeEntry], base_sizes: Sequence[SizeEntry] | None, gate: Gate
) -> list[Row]:
    """Exact size gates: growth over the base beyond the threshold, or over a budget."""
    budgets = {"binary": gate.binary_budget, "wasm": gate.wasm_budget, "image": gate.image_budget}
    by_key = {(s.kind, s.name): s for s in base_sizes or ()}
    rows = []
    for entry in sizes:
        base = by_key.get((entry.kind, entry.name))
        budget = budgets.get(entry.kind)
        verdict, note = "measured", ""
        if base is not None:
            growth = (entry.bytes - base.bytes) / base.bytes if base.bytes else 0.0
            if growth > gate.size_fraction:
                verdict = "regression"
                note = f"grew {entry.bytes - base.bytes} B (> {gate.size_fraction:.1%})"
            elif -growth > gate.size_fraction:
                verdict, note = "improvement", f"shrank {base.bytes - entry.bytes} B"
            else:
                verdict = "unchanged"
                note = f"{entry.bytes - base.bytes:+d} B"
        if budget is not None:
            key = f"bench.{entry.kind}-budget"
            if entry.bytes > budget:
                verdict = "over budget"
                note = f"{entry.bytes} B > budget {budget} B (`{key}`)"
            else:
                note = (note + "; " if note else "") + f"within budget {budget} B (`{key}`)"
        rows.append(
            Row(
                "sizes",
                f"{entry.kind} {entry.name}",
                "B",
                "smaller",
                float(entry.bytes),
                base=float(base.bytes) if base else None,
                verdict=verdict,
                note=note,
            )
        )
    return rows


def regressions(rows: Sequence[Row]) -> list[Row]:
    return [r for r in rows if r.failed]
