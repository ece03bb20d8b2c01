"""Libraries' pretty-printers stay unloaded: each command's memory and start-up (syncaudit.lean)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from syncaudit.lean import hidden


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_structlog_httpx_and_alembic_load_without_rich_or_pygments(tmp_path: Path) -> None:
    code = (
        "import sys, syncaudit, structlog, httpx\n"
        "from syncaudit.db import make_engine, migrate\n"
        f"migrate(make_engine('sqlite:///{tmp_path / 'x.db'}'))\n"  # as an old index upgrades
        "loaded = sorted(m for m in ('rich', 'pygments') if m in sys.modules)\n"
        "print(loaded, 'alembic' in sys.modules)\n"
        "import rich.console, pygments\n"  # still there for whoever asks (typer's --help)
        "print(rich.console.Console.__name__)"
    )
    assert _run(code).splitlines() == ["[] True", "Console"]


def test_a_console_log_renders_exceptions_plain_without_locals() -> None:
    code = (
        "import io, syncaudit.logging as L, structlog\n"
        "out = io.StringIO(); L.configure(stream=out)\n"
        "def fail(secret='Anna Virtanen'):\n"
        "    raise ValueError('boom')\n"
        "try:\n    fail()\n"
        "except ValueError:\n    structlog.get_logger('t').exception('x.failed')\n"
        "print(repr(out.getvalue()))"
    )
    text = _run(code)
    assert "ValueError: boom" in text and "Traceback" in text
    assert "Anna Virtanen" not in text  # rich's tracebacks print every frame's locals


def test_hidden_packages_fail_to_import_inside_and_load_after() -> None:
    sys.modules.pop("tomllib", None)  # any importable package not loaded yet
    with hidden("tomllib"):
        try:
            import tomllib
        except ImportError:
            failed = True
        else:
            failed = False
    assert failed
    import tomllib

    assert tomllib.loads("a = 1") == {"a": 1}
