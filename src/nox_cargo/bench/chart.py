"""An SVG chart of base vs head distributions (one panel per case), written by hand.

Each side (and each compared command) is a row of sample dots (deterministic jitter) over its
interquartile box and a median tick; the x axis spans every row from the minimum to the 99th
percentile, so a few outliers do not squash the picture (values past it are drawn at the edge
as ▸).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from html import escape
from pathlib import PurePath

from nox_cargo.bench import stats
from nox_cargo.bench.results import BenchRun

WIDTH = 760
LEFT = 110
RIGHT = 30
ROW_H = 34
PANEL_PAD = 58
COLORS = {"base": "#7f7f7f", "head": "#1f77b4"}
MAX_DOTS = 400

Panel = tuple[str, str, list[tuple[str, list[float]]]]  # title, unit, [(side, values)]


def panels(run: BenchRun) -> list[Panel]:
    out: list[Panel] = []
    for case in run.cases:
        sides: list[tuple[str, list[float]]] = []
        for label, series in (("base", case.base), ("head", case.head)):
            if series is None:
                continue
            if case.mode == "latency":
                sides.append((label, [v * 1e-6 for v in series["wall_ns"]]))
            else:
                sides.append(
                    (label, [case.invocations / (v * 1e-9) for v in series["batch_ns_seq"]])
                )
        if case.mode == "latency":  # compared commands, under their program's name
            sides.extend(
                (PurePath(c.command[0]).name, [v * 1e-6 for v in c.samples["wall_ns"]])
                for c in case.compared
            )
        unit = "ms" if case.mode == "latency" else "invocations/s (sequential)"
        out.append(
            (f"{case.name}: {'wall time' if case.mode == 'latency' else 'throughput'}", unit, sides)
        )
    return out


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        return [low]
    step = (high - low) / (count - 1)
    return [low + i * step for i in range(count)]


def svg(run: BenchRun) -> str:
    all_panels = panels(run)
    height = sum(PANEL_PAD + ROW_H * len(p[2]) for p in all_panels) + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
    ]
    y = 10
    for title, unit, sides in all_panels:
        parts.extend(_panel(title, unit, sides, y))
        y += PANEL_PAD + ROW_H * len(sides)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _panel(title: str, unit: str, sides: Sequence[tuple[str, list[float]]], top: int) -> list[str]:
    values = [v for _, vs in sides for v in vs]
    low = min(values)
    high = max(stats.quantile(vs, 0.99) for _, vs in sides)
    if high <= low:
        high = low * 1.01 + 1e-9
    span = high - low
    low, high = low - span * 0.03, high + span * 0.03
    plot_w = WIDTH - LEFT - RIGHT

    def x(v: float) -> float:
        return LEFT + (min(max(v, low), high) - low) / (high - low) * plot_w

    out = [f'<text x="10" y="{top + 14}" font-weight="bold">{escape(title)}</text>']
    axis_y = top + 24 + ROW_H * len(sides)
    rng = random.Random(0)
    for index, (label, vs) in enumerate(sides):
        cy = top + 24 + ROW_H * index + ROW_H / 2
        color = COLORS.get(label, "#d62728")
        q1, med, q3 = stats.quantile(vs, 0.25), stats.median(vs), stats.quantile(vs, 0.75)
        out.append(f'<text x="10" y="{cy + 4:.1f}">{escape(label)} (n={len(vs)})</text>')
        out.append(
            f'<rect x="{x(q1):.1f}" y="{cy - 10:.1f}" width="{max(x(q3) - x(q1), 1):.1f}" '
            f'height="20" fill="{color}" fill-opacity="0.15" stroke="{color}"/>'
        )
        shown = vs if len(vs) <= MAX_DOTS else rng.sample(list(vs), MAX_DOTS)
        for v in shown:
            jitter = rng.uniform(-8, 8)
            if v > high:
                out.append(
                    f'<text x="{x(v) - 4:.1f}" y="{cy + jitter + 4:.1f}" '
                    f'fill="{color}" font-size="9">▸</text>'
                )
            else:
                out.append(
                    f'<circle cx="{x(v):.1f}" cy="{cy + jitter:.1f}" r="1.6" '
                    f'fill="{color}" fill-opacity="0.5"/>'
                )
        out.append(
            f'<line x1="{x(med):.1f}" x2="{x(med):.1f}" y1="{cy - 13:.1f}" '
            f'y2="{cy + 13:.1f}" stroke="{color}" stroke-width="2.5"/>'
        )
    out.append(
        f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{axis_y}" y2="{axis_y}" stroke="black"/>'
    )
    for tick in _ticks(low, high):
        tx = x(tick)
        out.append(
            f'<line x1="{tx:.1f}" x2="{tx:.1f}" y1="{axis_y}" y2="{axis_y + 4}" stroke="black"/>'
        )
        out.append(f'<text x="{tx:.1f}" y="{axis_y + 16}" text-anchor="middle">{tick:.3g}</text>')
    out.append(
        f'<text x="{LEFT + plot_w}" y="{axis_y + 30}" text-anchor="end">{escape(unit)}</text>'
    )
    return out
