"""Config sections owned by reports: [reports] and [[activities]] (the Art. 30 record)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def parse_reports(raw: Mapping[str, Any], env: Mapping[str, str], problems: list[str]) -> Any:
    """Validate [reports] and [[activities]]; append every problem with its key path."""
    return None
