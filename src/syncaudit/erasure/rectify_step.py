"""One system's part of a rectification, run by the erasure worker on a claimed task.

The worker's own state writes are used (each its own transaction with its audit entry, checked
against the lease), so a worker killed at any point resumes where it was: corrections already
recorded are not repeated, the one in flight is, and connectors answer that repeat with
`already_correct`. Verification re-reads every record; what is still not corrected is corrected
again, at most MAX_ROUNDS times.
"""

from __future__ import annotations

from typing import Any, Protocol

from syncaudit.context import Context
from syncaudit.contract import Correction, ErasureTarget, RecordRef, SupportsRectification
from syncaudit.erasure.rectification import Mode, instructions, mode_of
from syncaudit.erasure.refs import merge, outcome_to_json, ref_key
from syncaudit.erasure.states import TaskState
from syncaudit.errors import TransientError
from syncaudit.models import ErasureTask

MAX_ROUNDS = 3


class Steps(Protocol):
    """The worker's writes a step uses (erasure.worker.Worker has them, public for this)."""

    app: Context

    def planned_refs(
        self, task_id: int, target: ErasureTarget, system: str, request_id: str
    ) -> list[RecordRef]: ...

    def record_outcome(
        self,
        task_id: int,
        record: dict[str, object],
        request_id: str,
        system: str,
        target: ErasureTarget,
    ) -> None: ...

    def save_refs(
        self,
        task_id: int,
        refs: list[RecordRef],
        *,
        request_id: str,
        system: str,
        target: ErasureTarget,
        event: str,
        **data: object,
    ) -> None: ...

    def set_state(
        self,
        task_id: int,
        state: TaskState,
        request_id: str,
        system: str,
        event: str,
        *,
        instructions: str | None = None,
    ) -> None: ...


def step(  # noqa: PLR0917
    worker: Steps,
    task_id: int,
    target: ErasureTarget,
    correction: Correction,
    system: str,
    request_id: str,
) -> None:
    connector = worker.app.connector(system)
    refs = worker.planned_refs(task_id, target, system, request_id)
    mode = mode_of(connector)
    if mode is not Mode.RECTIFY or not isinstance(connector, SupportsRectification):
        worker.set_state(
            task_id,
            TaskState.AWAITING_MANUAL,
            request_id,
            system,
            "task.awaiting_manual",
            instructions=instructions(system, mode, request_id, correction, refs),
        )
        return
    again: set[str] = set()  # found still wrong by verify: correct even if an outcome exists
    for _ in range(MAX_ROUNDS):
        done = _recorded(worker.app, task_id)
        for ref in refs:
            key = ref_key(ref)
            if key in done and key not in again:
                continue
            outcome = connector.rectify(ref, target, correction)
            record: dict[str, Any] = outcome_to_json(outcome)
            record["key"] = key  # the planned record's key, whatever id it has now
            if outcome.moved_to is not None:
                record["moved_to"] = {
                    "external_id": outcome.moved_to.external_id,
                    "stream": outcome.moved_to.stream,
                }
            worker.record_outcome(task_id, record, request_id, system, target)
        remaining = connector.verify_rectification(target, correction, refs)
        if not remaining:
            break
        refs = merge(refs, remaining)
        again = {ref_key(r) for r in remaining}
        worker.save_refs(
            task_id,
            refs,
            request_id=request_id,
            system=system,
            target=target,
            event="task.verify_found_more",
            remaining=len(remaining),
        )
    else:
        raise TransientError(f"{system}: records still not corrected after {MAX_ROUNDS} rounds")
    worker.set_state(task_id, TaskState.VERIFIED, request_id, system, "task.verified")


def _recorded(app: Context, task_id: int) -> set[str]:
    with app.db.session() as s:
        task = s.get(ErasureTask, task_id)
        assert task is not None
        return {str(o["key"]) for o in task.outcomes or []}
