"""The trend of each case over a series of saved results, and the alert rule on it.

One line per case and gated metric (latency: wall-time median in ms; throughput: sequential
invocations/s), and one per `cargo bench` benchmark (criterion's median time per iteration, with
criterion's interval). Only results measured on the same machine (the fingerprint keys the gate
compares) with the same case shape (mode, arguments, input size, batch size) join the line; the
others are counted and named as left out. The current run is the last point.

The alert rule, after benchmark-action/github-action-benchmark's `alert-threshold` (which
compares with the single previous result, 200 % by default), made robust: the last result
alerts when it is worse than the median of the previous window (`bench.alert-window` comparable
results) by more than `bench.alert-percent` of it, AND by more than the window's own noise,
NOISE_K x the scaled MAD of the window's medians (about 3 standard deviations), AND is worse
than every result of the window: a series that wanders by itself does not alert on a wander,
and a step alerts once. It needs MIN_PRIOR earlier comparable results; with fewer the trend
says so instead of judging.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from nox_cargo.bench import stats
from nox_cargo.bench.compare import fingerprint_mismatch
from nox_cargo.bench.results import BenchRun, CaseResult, MicroEstimate

MIN_PRIOR = 5
NOISE_K = 3.0

Status = Literal["alert", "ok", "no rule"]


@dataclass(frozen=True)
class AlertRule:
    percent: float = 10.0  # bench.alert-percent
    window: int = 10  # bench.alert-window
    min_prior: int = MIN_PRIOR
    noise_k: float = NOISE_K


@dataclass(frozen=True)
class Point:
    ref: str  # the head commit of that result
    created: str  # ISO timestamp
    value: float  # median, in the trend's unit
    low: float  # 99 % interval of the median
    high: float

    @property
    def label(self) -> str:
        """`abc1234 12-02 08:10`: short commit (dirty marked) and UTC date."""
        sha = self.ref[:7] or "tree"
        if "dirty" in self.ref:
            sha += "+dirty"
        return f"{sha} {self.created[5:10]} {self.created[11:16]}".strip()


@dataclass(frozen=True)
class Alert:
    status: Status
    message: str
    reference: float | None = None  # median of the window
    limit: float | None = None  # the last result alerts beyond this value
    change: float | None = None  # relative worsening of the last vs the reference (+ = worse)
    window: int = 0
    noisy: bool = False  # the window's own noise, not alert-percent, set the limit


@dataclass(frozen=True)
class Trend:
    case: str
    metric: str
    unit: str
    better: str  # smaller | bigger
    points: tuple[Point, ...]  # oldest first; the last is the current run
    shown: int  # how many of the last points the report draws (bench.history-length)
    left_out: tuple[str, ...]
    alert: Alert

    @property
    def drawn(self) -> tuple[Point, ...]:
        return self.points[-self.shown :]


def _metric(case: CaseResult) -> tuple[str, str, str]:
    if case.mode == "throughput":
        return f"invocations/s (sequential, {case.invocations} per batch)", "/s", "bigger"
    return "wall time (median)", "ms", "smaller"


def point(run: BenchRun, case: CaseResult) -> Point:
    if case.mode == "throughput":
        batch = case.head["batch_ns_seq"]
        low, high = stats.median_ci_order_statistics(batch)
        rate = case.invocations * 1e9
        return Point(run.head.ref, run.created, rate / stats.median(batch), rate / high, rate / low)
    wall = case.head["wall_ns"]
    low, high = stats.median_ci_order_statistics(wall)
    return Point(run.head.ref, run.created, stats.median(wall) * 1e-6, low * 1e-6, high * 1e-6)


def micro_point(run: BenchRun, estimate: MicroEstimate) -> Point:
    """A micro benchmark's head: criterion's median time per iteration and its interval (ns)."""
    return Point(run.head.ref, run.created, estimate.median_ns, estimate.low_ns, estimate.high_ns)


def micro_trends(
    prior: Sequence[BenchRun], current: BenchRun, rule: AlertRule, length: int
) -> list[Trend]:
    """One trend per `cargo bench` benchmark of `current`, over the same machine's results."""
    out = []
    for micro in current.micro:
        if micro.head is None:
            continue
        points: list[Point] = []
        machine = missing = 0
        for run in prior:
            if fingerprint_mismatch(current.fingerprint, run.fingerprint):
                machine += 1
                continue
            old = next((m.head for m in run.micro if m.id == micro.id and m.head), None)
            if old is None:
                missing += 1
            else:
                points.append(micro_point(run, old))
        points.append(micro_point(current, micro.head))
        left_out = tuple(
            f"{count} result(s) {text}"
            for count, text in (
                (machine, "measured on another machine (cpu, cores, kernel or arch differ)"),
                (missing, "without this benchmark"),
            )
            if count
        )
        out.append(
            Trend(
                micro.id,
                "time/iter (criterion median)",
                "ns",
                "smaller",
                tuple(points),
                min(length, len(points)),
                left_out,
                judge(points, "smaller", rule, "ns"),
            )
        )
    return out


