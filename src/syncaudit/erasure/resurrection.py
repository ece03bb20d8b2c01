"""The resurrection guard: a tombstoned address met again by a sync.

No plaintext is stored; a resurrection row and an audit entry record what was seen where, and (by
default) a new erasure is queued for the systems it reappeared in. An open request for the same
person absorbs repeats, so a person seen on every sync is erased once, not once per sync.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import structlog
from sqlalchemy.orm import Session

from syncaudit import audit
from syncaudit.erasure.refs import ref_to_json
from syncaudit.erasure.requests import open_request_for, submit
from syncaudit.models import ErasureTask
from syncaudit.models import Resurrection as ResurrectionRow
from syncaudit.sync import SeenAgain

if TYPE_CHECKING:
    from syncaudit.app import App

log = structlog.get_logger("syncaudit.resurrection")


class ResurrectionGuard:
    def __init__(self, app: App) -> None:
        self.app = app

    def __call__(self, session: Session, seen: Sequence[SeenAgain], now: datetime) -> None:
        erase = self.app.settings.erasure.on_resurrection == "erase"
        for item in seen:
            existing = open_request_for(session, item.pseudonym)
            request_id = existing.id if existing else None
            if erase and existing is None:
                request_id = submit(
                    self.app,
                    item.email,
                    reason="resurrection: seen again in a sync",
                    origin="resurrection",
                    systems=[item.system],
                    session=session,
                )
            elif erase and existing is not None:
                _ensure_task(session, existing.id, item, now)
            session.add(
                ResurrectionRow(
                    pseudonym=item.pseudonym,
                    system=item.system,
                    stream=item.stream,
                    external_id=item.external_id,
                    seen_at=now,
                    action="erase" if erase else "alert",
                    request_id=request_id,
                )
            )
            audit.append(
                session,
                "resurrection.detected",
                at=now,
                subject=item.pseudonym,
                request_id=request_id,
                system=item.system,
                kind=str(item.kind),
                action="erase" if erase else "alert",
            )
            log.warning(
                "erasure.resurrection",
                system=item.system,
                subject=item.pseudonym[:12],
                request=request_id,
            )


def _ensure_task(session: Session, request_id: str, item: SeenAgain, now: datetime) -> None:
    from sqlalchemy import select

    from syncaudit.contract import RecordRef
    from syncaudit.erasure.states import TaskState

    task = session.scalar(
        select(ErasureTask).where(
            ErasureTask.request_id == request_id, ErasureTask.system == item.system
        )
    )
    if task is None:
        session.add(
            ErasureTask(
                request_id=request_id,
                system=item.system,
                state=TaskState.PENDING,
                refs=None,
                outcomes=[],
                created_at=now,
                updated_at=now,
            )
        )
    elif task.state == TaskState.VERIFIED:
        ref = RecordRef(
            system=item.system,
            kind=item.kind,
            external_id=item.external_id,
            stream=item.stream,
            locator=item.locator,
        )
        task.refs = [*(task.refs or []), ref_to_json(ref)]
        task.state, task.next_attempt_at, task.updated_at = TaskState.PENDING, None, now
