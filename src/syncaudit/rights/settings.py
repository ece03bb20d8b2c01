"""Config section owned by rights: [retention]."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def parse_retention(raw: Mapping[str, Any], env: Mapping[str, str], problems: list[str]) -> Any:
    """Validate [retention]; append every problem with its key path."""
    return None
