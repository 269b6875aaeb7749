"""Robust statistics for benchmark samples: median, MAD, IQR, bootstrap confidence intervals.

Pure Python and deterministic: every bootstrap takes a seeded `random.Random`, so the same
samples give the same interval. Timings are skewed (a few runs are hit by a neighbour's burst),
so everything is built on medians; a bare mean is never reported.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

DEFAULT_CONFIDENCE = 0.99
DEFAULT_RESAMPLES = 2000

Verdict = Literal["regression", "improvement", "unchanged", "too noisy", "inconclusive"]


def median(values: Sequence[float]) -> float:
    if not values:
        raise ValueError("median of no samples")
    ordered = sorted(values)
    n = len(ordered)
    mid = n // 2
    return float(ordered[mid]) if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0


def quantile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy's default, "type 7")."""
    if not values:
        raise ValueError("quantile of no samples")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile {q} outside [0, 1]")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def mad(values: Sequence[float]) -> float:
    """Median absolute deviation from the median (unscaled)."""
    centre = median(values)
    return median([abs(v - centre) for v in values])


def iqr(values: Sequence[float]) -> float:
    return quantile(values, 0.75) - quantile(values, 0.25)


def _percentile_interval(estimates: list[float], confidence: float) -> tuple[float, float]:
    estimates.sort()
    alpha = (1.0 - confidence) / 2.0
    return quantile(estimates, alpha), quantile(estimates, 1.0 - alpha)


