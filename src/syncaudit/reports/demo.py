"""The reports `syncaudit demo` writes: this month's compliance report, transfers, ROPA."""

from __future__ import annotations

from pathlib import Path

from syncaudit.context import Context
from syncaudit.reports.monthly import write_file, write_monthly_report
from syncaudit.reports.period import current_month
from syncaudit.reports.render import render
from syncaudit.reports.ropa import build_ropa
from syncaudit.reports.transfers import build_transfers


def demo_reports(app: Context, out_dir: Path, *, lang: str) -> list[Path]:
    month = current_month(app.clock.now(), app.settings.reports.timezone)
    paths = [write_monthly_report(app, month, out_dir, lang=lang, fmt="html")]
    for kind, build in (("transfers", build_transfers), ("ropa", build_ropa)):
        path = out_dir / f"syncaudit-{kind}-{lang}.html"
        write_file(path, render(kind, build(app, lang=lang), "html"))
        paths.append(path)
    return paths
