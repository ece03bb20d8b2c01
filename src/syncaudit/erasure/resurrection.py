"""The resurrection guard: a tombstoned address met again by a sync.

No plaintext is stored; a resurrection row and an audit entry record what was seen where, and (by
default) a new erasure is queued for the records it reappeared in. That request holds no address:
the records found by the pull (system, external id, locator) and the tombstone's pseudonym are
enough to erase and verify them again. An open request for the same person absorbs repeats, so a
person seen on every sync is erased once, not once per sync.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from syncaudit import audit
from syncaudit.context import Context
from syncaudit.contract import RecordRef
from syncaudit.erasure.refs import ref_to_json
from syncaudit.erasure.requests import open_request_for, submit_found
from syncaudit.erasure.states import TaskState
from syncaudit.index.writer import SeenAgain
from syncaudit.models import ErasureRequest, ErasureTask
from syncaudit.models import Resurrection as ResurrectionRow

log = structlog.get_logger("syncaudit.resurrection")


class ResurrectionGuard:
    def __init__(self, app: Context) -> None:
        self.app = app

    def __call__(self, session: Session, seen: Sequence[SeenAgain], now: datetime) -> None:
        erase = self.app.settings.erasure.on_resurrection == "erase"
        for item in seen:
            existing = open_request_for(session, item.pseudonym)
            request_id = existing.id if existing else None
            if erase and existing is None:
                request_id = submit_found(
                    self.app,
                    session,
                    item.pseudonym,
                    {item.system: [_ref(item)]},
                    reason="resurrection: seen again in a sync",
                )
            elif erase and existing is not None:
                _ensure_task(session, existing, item, now)
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


def _ref(item: SeenAgain) -> RecordRef:
    return RecordRef(
        system=item.system,
        kind=item.kind,
        external_id=item.external_id,
        stream=item.stream,
        locator=item.locator,
    )


def _ensure_task(session: Session, request: ErasureRequest, item: SeenAgain, now: datetime) -> None:
    """The open request erases this record too. A request that holds the address locates the
    person itself; one that holds none (a resurrection) is given the record."""
    ref = ref_to_json(_ref(item))
    task = session.scalar(
        select(ErasureTask).where(
            ErasureTask.request_id == request.id, ErasureTask.system == item.system
        )
    )
    known = request.email is None
    if task is None:
        session.add(
            ErasureTask(
                request_id=request.id,
                system=item.system,
                state=TaskState.PENDING,
                refs=[ref] if known else None,
                outcomes=[],
                created_at=now,
                updated_at=now,
            )
        )
        return
    if task.refs is not None and ref not in task.refs:
        task.refs = [*task.refs, ref]
    if task.state == TaskState.VERIFIED:
        task.state, task.next_attempt_at, task.updated_at = TaskState.PENDING, None, now
