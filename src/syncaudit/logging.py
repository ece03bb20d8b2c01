"""structlog set-up: readable console or JSON, stable event names, no plaintext addresses.

The last line of defence: `redact_emails` replaces anything that looks like an email address, in
any field of any event (nested too), with its keyed pseudonym.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, MutableMapping
from typing import Any, TextIO

import structlog

from syncaudit.identity import Pseudonymizer, try_normalize_email

EMAIL_RE = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_state: dict[str, Pseudonymizer | None] = {"pseudonymizer": None}


def set_pseudonymizer(pseudo: Pseudonymizer | None) -> None:
    """With a key, addresses in logs become pseudonyms; without, a bare `<email>`."""
    _state["pseudonymizer"] = pseudo


def redact_text(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        normalized = try_normalize_email(match.group(0))
        pseudo = _state["pseudonymizer"]
        if pseudo is None or normalized is None:
            return "<email>"
        return pseudo.short(pseudo.of_normalized(normalized))

    return EMAIL_RE.sub(replace, text) if "@" in text else text


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return (
            type(value)(_redact(v) for v in value)
            if not isinstance(value, set)
            else [_redact(v) for v in value]
        )
    if isinstance(value, BaseException):
        return redact_text(f"{type(value).__name__}: {value}")
    return value


def redact_emails(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in list(event_dict.items()):
        event_dict[key] = _redact(value)
    return event_dict


def _redact_rendered(renderer: Callable[..., Any]) -> Callable[..., Any]:
    """Exceptions are rendered to text late; redact the final text too."""

    def render(logger: Any, method: str, event_dict: MutableMapping[str, Any]) -> Any:
        out = renderer(logger, method, event_dict)
        return redact_text(out) if isinstance(out, str) else out

    return render


class _Stderr:
    """Whatever sys.stderr is at write time (test runners swap it out and close it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def configure(*, fmt: str = "console", level: str = "info", stream: TextIO | None = None) -> None:
    out: Any = stream or _Stderr()
    renderer: Callable[..., Any]
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer(sort_keys=True)
    else:
        # plain: rich's tracebacks print every frame's locals, and a local may be an address
        renderer = structlog.dev.ConsoleRenderer(
            colors=out.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_emails,
            structlog.processors.format_exc_info if fmt == "json" else _noop,
            _redact_rendered(renderer),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )


def _noop(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    return event_dict
