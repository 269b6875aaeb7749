"""Machine-readable exports: github-action-benchmark's custom formats and hyperfine's JSON.

- `github-action-benchmark-smaller.json` / `-bigger.json`: arrays of `{name, unit, value, range,
  extra}` for the `customSmallerIsBetter` / `customBiggerIsBetter` tools of
  benchmark-action/github-action-benchmark (head values only: the action keeps the history).
- `hyperfine.json`: `{"results": [...]}` as `hyperfine --export-json` writes it (times in
  seconds), one result per latency case and side, so existing hyperfine tooling can read it.
"""

from __future__ import annotations

import json
import math
import shlex
import statistics
from collections.abc import Sequence
from typing import Any

from nox_cargo.bench import stats
from nox_cargo.bench.compare import Row
from nox_cargo.bench.results import BenchRun


def github_action_benchmark(
    rows: Sequence[Row],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(customSmallerIsBetter entries, customBiggerIsBetter entries)."""
    smaller: list[dict[str, Any]] = []
    bigger: list[dict[str, Any]] = []
    for row in rows:
        if row.metric == "runs" or row.verdict == "not measured" or math.isnan(row.head):
            continue
        entry: dict[str, Any] = {
            "name": f"{row.case} — {row.metric}",
            "unit": row.unit or "count",
            "value": round(row.head, 6),
        }
        if row.spread is not None:
            entry["range"] = f"± {row.spread:.6g}"
        if row.ci is not None and not row.ci_is_ratio:
            entry["extra"] = f"99% CI [{row.ci[0]:.6g}, {row.ci[1]:.6g}]"
        (bigger if row.better == "bigger" else smaller).append(entry)
    return smaller, bigger


def hyperfine(run: BenchRun) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    binaries = {"head": run.head.binary, **({"base": run.base.binary} if run.base else {})}
    for case in run.cases:
        if case.mode != "latency":
            continue
        sides = [("head", [binaries["head"], *case.args], case.head)]
        if case.base is not None:
            sides.insert(0, ("base", [binaries["base"], *case.args], case.base))
        sides.extend(("compared", list(c.command), c.samples) for c in case.compared)
        for label, argv, series in sides:
            times = [t * 1e-9 for t in series["wall_ns"]]
            results.append(
                {
                    "command": f"{case.name} ({label}): " + shlex.join(argv),
                    "mean": statistics.fmean(times),
                    "stddev": statistics.stdev(times) if len(times) > 1 else None,
                    "median": stats.median(times),
                    "user": statistics.fmean(series["user_us"]) * 1e-6,
                    "system": statistics.fmean(series["sys_us"]) * 1e-6,
                    "min": min(times),
                    "max": max(times),
                    "times": times,
                    "memory_usage_byte": [int(k * 1024) for k in series["maxrss_kib"]],
                    "exit_codes": [0] * len(times),
                }
            )
    return {"results": results}


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2) + "\n"
