"""The dashboard's trend charts: inline SVG drawn on the server from snapshot points (no queries, no JavaScript).

Each chart has a <title> and a <desc> saying what it shows in words; the page puts the same
figures in a table next to it, so nothing depends on seeing the drawing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils.dateformat import format as date_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .kpi import PERCENT, format_value
from .kpi_snapshots import Trend

WIDTH, HEIGHT = 360, 150
LEFT, RIGHT, TOP, BOTTOM = 34, 8, 10, 22  # room for the axis labels
LINE_COLOUR = "#1f5fbf"
GRID_COLOUR = "#d5dbe5"
TEXT_COLOUR = "#4a5568"


def _nice_ceiling(value: Decimal) -> int:
    """The smallest of 2, 4, 10, 20, 40, 100, ... at or above `value`: a count axis whose middle line is a
    whole number too."""
    magnitude = 1
    while True:
        for base in (2, 4, 10):
            if base * magnitude >= value:
                return base * magnitude
        magnitude *= 10


def axis_top(trend: Trend) -> int:
    if trend.metric.unit == PERCENT:
        return 100
    highest = max(trend.values, default=Decimal(0))
    return _nice_ceiling(max(highest, Decimal(1)))


def _x(day: dt.date, start: dt.date, end: dt.date) -> float:
    span = max((end - start).days, 1)
    return LEFT + (WIDTH - LEFT - RIGHT) * (day - start).days / span


def _y(value: Decimal, top: int) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - float(value) / top)


def _month_starts(start: dt.date, end: dt.date) -> list[dt.date]:
    day = dt.date(start.year, start.month, 1)
    found = []
    while day <= end:
        if day >= start:
            found.append(day)
        day = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return found


def describe(trend: Trend) -> str:
    """The chart in words: first and last snapshot, lowest and highest."""
    unit = trend.metric.unit
    points = [p for p in trend.points if p.value is not None]
    if not points:
        return f"No snapshots of {trend.metric.label.lower()} between {trend.start:%d %b %Y} and {trend.end:%d %b %Y}."
    first, last = points[0], points[-1]
    low = min(points, key=lambda p: p.value)
    high = max(points, key=lambda p: p.value)
    return (f"{format_value(first.value, unit)} on {first.day:%d %b %Y}, {format_value(last.value, unit)} on "
            f"{last.day:%d %b %Y}; lowest {format_value(low.value, unit)} ({low.day:%d %b %Y}), highest "
            f"{format_value(high.value, unit)} ({high.day:%d %b %Y}).")


def trend_chart_svg(trend: Trend, *, chart_id: str) -> SafeString:
    """A line chart of the trend's snapshots over its period; breaks where a day had nothing to count."""
    top = axis_top(trend)
    unit = trend.metric.unit
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-labelledby="{title_id} {desc_id}" font-family="sans-serif" font-size="10" '
        f'class="kpi-chart">',
        f'<title id="{title_id}">{escape(trend.metric.label)}, {trend.start:%d %b %Y} to {trend.end:%d %b %Y}</title>',
        f'<desc id="{desc_id}">{escape(describe(trend))}</desc>',
    ]
    for fraction in (0, Decimal("0.5"), 1):  # horizontal grid: bottom, middle, top
        value = Decimal(top) * fraction
        y = _y(value, top)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="{GRID_COLOUR}"/>'
                     f'<text x="{LEFT - 4}" y="{y + 3:.1f}" text-anchor="end" fill="{TEXT_COLOUR}">'
                     f'{escape(format_value(value.quantize(Decimal(1)) if value % 1 == 0 else value, unit))}</text>')
    for month in _month_starts(trend.start, trend.end)[::2]:  # every other month, labelled
        x = _x(month, trend.start, trend.end)
        parts.append(f'<line x1="{x:.1f}" y1="{HEIGHT - BOTTOM}" x2="{x:.1f}" y2="{HEIGHT - BOTTOM + 3}" '
                     f'stroke="{TEXT_COLOUR}"/><text x="{x:.1f}" y="{HEIGHT - 6}" text-anchor="middle" '
                     f'fill="{TEXT_COLOUR}">{escape(date_format(month, "M y"))}</text>')
    segments, current = [], []
    for point in trend.points:
        if point.value is None:
            if current:
                segments.append(current)
            current = []
            continue
        current.append((_x(point.day, trend.start, trend.end), _y(point.value, top)))
    if current:
        segments.append(current)
    for segment in segments:
        if len(segment) == 1:
            x, y = segment[0]
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{LINE_COLOUR}"/>')
        else:
            coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in segment)
            parts.append(f'<polyline points="{coords}" fill="none" stroke="{LINE_COLOUR}" stroke-width="2"/>')
    if segments:  # the latest value, marked
        x, y = segments[-1][-1]
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{LINE_COLOUR}"/>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text above is escaped
