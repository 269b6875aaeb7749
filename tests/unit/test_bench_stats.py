"""The bench statistics on synthetic samples (seeded): median/MAD/IQR, bootstrap CIs, the gate."""

from __future__ import annotations

import random

import pytest

from nox_cargo.bench import stats


def noisy(rng: random.Random, centre: float, n: int, spread: float = 0.02) -> list[float]:
    """Lognormal-ish timings: mostly near `centre`, a right tail like a busy machine's."""
    out = []
    for _ in range(n):
        value = centre * (1 + rng.gauss(0, spread))
        if rng.random() < 0.05:
            value *= 1 + rng.expovariate(3)  # occasional hiccup
        out.append(value)
    return out


def test_median_quantile_mad_iqr() -> None:
    assert stats.median([3, 1, 2]) == 2
    assert stats.median([4, 1, 3, 2]) == 2.5
    assert stats.quantile([1, 2, 3, 4, 5], 0.25) == 2
    assert stats.quantile([1, 2, 3, 4], 0.5) == 2.5
    # deviations from 3: 2 1 0 1 97 -> median 1; a wild outlier does not move it
    assert stats.mad([1, 2, 3, 4, 100]) == 1
    assert stats.iqr([1, 2, 3, 4, 5]) == 2
    with pytest.raises(ValueError):
        stats.median([])
    with pytest.raises(ValueError):
        stats.quantile([1.0], 1.5)


def test_bootstrap_median_ci_is_deterministic_and_covers_the_centre() -> None:
    data = noisy(random.Random(1), 100.0, 200)
    a = stats.bootstrap_median_ci(data, random.Random(7))
    b = stats.bootstrap_median_ci(data, random.Random(7))
    assert a == b
    low, high = a
    assert low <= stats.median(data) <= high
    assert low < 100.0 < high + 0.5  # the true centre, within the interval's reach
    assert high - low < 2.0  # 200 samples at 2 % spread: a tight interval


def test_bootstrap_interval_narrows_with_more_samples() -> None:
    rng = random.Random(3)
    small = stats.bootstrap_median_ci(noisy(rng, 100.0, 20), random.Random(0))
    large = stats.bootstrap_median_ci(noisy(rng, 100.0, 500), random.Random(0))
    assert large[1] - large[0] < small[1] - small[0]


def test_single_sample_interval_is_the_sample() -> None:
    assert stats.bootstrap_median_ci([5.0], random.Random(0)) == (5.0, 5.0)


def paired(rng: random.Random, n: int, slowdown: float) -> tuple[list[float], list[float]]:
    """Base/head pairs sharing a drifting machine load (what interleaving cancels)."""
    base, head = [], []
    for i in range(n):
        load = 1 + 0.3 * ((i // 20) % 2)  # the neighbour's job comes and goes
        base.append(100.0 * load * (1 + rng.gauss(0, 0.02)))
        head.append(100.0 * slowdown * load * (1 + rng.gauss(0, 0.02)))
    return base, head


def test_ratio_detects_a_ten_percent_slowdown() -> None:
    base, head = paired(random.Random(11), 200, 1.10)
    estimate = stats.bootstrap_ratio_ci(base, head, random.Random(0), paired=True)
    assert 1.07 < estimate.ratio < 1.13
    assert estimate.low > 1.03
    decision = stats.decide(estimate, floor=0.03, threshold=0.05)
    assert decision.verdict == "regression"


def test_identical_distributions_are_unchanged() -> None:
    for seed in range(20):
        base, head = paired(random.Random(seed), 100, 1.0)
        estimate = stats.bootstrap_ratio_ci(base, head, random.Random(seed), paired=True)
        assert stats.decide(estimate, 0.03, 0.05).verdict == "unchanged"


def test_improvement_is_symmetric() -> None:
    base, head = paired(random.Random(5), 200, 0.85)
    estimate = stats.bootstrap_ratio_ci(base, head, random.Random(0), paired=True)
    assert stats.decide(estimate, 0.03, 0.05).verdict == "improvement"


def test_pairing_tightens_the_interval_under_drifting_load() -> None:
    base, head = paired(random.Random(9), 200, 1.0)
    with_pairs = stats.bootstrap_ratio_ci(base, head, random.Random(0), paired=True)
    without = stats.bootstrap_ratio_ci(base, head, random.Random(0), paired=False)
    assert with_pairs.half_width < without.half_width


def est(ratio: float, low: float, high: float) -> stats.RatioEstimate:
    return stats.RatioEstimate(ratio, low, high, paired=True, n_base=50, n_head=50)


@pytest.mark.parametrize(
    ("estimate", "verdict"),
    [
        (est(1.10, 1.06, 1.14), "regression"),
        (est(1.04, 1.035, 1.045), "unchanged"),  # CI clears the floor, change below threshold
        (est(1.08, 1.02, 1.14), "too noisy"),  # the CI reaches below the floor: resolves 9 %
        (est(1.05, 1.031, 1.07), "regression"),  # exactly at the threshold
        (est(0.90, 0.86, 0.94), "improvement"),
        (est(0.96, 0.955, 0.965), "unchanged"),
        (est(1.00, 0.90, 1.10), "too noisy"),  # resolves 13 % only: not an "unchanged"
    ],
)
def test_decision_rule(estimate: stats.RatioEstimate, verdict: str) -> None:
    assert stats.decide(estimate, floor=0.03, threshold=0.05).verdict == verdict


def test_detectable_change_is_floor_plus_half_width_or_threshold() -> None:
    assert stats.decide(est(1.0, 0.99, 1.01), 0.03, 0.05).detectable == pytest.approx(0.05)
    assert stats.decide(est(1.0, 0.95, 1.05), 0.03, 0.05).detectable == pytest.approx(0.08)


def test_ratio_rejects_mismatched_pairs() -> None:
    with pytest.raises(ValueError):
        stats.bootstrap_ratio_ci([1.0, 2.0], [1.0], random.Random(0), paired=True)
    with pytest.raises(ValueError):
        stats.bootstrap_ratio_ci([], [1.0], random.Random(0), paired=False)


def test_relative_half_width() -> None:
    tight = [100.0 + (i % 3) * 0.1 for i in range(100)]
    assert stats.relative_half_width(tight, random.Random(0)) < 0.002
