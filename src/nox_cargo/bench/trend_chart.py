"""bench-trend.svg: one small-multiple panel per case over the saved results, written by hand.

x: the results in order, labelled with short commit and UTC date; y: the median with its 99 %
interval as a shaded band; the window median the alert rule compares with (dotted) and the alert
limit (dashed red) drawn over the last result; the last point ringed red when it alerts.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from nox_cargo.bench.history import Trend

WIDTH = 760
LEFT = 105  # room for the y ticks and for the first rotated x label
RIGHT = 20
PLOT_H = 120
TITLE_H = 40
LABELS_H = 70
PANEL_H = TITLE_H + PLOT_H + LABELS_H
LINE = "#1f77b4"
ALERT = "#d62728"


def svg(trends: Sequence[Trend]) -> str:
    height = PANEL_H * len(trends) + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
    ]
    for index, trend in enumerate(trends):
        parts.append(f'<g class="panel" id="trend-{index}">')
        parts.extend(_panel(trend, 5 + index * PANEL_H))
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 1000 else f"{value:.3g}"


def _panel(trend: Trend, top: int) -> list[str]:
    points = trend.drawn
    alert = trend.alert
    values = [p.low for p in points] + [p.high for p in points]
    values += [v for v in (alert.limit, alert.reference) if v is not None]
    low, high = min(values), max(values)
    if high <= low:
        high = low * 1.01 + 1e-9
    pad = (high - low) * 0.08
    low, high = low - pad, high + pad
    plot_w = WIDTH - LEFT - RIGHT
    y0 = top + TITLE_H

    def x(i: int) -> float:
        return LEFT + (plot_w / 2 if len(points) == 1 else plot_w * i / (len(points) - 1))

    def y(v: float) -> float:
        return y0 + PLOT_H - (v - low) / (high - low) * PLOT_H

    verdict = {"alert": "ALERT", "ok": "no alert", "no rule": alert.message}[alert.status]
    if alert.noisy and alert.status == "ok":
        verdict += " (a noisy series: its own noise sets the limit)"
    title = f"{trend.case}: {trend.metric} — {verdict}"
    out = [
        f'<text x="10" y="{top + 16}" font-weight="bold"'
        f"{f' fill={chr(34)}{ALERT}{chr(34)}' if alert.status == 'alert' else ''}>"
        f"{escape(title)}</text>",
        f'<text x="10" y="{top + 31}" font-size="10" fill="#555">{escape(_subtitle(trend))}</text>',
        f'<rect x="{LEFT}" y="{y0}" width="{plot_w}" height="{PLOT_H}" fill="none" stroke="#ccc"/>',
    ]
    for tick in (low + pad, (low + high) / 2, high - pad):
        out.append(
            f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" font-size="10">'
            f"{_fmt(tick)}</text>"
        )
        out.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            'stroke="#eee"/>'
        )
    out.append(
        f'<text x="{LEFT - 50}" y="{y0 + PLOT_H / 2:.1f}" font-size="10" '
        f'transform="rotate(-90 {LEFT - 50} {y0 + PLOT_H / 2:.1f})" text-anchor="middle">'
        f"{escape(trend.unit)}</text>"
    )
    band = [f"{x(i):.1f},{y(p.high):.1f}" for i, p in enumerate(points)]
    band += [f"{x(i):.1f},{y(p.low):.1f}" for i, p in reversed(list(enumerate(points)))]
    if len(points) > 1:
        out.append(
            f'<polygon class="ci" points="{" ".join(band)}" fill="{LINE}" fill-opacity="0.15"/>'
        )
        line = " ".join(f"{x(i):.1f},{y(p.value):.1f}" for i, p in enumerate(points))
        out.append(f'<polyline points="{line}" fill="none" stroke="{LINE}" stroke-width="1.5"/>')
    for i, p in enumerate(points):
        out.append(
            f'<line x1="{x(i):.1f}" x2="{x(i):.1f}" y1="{y(p.low):.1f}" y2="{y(p.high):.1f}" '
            f'stroke="{LINE}" stroke-opacity="0.5"/>'
        )
        out.append(f'<circle cx="{x(i):.1f}" cy="{y(p.value):.1f}" r="2.5" fill="{LINE}"/>')
        label_x, label_y = x(i), y0 + PLOT_H + 10
        out.append(
            f'<text x="{label_x:.1f}" y="{label_y:.1f}" font-size="9" text-anchor="end" '
            f'transform="rotate(-40 {label_x:.1f} {label_y:.1f})">{escape(p.label)}</text>'
        )
    if alert.reference is not None and alert.limit is not None:
        first = max(0, len(points) - 1 - alert.window)
        x1, x2 = x(first), x(len(points) - 1)
        out.append(
            f'<line class="reference" x1="{x1:.1f}" x2="{x2:.1f}" y1="{y(alert.reference):.1f}" '
            f'y2="{y(alert.reference):.1f}" stroke="#555" stroke-dasharray="2 3"/>'
        )
        out.append(
            f'<line class="alert-limit" x1="{x1:.1f}" x2="{x2:.1f}" y1="{y(alert.limit):.1f}" '
            f'y2="{y(alert.limit):.1f}" stroke="{ALERT}" stroke-dasharray="6 4"/>'
        )
        limit_y = y(alert.limit) - 3
        if limit_y < y0 + 10:  # no room above the line: write under it
            limit_y = y(alert.limit) + 11
        out.append(
            f'<text x="{x1 + 3:.1f}" y="{limit_y:.1f}" font-size="9" '
            f'fill="{ALERT}">alert limit {_fmt(alert.limit)}</text>'
        )
    if alert.status == "alert":
        lx, ly = x(len(points) - 1), y(points[-1].value)
        out.append(
            f'<circle class="alert" cx="{lx:.1f}" cy="{ly:.1f}" r="7" fill="none" '
            f'stroke="{ALERT}" stroke-width="2"/>'
        )
        out.append(
            f'<text x="{lx - 10:.1f}" y="{ly - 10:.1f}" text-anchor="end" font-weight="bold" '
            f'fill="{ALERT}">▲ {(alert.change or 0) * 100:+.1f} %</text>'
        )
    return out


def _subtitle(trend: Trend) -> str:
    shown = f"last {trend.shown} of {len(trend.points)} comparable result(s)"
    band = "median with its 99 % interval (band)"
    rest = "; left out: " + "; ".join(trend.left_out) if trend.left_out else ""
    return f"{shown}; {band}{rest}"
