"""Report rows and the gate for `cargo bench` (criterion) results.

- Head only: criterion's median time per iteration with criterion's own interval (its
  confidence level, 95 % unless the benchmark sets another), in ns, µs or ms.
- `--base` (interleaved rounds, see micro_interleave): the geometric mean over rounds of each
  round's head/base ratio of criterion medians. 99 % interval: a two-level percentile bootstrap,
  rounds resampled, and within each drawn round both sides' per-sample times resampled; so the
  interval holds the round-to-round drift of the machine, not only criterion's own noise.
- `--baseline` (a saved result: cross-run): the ratio of the medians, 99 % interval a percentile
  bootstrap on criterion's per-sample times of both sides, resampled independently; when a side
  has no samples, the two criterion intervals are combined in log space (each half-width
  rescaled to 99 %, added in quadrature). Said to be cross-run in the row's note.
- The verdict is `stats.decide`: the floor/threshold rule of every timing row.
- Benchmarks present on one side only are listed, not gated.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from statistics import NormalDist

from nox_cargo.bench import stats
from nox_cargo.bench.compare import Gate, Row, inconclusive_reason
from nox_cargo.bench.results import BenchRun, MicroEstimate, MicroResult

METRIC = "time/iter (criterion median)"
CROSS_RUN = (
    "cross-run: base and head come from separate `cargo bench` runs, not interleaved (less "
    "reliable than `--base`)"
)
BOOTSTRAP_RESAMPLES = 1000


def unit_of(ns: float) -> tuple[str, float]:
    """(unit, scale from ns) that shows `ns` with a few significant digits."""
    if ns < 1e3:
        return "ns", 1.0
    if ns < 1e6:
        return "µs", 1e-3
    return "ms", 1e-6


def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def combined_ratio(
    base: MicroEstimate, head: MicroEstimate, confidence: float = stats.DEFAULT_CONFIDENCE
) -> stats.RatioEstimate:
    """head/base ratio of medians; interval from both criterion intervals (log space)."""
    ratio = head.median_ns / base.median_ns

    def half(e: MicroEstimate) -> float:
        if e.low_ns <= 0:
            return math.inf
        wide = max(math.log(e.high_ns / e.median_ns), math.log(e.median_ns / e.low_ns))
        return wide / _z(e.confidence) * _z(confidence)

    width = math.hypot(half(base), half(head))
    return stats.RatioEstimate(
        ratio, ratio * math.exp(-width), ratio * math.exp(width), False, 0, 0
    )


def ratio_estimate(
    base: MicroEstimate, head: MicroEstimate, rng: random.Random
) -> stats.RatioEstimate:
    if len(base.samples_ns) >= 2 and len(head.samples_ns) >= 2:
        return stats.bootstrap_ratio_ci(base.samples_ns, head.samples_ns, rng, paired=False)
    return combined_ratio(base, head)


def _div(head: float, base: float) -> float:
    if base <= 0:
        return math.inf if head > 0 else 1.0
    return head / base


def _geomean(values: Sequence[float]) -> float:
    if any(v <= 0 or math.isinf(v) for v in values):
        return math.inf if any(math.isinf(v) for v in values) else 0.0
    return math.exp(math.fsum(math.log(v) for v in values) / len(values))


def rounds_ratio(
    rounds: Sequence[tuple[MicroEstimate, MicroEstimate]],
    rng: random.Random,
    confidence: float = stats.DEFAULT_CONFIDENCE,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> stats.RatioEstimate:
    """Interleaved rounds of (base, head): geometric mean of the per-round ratios, with a
    bootstrap over rounds and, within each drawn round, over both sides' samples."""
    if not rounds:
        raise ValueError("no rounds")

    def drawn(base: MicroEstimate, head: MicroEstimate) -> float:
        if len(base.samples_ns) < 2 or len(head.samples_ns) < 2:
            return _div(head.median_ns, base.median_ns)
        h = stats.median(rng.choices(head.samples_ns, k=len(head.samples_ns)))
        b = stats.median(rng.choices(base.samples_ns, k=len(base.samples_ns)))
        return _div(h, b)

    point = _geomean([_div(h.median_ns, b.median_ns) for b, h in rounds])
    estimates = [
        _geomean([drawn(b, h) for b, h in rng.choices(rounds, k=len(rounds))])
        for _ in range(resamples)
    ]
    alpha = (1 - confidence) / 2
    low, high = stats.quantile(estimates, alpha), stats.quantile(estimates, 1 - alpha)
    return stats.RatioEstimate(point, low, high, True, len(rounds), len(rounds))


def micro_rows(
    results: Sequence[MicroResult],
    gate: Gate,
    compared: bool,
    inconclusive: str = "",
    seed: int = 0,
) -> list[Row]:
    """One row per benchmark: measured (no comparison), judged, or one side only."""
    rows = []
    for result in results:
        head, base = result.head, result.base
        if not compared:
            if head is not None:
                rows.append(head_row(result.id, head))
        elif head is not None and base is not None:
            rows.append(_compared(result, gate, inconclusive, seed))
        elif head is not None or base is not None:
            rows.append(_one_side(result.id, head, base))
    return rows


def rows_of(run: BenchRun, gate: Gate, seed: int = 0) -> list[Row]:
    """The micro benchmark rows of a run, judged as its comparison allows."""
    compared = run.comparison != "none"
    return micro_rows(run.micro, gate, compared, inconclusive_reason(run), seed)


def head_row(name: str, head: MicroEstimate) -> Row:
    unit, scale = unit_of(head.median_ns)
    return Row(
        name,
        f"{METRIC}, criterion's {head.confidence * 100:.0f} % CI",
        unit,
        "smaller",
        head.median_ns * scale,
        ci=(head.low_ns * scale, head.high_ns * scale),
        verdict="measured",
    )


def _one_side(name: str, head: MicroEstimate | None, base: MicroEstimate | None) -> Row:
    """A benchmark the other side does not have: listed (head NaN when only the base has it)."""
    shown = head or base
    assert shown is not None
    unit, scale = unit_of(shown.median_ns)
    return Row(
        name,
        METRIC,
        unit,
        "smaller",
        head.median_ns * scale if head else math.nan,
        base=base.median_ns * scale if base else None,
        verdict="head only, not gated" if head else "base only, not gated",
    )


def _compared(result: MicroResult, gate: Gate, inconclusive: str, seed: int) -> Row:
    rng = random.Random(f"{seed}:{result.id}")
    if result.rounds:
        estimate = rounds_ratio(result.rounds, rng)
        base_ns = stats.median([b.median_ns for b, _ in result.rounds])
        head_ns = stats.median([h.median_ns for _, h in result.rounds])
        how = (
            f"interleaved: {len(result.rounds)} rounds, base and head back to back in random "
            "order; head and base = median of the rounds' criterion medians"
        )
    else:
        assert result.base is not None and result.head is not None
        estimate = ratio_estimate(result.base, result.head, rng)
        base_ns, head_ns, how = result.base.median_ns, result.head.median_ns, CROSS_RUN
    decision = stats.decide(estimate, gate.floor, gate.threshold)
    verdict, note = str(decision.verdict), f"{decision.reason}; {how}"
    if inconclusive:
        verdict, note = "inconclusive", inconclusive
    unit, scale = unit_of(max(head_ns, base_ns))
    return Row(
        result.id,
        METRIC,
        unit,
        "smaller",
        head_ns * scale,
        base=base_ns * scale,
        ci=(estimate.low, estimate.high),
        ci_is_ratio=True,
        ratio=estimate.ratio,
        verdict=verdict,
        detectable=decision.detectable,
        note=note,
    )