def trends(
    prior: Sequence[BenchRun], current: BenchRun, rule: AlertRule, length: int = 20
) -> list[Trend]:
    """One trend per case of `current`, then one per micro benchmark, over the comparable
    results of `prior` (oldest first)."""
    out = []
    for case in current.cases:
        points: list[Point] = []
        machine = shape = missing = 0
        for run in prior:
            if fingerprint_mismatch(current.fingerprint, run.fingerprint):
                machine += 1
                continue
            old = next((c for c in run.cases if c.name == case.name), None)
            if old is None:
                missing += 1
            elif old.shape != case.shape:
                shape += 1
            else:
                points.append(point(run, old))
        points.append(point(current, case))
        left_out = tuple(
            text
            for count, text in (
                (machine, "measured on another machine (cpu, cores, kernel or arch differ)"),
                (shape, "with other arguments, input size, mode or batch size"),
                (missing, "without this case"),
            )
            if count
            for text in (f"{count} result(s) {text}",)
        )
        metric, unit, better = _metric(case)
        out.append(
            Trend(
                case.name,
                metric,
                unit,
                better,
                tuple(points),
                min(length, len(points)),
                left_out,
                judge(points, better, rule, unit),
            )
        )
    return out + micro_trends(prior, current, rule, length)


def judge(points: Sequence[Point], better: str, rule: AlertRule, unit: str = "") -> Alert:
    """The alert rule on the last point against the window of points before it.

    The limit is the worst of: `percent` beyond the window's median, NOISE_K x MAD beyond it,
    and the window's own worst result. The last term keeps a series whose median jumps now and
    then (a busy machine) from alerting on a jump it has shown before, and makes a real step
    alert once, not again on every result until the window has moved past it.
    """
    earlier = len(points) - 1
    if earlier < rule.min_prior:
        return Alert(
            "no rule", f"no alert rule: {earlier} earlier result(s), {rule.min_prior} needed"
        )
    window = [p.value for p in points[-1 - rule.window : -1]]
    reference = stats.median(window)
    noise = rule.noise_k * stats.scaled_mad(window)
    sign = 1.0 if better == "smaller" else -1.0
    by_percent = reference * rule.percent / 100
    worst = max(sign * (v - reference) for v in window)  # the window's worst excursion
    margin = max(by_percent, noise, worst)
    last = points[-1].value
    worse = sign * (last - reference)
    change = worse / reference if reference else 0.0
    limit = reference + sign * margin
    u = f" {unit}" if unit else ""
    how = f"{change * 100:+.1f} % worse than" if worse > 0 else f"{-change * 100:.1f} % better than"
    why = (
        f"{how} the median of the previous {len(window)} ({reference:.4g}{u}); alerts beyond "
        f"{limit:.4g}{u}, the largest of {rule.percent:g} %, {rule.noise_k:g} x MAD "
        f"({noise:.3g}{u}) and the window's worst ({reference + sign * worst:.4g}{u})"
    )
    noisy = max(noise, worst) > by_percent
    if noisy:
        why += (
            f"; a noisy series: its own spread (±{max(noise, worst) / reference * 100:.0f} %) "
            "sets the limit"
        )
    status: Status = "alert" if worse > margin else "ok"
    return Alert(status, why, reference, limit, change, len(window), noisy)


def alerts(all_trends: Sequence[Trend]) -> list[Trend]:
    return [t for t in all_trends if t.alert.status == "alert"]
