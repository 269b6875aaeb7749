"""Reading criterion's result files (criterion.rs 0.5) after a `cargo bench` run.

Criterion writes one directory per benchmark under its home (`$CRITERION_HOME`, else
`<target dir>/criterion`): `<directory_name>/new/` holds `benchmark.json` (the ids: `full_id` is
`group/function/value`), `estimates.json` (point estimate and bootstrap interval of the mean,
median, MAD, slope, std dev; ns per iteration for the default wall-clock measurement) and
`sample.json` (`iters` and `times`: each sample's iteration count and total ns). `new/` is
written on every run unless `--discard-baseline` or `--load-baseline` is given;
`--save-baseline NAME` (default `base`) only names the copy made next to it.

Every file is checked: a missing, corrupt or truncated one is an error naming it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from nox_cargo.bench.results import MicroEstimate
from nox_cargo.errors import NoxCargoError

STATISTIC = "median"  # criterion's estimate the report and the gate use


class CriterionError(NoxCargoError):
    """criterion's output cannot be read."""


def _load(path: Path, fix: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CriterionError(f"criterion's result file {path} is missing.", fix) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CriterionError(f"Cannot read criterion's result file {path}: {exc}.", fix) from None
    except json.JSONDecodeError as exc:
        raise CriterionError(
            f"criterion's result file {path} is corrupt or truncated: not valid JSON ({exc.msg} "
            f"at line {exc.lineno}, column {exc.colno}).",
            fix,
        ) from None


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{what} is {value!r}, not a finite number")
    if value < 0:
        raise ValueError(f"{what} is negative ({value!r})")
    return float(value)


def per_iteration(sample: Any) -> tuple[float, ...]:
    """sample.json's per-sample mean iteration time (times[i] / iters[i]), as criterion's
    statistics use it."""
    iters, times = sample["iters"], sample["times"]
    if not isinstance(iters, list) or not isinstance(times, list) or len(iters) != len(times):
        raise ValueError("`iters` and `times` must be lists of the same length")
    out = []
    for i, (n, t) in enumerate(zip(iters, times, strict=True)):
        count = _number(n, f"iters[{i}]")
        if count == 0:
            raise ValueError(f"iters[{i}] is 0")
        out.append(_number(t, f"times[{i}]") / count)
    return tuple(out)


def read_benchmark(new_dir: Path, fix: str) -> tuple[str, MicroEstimate]:
    """(full id, estimate) of one benchmark's `new/` directory."""
    files = {name: new_dir / f"{name}.json" for name in ("benchmark", "estimates", "sample")}
    current = files["benchmark"]
    try:
        full_id = _load(current, fix)["full_id"]
        if not isinstance(full_id, str) or not full_id:
            raise ValueError(f"`full_id` is {full_id!r}")
        current = files["estimates"]
        median = _load(current, fix)[STATISTIC]
        interval = median["confidence_interval"]
        point = _number(median["point_estimate"], "median.point_estimate")
        low = _number(interval["lower_bound"], "median.confidence_interval.lower_bound")
        high = _number(interval["upper_bound"], "median.confidence_interval.upper_bound")
        confidence = _number(interval["confidence_level"], "confidence_level")
        if not low <= point <= high or not 0 < confidence < 1:
            raise ValueError(f"the interval [{low}, {high}] at {confidence} does not hold {point}")
        current = files["sample"]
        samples = per_iteration(_load(current, fix)) if current.is_file() else ()
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        if isinstance(exc, KeyError):
            exc = KeyError(f"no key {exc.args[0]!r}")
        raise CriterionError(
            f"criterion's result file {current} does not have the shape criterion 0.5 writes "
            f"({exc.args[0] if exc.args else exc!r}).",
            fix,
        ) from None
    return full_id, MicroEstimate(
        median_ns=point,
        low_ns=low,
        high_ns=high,
        confidence=confidence,
        samples_ns=samples,
        source=str(files["estimates"]),
    )


def read_home(home: Path, fix: str) -> dict[str, MicroEstimate]:
    """Every benchmark under criterion's home directory, by full id (sorted)."""
    found: dict[str, MicroEstimate] = {}
    if not home.is_dir():
        return found
    for benchmark in sorted(home.rglob("new/benchmark.json")):
        full_id, estimate = read_benchmark(benchmark.parent, fix)
        if full_id in found:
            raise CriterionError(
                f"Two criterion benchmarks have the id {full_id!r} ({found[full_id].source} and "
                f"{estimate.source}).",
                "give each benchmark a unique name in its group.",
            )
        found[full_id] = estimate
    return dict(sorted(found.items()))
