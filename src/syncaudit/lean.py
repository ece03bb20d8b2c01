"""Imports without the pretty-printers libraries load for features syncaudit never uses.

rich and pygments are installed (typer draws --help with rich; pytest needs pygments), and three
libraries load them when present: structlog for tracebacks that print every frame's locals (a
local may hold an address: syncaudit.logging renders plain ones), httpx for its own command
line, mako (alembic's templates) to colour its errors. That is ~12 MiB and ~0.1 s per command,
a tenth of a sync's memory budget.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def hidden(*packages: str) -> Iterator[None]:
    """Within the block, `packages` look uninstalled (their import fails, as the libraries
    above expect when they are absent); afterwards they load as usual for whoever asks. A
    package already loaded cannot be hidden, and is left alone."""
    masked = [name for name in packages if name not in sys.modules]
    for name in masked:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` fail
    try:
        yield
    finally:
        for name in masked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


def without_unused_extras() -> None:
    """Run once, before anything imports structlog or httpx (the package's __init__)."""
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]  # httpx: a `main` stub
    with hidden("rich"):
        import structlog  # noqa: F401
