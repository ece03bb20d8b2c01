"""Inline SVG charts: no script, no external file, readable on paper in black and white.

Each chart is drawn from the report data it illustrates, so a chart never shows a figure the
tables do not. Colours differ in lightness too, and every bar carries its number.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from markupsafe import Markup, escape

from syncaudit.reports.i18n import Formatter

COLOURS = {"in_time": "#2f6f4f", "late": "#b3261e", "open": "#c9c9c9"}
FONT = 'font-family="DejaVu Sans, Arial, sans-serif"'


def _text(
    x: float, y: float, text: str, *, size: int = 11, anchor: str = "start", **extra: str
) -> str:
    attrs = "".join(f' {k.replace("_", "-")}="{escape(v)}"' for k, v in extra.items())
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" {FONT}{attrs}>'
        f"{escape(text)}</text>"
    )


def _svg(width: int, height: int, title: str, body: list[str]) -> Markup:
    return Markup(  # noqa: S704 -- every text put in above went through escape()
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def weekly_chart(weeks: list[dict[str, Any]], fmt: Formatter) -> Markup:
    """Erasure requests received per week, stacked by: completed in time, late, still open."""
    _ = fmt.gettext
    width, height, left, bottom, top = 640, 190, 40, 46, 18
    plot_h = height - bottom - top
    peak = max([w["received"] for w in weeks] + [1])
    step = (width - left - 10) / max(len(weeks), 1)
    base = top + plot_h
    body = [f'<line x1="{left}" y1="{base}" x2="{width - 10}" y2="{base}" stroke="#333"/>']
    for tick in sorted({0, peak // 2, peak}):
        y = top + plot_h - plot_h * tick / peak
        body.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" stroke="#e3e3e3"/>'
        )
        body.append(_text(left - 6, y + 4, fmt.number(tick), size=10, anchor="end"))
    for index, week in enumerate(weeks):
        x = left + index * step + step * 0.2
        y = top + plot_h
        for key in ("in_time", "late", "open"):
            h = plot_h * week[key] / peak
            if h:
                y -= h
                body.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.6:.1f}" height="{h:.1f}" '
                    f'fill="{COLOURS[key]}" stroke="#333" stroke-width="0.5"/>'
                )
        if week["received"]:
            body.append(_text(x + step * 0.3, y - 4, fmt.number(week["received"]), anchor="middle"))
        label = fmt.day_month(week["week_start"])
        body.append(_text(x + step * 0.3, top + plot_h + 16, label, size=10, anchor="middle"))
    body.append(_legend(fmt, top + plot_h + 36, left))
    return _svg(width, height, _("Erasure requests received per week"), body)


def _legend(fmt: Formatter, y: float, x: float) -> str:
    labels = {
        "in_time": fmt.gettext("completed within the deadline"),
        "late": fmt.gettext("late"),
        "open": fmt.gettext("open"),
    }
    parts = []
    for key, label in labels.items():
        parts.append(
            f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{COLOURS[key]}" '
            'stroke="#333" stroke-width="0.5"/>'
        )
        parts.append(_text(x + 14, y, label, size=10))
        x += 34 + 6.2 * len(label)
    return "".join(parts)


def completion_chart(lines: list[dict[str, Any]], deadline_hours: int, fmt: Formatter,
                     start: datetime, end: datetime) -> Markup:  # fmt: skip
    """Hours each erasure request completed in the month took, against the deadline."""
    _ = fmt.gettext
    done = [
        line
        for line in lines
        if line["kind"] == "erasure"
        and line["completed_at"]
        and start <= datetime.fromisoformat(line["completed_at"]) < end
    ]
    row_h, left, right = 18, 150, 60
    width = 640
    height = 40 + row_h * max(len(done), 1) + 10
    scale_max = max([deadline_hours * 1.25] + [line["hours_to_complete"] * 1.05 for line in done])
    plot_w = width - left - right
    body: list[str] = []
    if not done:
        body.append(_text(left, 40, _("No erasure request was completed in this month.")))
    for index, line in enumerate(done):
        y = 30 + index * row_h
        w = max(plot_w * line["hours_to_complete"] / scale_max, 1.0)
        colour = COLOURS["in_time" if line["within_deadline"] else "late"]
        body.append(_text(left - 6, y + 12, line["id"], size=10, anchor="end"))
        body.append(
            f'<rect x="{left}" y="{y + 2}" width="{w:.1f}" height="{row_h - 6}" fill="{colour}" '
            'stroke="#333" stroke-width="0.5"/>'
        )
        body.append(
            _text(left + w + 4, y + 12, fmt.hours(line["hours_to_complete"]) + " h", size=10)
        )
    x = left + plot_w * deadline_hours / scale_max
    body.append(
        f'<line x1="{x:.1f}" y1="22" x2="{x:.1f}" y2="{height - 6}" stroke="#b3261e" '
        'stroke-width="1.5" stroke-dasharray="5,3"/>'
    )
    caption = _("deadline %(hours)s h") % {"hours": fmt.number(deadline_hours)}
    body.append(_text(x, 16, caption, size=10, anchor="middle"))
    return _svg(width, height, _("Time to complete each erasure request"), body)
