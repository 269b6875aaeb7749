"""From samples to verdicts: one row per metric, with the gate that applies to it.

- Timing (wall time of latency cases, batch time of throughput cases): bootstrap CI of the
  head/base median ratio, paired when base and head were interleaved in one run, and the
  floor/threshold rule of `stats.decide`. User/system CPU are reported, not gated: at
  sub-millisecond run times the kernel's user/system split is tick noise.
- Peak RSS: regression when the head's median peak exceeds the base's by more than
  max(rss-threshold-percent, rss-min-growth).
- Sizes: exact; regression above size-threshold-percent growth or above an absolute budget.
- A base measured on another machine (different fingerprint) makes timing and RSS inconclusive.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, replace

from nox_cargo.bench import stats
from nox_cargo.bench.results import BenchRun, CaseResult, SizeEntry
from nox_cargo.config import BenchConfig

FAILING = ("regression", "over budget")
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
    rows: list[Row] = []
    for case in run.cases:
        judge = Judge(gate, paired, inconclusive, random.Random(seed))
        if case.mode == "throughput":
            rows.extend(_throughput_rows(case, judge))
        else:
            rows.extend(_latency_rows(case, judge))
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


def _timing_row(m: Metric, judge: Judge) -> Row:
    case, metric, head, base, scale, unit = m.case, m.name, m.head, m.base, m.scale, m.unit
    gate, paired, inconclusive, rng = judge.gate, judge.paired, judge.inconclusive, judge.rng
    shown = Row(case, metric, unit, "smaller", stats.median(head) * scale)
    spread = stats.mad(head) * scale
    if base is None:
        low, high = stats.bootstrap_median_ci(head, rng)
        return replace(shown, spread=spread, ci=(low * scale, high * scale))
    estimate = stats.bootstrap_ratio_ci(base, head, rng, paired=paired and len(base) == len(head))
    decision = stats.decide(estimate, gate.floor, gate.threshold)
    verdict: str = decision.verdict
    note = decision.reason
    if inconclusive:
        verdict, note = "inconclusive", inconclusive
    elif not paired:
        note += "; cross-run comparison (less reliable than an interleaved --base run)"
    return replace(
        shown,
        base=stats.median(base) * scale,
        spread=spread,
        ci=(estimate.low, estimate.high),
        ci_is_ratio=True,
        ratio=estimate.ratio,
        verdict=verdict,
        detectable=decision.detectable,
        note=note,
    )


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
        Row(
            case.name,
            "wall time (min)",
            "ms",
            "smaller",
            min(h["wall_ns"]) * 1e-6,
            base=min(b["wall_ns"]) * 1e-6 if b else None,
            verdict="info",
        ),
        _info_row(metric("user CPU (median)", "user_us", 1e-3, "ms")),
        _info_row(metric("system CPU (median)", "sys_us", 1e-3, "ms")),
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
