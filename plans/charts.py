"""Chart data for plan pages and exports, computed from SNAPSHOT dicts only.

The inputs are lists shaped like `plans.services.process_snapshot` / `risk_snapshot`
(a version's `content_json["processes"]` / `["risks"]`, or the live rows turned into
snapshots), so the same functions draw the plan page, an old version and the PDF.
No queries, no JavaScript: the heat map is an HTML table, the recovery chart an SVG.
"""

from __future__ import annotations

from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from templates_app.values import format_minutes

from .models import Risk
from .risk import BANDS, IMPACT_SCORES, LIKELIHOOD_SCORES


def _band(score: int) -> str:
    for upper, rating in BANDS:
        if score <= upper:
            return str(rating)
    return str(BANDS[-1][1])


def _name(label: str) -> str:
    """ "3 Possible" -> "Possible" (the scale number is shown separately)."""
    return label.split(" ", 1)[-1]


def risk_heatmap(risks: list[dict[str, Any]]) -> dict[str, Any]:
    """A 5x5 likelihood x impact grid with the number of risks in each cell.

    Returns::

        {
          "rows": [                      # likelihood 5 (top) down to 1
            {"likelihood": "almost_certain", "label": "5 Almost certain", "name": "Almost certain", "score": 5,
             "cells": [                  # impact 1 (left) to 5
               {"impact": "insignificant", "likelihood": "almost_certain", "score": 5,
                "band": "medium", "band_label": "Medium", "count": 0, "threats": []},
               ...]},
            ...],
          "impacts": [{"value": "insignificant", "label": "1 Insignificant", "name": "Insignificant",
                       "score": 1}, ...],
          "likelihood_axis": "Likelihood", "impact_axis": "Impact",
          "total": 7,                    # risks placed on the grid
          "unplaced": 0,                 # risks whose likelihood or impact is not on the scales
          "bands": [{"band": "low", "label": "Low", "range": "1-4"}, ...],
        }

    `band` is the rating a risk in that cell gets (`plans.risk` bands of likelihood x impact).
    """
    counts: dict[tuple[str, str], list[str]] = {}
    unplaced = 0
    for risk in risks:
        key = (risk.get("likelihood"), risk.get("impact"))
        if key[0] in LIKELIHOOD_SCORES and key[1] in IMPACT_SCORES:
            counts.setdefault(key, []).append(str(risk.get("threat", "")))
        else:
            unplaced += 1
    labels = dict(Risk.Rating.choices)
    impacts = [{"value": v, "label": label, "name": _name(label), "score": IMPACT_SCORES[v]}
               for v, label in Risk.Impact.choices]
    rows = []
    for value, label in reversed(Risk.Likelihood.choices):
        likelihood_score = LIKELIHOOD_SCORES[value]
        cells = []
        for impact in impacts:
            score = likelihood_score * impact["score"]
            band = _band(score)
            threats = counts.get((value, impact["value"]), [])
            cells.append({
                "likelihood": value, "impact": impact["value"], "score": score, "band": band,
                "band_label": labels[band], "count": len(threats), "threats": threats,
            })
        rows.append({"likelihood": value, "label": label, "name": _name(label), "score": likelihood_score,
                     "cells": cells})
    bands, lower = [], 1
    for upper, rating in BANDS:
        bands.append({"band": str(rating), "label": labels[rating], "range": f"{lower}-{upper}"})
        lower = upper + 1
    return {
        "rows": rows, "impacts": impacts, "likelihood_axis": "Likelihood", "impact_axis": "Impact",
        "total": len(risks) - unplaced, "unplaced": unplaced, "bands": bands,
    }


def _minutes_label(minutes: int | None) -> str:
    return "not set" if minutes is None else format_minutes(minutes)


RTO_COLOUR = "#1f5fbf"
MTPD_COLOUR = "#a15c00"


def recovery_chart_svg(processes: list[dict[str, Any]], *, width: int = 360) -> SafeString:
    """An SVG bar chart: per process, its name, then its RTO bar above its MTPD bar, on one scale.

    All bars share the scale of the longest RTO or MTPD, so processes compare at a glance.
    A process whose RTO is longer than its MTPD is flagged with "⚠ RTO exceeds MTPD". Every
    text is escaped, so the result is safe to insert into a page (`{{ svg }}`) or a PDF.
    Returns an empty string when there are no processes.
    """
    if not processes:
        return mark_safe("")
    pad, bar_h, value_w, top = 4, 12, 125, 26
    chart_w = width - pad * 2 - value_w
    longest = max([p.get(k) or 0 for p in processes for k in ("rto_minutes", "mtpd_minutes")] + [1])
    row_h = 16 + (bar_h + 3) * 2 + 10
    height = top + row_h * len(processes)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-labelledby="recovery-chart-title" font-family="sans-serif" '
        f'font-size="12">',
        '<title id="recovery-chart-title">Recovery time objective (RTO) compared with the maximum '
        "tolerable period of disruption (MTPD) per process</title>",
        f'<rect x="{pad}" y="6" width="10" height="10" fill="{RTO_COLOUR}"/>'
        f'<text x="{pad + 14}" y="15">RTO</text>',
        f'<rect x="{pad + 60}" y="6" width="10" height="10" fill="{MTPD_COLOUR}"/>'
        f'<text x="{pad + 74}" y="15">MTPD</text>',
    ]
    for index, process in enumerate(processes):
        y = top + index * row_h
        name = str(process.get("name", ""))
        rto, mtpd = process.get("rto_minutes"), process.get("mtpd_minutes")
        late = rto is not None and mtpd is not None and rto > mtpd
        room = 28 if late else 48
        short = name if len(name) <= room else name[:room - 1] + "…"
        warning = '<tspan fill="#b3261e" font-weight="normal"> ⚠ RTO exceeds MTPD</tspan>' if late else ""
        parts.append(
            f'<text x="{pad}" y="{y + 12}" font-weight="bold"><title>{escape(name)}</title>{escape(short)}'
            f"{warning}</text>"
        )
        for offset, (value, colour, what) in enumerate(((rto, RTO_COLOUR, "RTO"), (mtpd, MTPD_COLOUR, "MTPD"))):
            bar_y = y + 16 + offset * (bar_h + 3)
            bar_w = 0 if value is None else max(2, round(chart_w * value / longest))
            parts.append(
                f'<rect x="{pad}" y="{bar_y}" width="{bar_w}" height="{bar_h}" fill="{colour}">'
                f"<title>{what} of {escape(name)}: {escape(_minutes_label(value))}</title></rect>"
                f'<text x="{pad + bar_w + 4}" y="{bar_y + bar_h - 2}" font-size="11">'
                f"{what} {escape(_minutes_label(value))}</text>"
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text above is escaped