def bootstrap_median_ci(
    values: Sequence[float],
    rng: random.Random,
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the median."""
    if len(values) < 2:
        only = median(values)
        return only, only
    data = list(values)
    n = len(data)
    estimates = [median(rng.choices(data, k=n)) for _ in range(resamples)]
    return _percentile_interval(estimates, confidence)


@dataclass(frozen=True)
class RatioEstimate:
    """head/base ratio of medians with its bootstrap interval (1.05 = head 5 % slower/larger)."""

    ratio: float
    low: float
    high: float
    paired: bool
    n_base: int
    n_head: int

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2.0


def bootstrap_ratio_ci(
    base: Sequence[float],
    head: Sequence[float],
    rng: random.Random,
    paired: bool,
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
) -> RatioEstimate:
    """The head/base ratio with its percentile bootstrap interval.

    `paired`: base[i] and head[i] were measured side by side (same interleaved block), so the
    estimate is the median of the per-pair ratios head[i]/base[i], and pairs are resampled:
    a burst of load that hits both runs of a pair cancels out, however long it lasts. Otherwise
    (a saved baseline from another run) it is median(head)/median(base), the two samples
    resampled independently.
    """
    if not base or not head:
        raise ValueError("a ratio needs samples on both sides")
    if paired and len(base) != len(head):
        raise ValueError("paired samples must have the same length")
    estimates: list[float] = []
    if paired:
        ratios = [_ratio(h, b) for b, h in zip(base, head, strict=True)]
        point = median(ratios)
        n = len(ratios)
        estimates = [median(rng.choices(ratios, k=n)) for _ in range(resamples)]
    else:
        point = _ratio(median(head), median(base))
        b, h = list(base), list(head)
        for _ in range(resamples):
            estimates.append(
                _ratio(median(rng.choices(h, k=len(h))), median(rng.choices(b, k=len(b))))
            )
    low, high = _percentile_interval(estimates, confidence)
    return RatioEstimate(point, low, high, paired, len(base), len(head))


def bootstrap_quantile_ratio_ci(
    base: Sequence[float],
    head: Sequence[float],
    q: float,
    rng: random.Random,
    paired: bool,
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
) -> RatioEstimate:
    """quantile(head, q) / quantile(base, q) with its percentile bootstrap interval.

    A low quantile (q = 0.1) estimates the time of the runs that nothing else on the machine
    slowed down: a fixed cost added to a program shows in it at full size, where the median of
    a loaded machine dilutes it. `paired`: pairs are resampled together (runs of one block stay
    together), else the two sides independently.
    """
    if not base or not head:
        raise ValueError("a ratio needs samples on both sides")
    if paired and len(base) != len(head):
        raise ValueError("paired samples must have the same length")
    point = _ratio(quantile(head, q), quantile(base, q))
    b, h = list(base), list(head)
    estimates: list[float] = []
    for _ in range(resamples):
        if paired:
            picks = rng.choices(range(len(b)), k=len(b))
            rb, rh = [b[i] for i in picks], [h[i] for i in picks]
        else:
            rb, rh = rng.choices(b, k=len(b)), rng.choices(h, k=len(h))
        estimates.append(_ratio(quantile(rh, q), quantile(rb, q)))
    low, high = _percentile_interval(estimates, confidence)
    return RatioEstimate(point, low, high, paired, len(base), len(head))


def quantized(values: Sequence[float], zero_share: float = 0.05) -> bool:
    """True when a CPU-time sample set is tick-sampled rather than measured.

    Linux (without full dynticks accounting) splits a process's exact CPU time into user and
    system by timer-tick samples: a run shorter than a tick gets all of it on one side and 0 on
    the other. More than `zero_share` of exact zeros in a set of positive durations is that
    signature; such a set has no meaningful median (the sum user + system stays exact).
    """
    if not values:
        return False
    zeros = sum(1 for v in values if v == 0)
    return zeros > zero_share * len(values)


def _ratio(head: float, base: float) -> float:
    if base <= 0:
        return math.inf if head > 0 else 1.0
    return head / base


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    estimate: RatioEstimate
    detectable: float  # the smallest relative change this run could have called (0.05 = 5 %)
    reason: str


def decide(estimate: RatioEstimate, floor: float, threshold: float) -> Decision:
    """The gate for a timing metric (smaller is better).

    Regression: the whole interval lies above 1 + floor AND the point estimate is at least
    1 + threshold. Improvement: the mirror image. Anything else is unchanged when the run could
    have called a change of the threshold's size (floor + CI half-width <= threshold), and
    "too noisy" when it could not: then it is not gated, and says what it could resolve.
    """
    r, lo, hi = estimate.ratio, estimate.low, estimate.high
    # A change d is called when d - half_width > floor and d >= threshold.
    detectable = max(threshold, floor + estimate.half_width)
    if lo > 1.0 + floor and r >= 1.0 + threshold:
        verdict: Verdict = "regression"
        reason = f"CI [{lo:.3f}, {hi:.3f}] above {1 + floor:.3f} and ratio >= {1 + threshold:.3f}"
    elif hi < 1.0 - floor and r <= 1.0 - threshold:
        verdict = "improvement"
        reason = f"CI [{lo:.3f}, {hi:.3f}] below {1 - floor:.3f} and ratio <= {1 - threshold:.3f}"
    elif detectable > threshold + 1e-12:
        # "unchanged" would claim a check this run could not make.
        verdict = "too noisy"
        reason = (
            f"CI [{lo:.3f}, {hi:.3f}]: the run resolves changes of {detectable:.1%} and more, "
            f"the threshold is {threshold:.1%}"
        )
    else:
        verdict = "unchanged"
        reason = f"CI [{lo:.3f}, {hi:.3f}] does not clear the {floor:.0%}/{threshold:.0%} gate"
    return Decision(verdict, estimate, detectable, reason)


def relative_half_width(values: Sequence[float], rng: random.Random, resamples: int = 500) -> float:
    """Half-width of the 99 % interval of the median, relative to the median (stop criterion)."""
    centre = median(values)
    if centre <= 0:
        return 0.0
    low, high = bootstrap_median_ci(values, rng, resamples=resamples)
    return (high - low) / 2.0 / centre


def median_ci_order_statistics(values: Sequence[float], z: float = 2.576) -> tuple[float, float]:
    """Distribution-free interval of the median from order statistics (99 % for z = 2.576).

    The ranks n/2 ∓ z·√n/2 (the normal approximation of the binomial): no resampling, so a
    trend of many saved results is cheap to draw and the same every time.
    """
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        raise ValueError("median of no samples")
    half = z * math.sqrt(n) / 2
    low = max(0, math.floor(n / 2 - half))
    high = min(n - 1, math.ceil(n / 2 + half) - 1)
    return float(ordered[low]), float(ordered[high])


def scaled_mad(values: Sequence[float]) -> float:
    """MAD x 1.4826: a robust standard deviation (the standard deviation, for normal data)."""
    return 1.4826 * mad(values)
