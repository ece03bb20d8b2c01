"""Reports: monthly compliance, third-country transfers, record of processing (Art. 30)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from syncaudit.app import App


def demo_reports(app: App, out_dir: Path, *, lang: str) -> list[Path]:
    """The reports `syncaudit demo` writes (monthly for the current month, transfers, ROPA)."""
    return []
