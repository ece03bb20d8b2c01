"""Access exports written from the console: kept `[web].export_keep_days`, then deleted.

The files hold the person's data (the HTML and JSON of `rights.access.access_export`), so the
console keeps them only as long as the owner needs to send them, and offers them for download
only while the request is completed and the files are younger than the limit.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import select

from syncaudit import audit
from syncaudit.erasure.states import RequestState
from syncaudit.models import ErasureRequest

if TYPE_CHECKING:
    from syncaudit.app import App

log = structlog.get_logger("syncaudit.web")
FILE_RE = re.compile(r"access-(A-\d{8}-[0-9a-f]{6})\.(html|json)")
FORMATS = ("html", "json")


@dataclass(frozen=True, kw_only=True)
class ExportFile:
    request_id: str
    fmt: str
    path: Path
    size: int
    written_at: float  # POSIX time
    expires_at: float


def export_dir(app: App) -> Path:
    return app.settings.web.export_dir


def _keep_seconds(app: App) -> float:
    return app.settings.web.export_keep_days * 86400.0


def purge_expired(app: App, operator: str | None = None) -> int:
    """Delete export files past their limit (and leftovers of interrupted writes)."""
    folder = export_dir(app)
    if not folder.is_dir():
        return 0
    limit = time.time() - _keep_seconds(app)
    removed: list[str] = []
    for path in folder.iterdir():
        match = FILE_RE.fullmatch(path.name)
        stale_tmp = path.name.endswith(".tmp") and path.stat().st_mtime < limit
        if (match and path.stat().st_mtime < limit) or stale_tmp:
            path.unlink(missing_ok=True)
            if match:
                removed.append(match.group(1))
    if removed:
        with app.db.session() as s, s.begin():
            for request_id in sorted(set(removed)):
                audit.append(
                    s,
                    "web.export_deleted",
                    at=app.clock.now(),
                    request_id=request_id,
                    operator=operator or "",
                    reason="keep period over",
                )
        log.info("web.exports_deleted", requests=len(set(removed)))
    return len(removed)


def list_exports(app: App) -> list[ExportFile]:
    """Files of completed access requests still kept, newest first."""
    folder = export_dir(app)
    if not folder.is_dir():
        return []
    keep = _keep_seconds(app)
    found = []
    for path in folder.iterdir():
        match = FILE_RE.fullmatch(path.name)
        if match:
            stat = path.stat()
            found.append(
                ExportFile(
                    request_id=match.group(1),
                    fmt=match.group(2),
                    path=path,
                    size=stat.st_size,
                    written_at=stat.st_mtime,
                    expires_at=stat.st_mtime + keep,
                )
            )
    completed = _completed(app, {f.request_id for f in found})
    return sorted(
        (f for f in found if f.request_id in completed),
        key=lambda f: (-f.written_at, f.request_id, f.fmt),
    )


def _completed(app: App, ids: set[str]) -> set[str]:
    if not ids:
        return set()
    with app.db.session() as s:
        return set(
            s.scalars(
                select(ErasureRequest.id).where(
                    ErasureRequest.id.in_(sorted(ids)),
                    ErasureRequest.state == RequestState.COMPLETED,
                )
            )
        )


def export_file(app: App, request_id: str, fmt: str) -> ExportFile | None:
    """The kept file of a completed access request, or None (unknown, open, or deleted)."""
    if fmt not in FORMATS:
        return None
    for f in list_exports(app):
        if f.request_id == request_id and f.fmt == fmt:
            return f
    return None
