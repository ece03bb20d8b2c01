"""CLI commands of the service area; registered by syncaudit.cli. Heavy imports inside commands."""

from __future__ import annotations

import typer

app = typer.Typer()
