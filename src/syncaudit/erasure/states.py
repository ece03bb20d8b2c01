"""Request and task states. The deadline runs from `received_at`, whatever the state."""

from __future__ import annotations

import enum


class RequestState(enum.StrEnum):
    RECEIVED = "received"  # stored; systems not all located yet
    PLANNED = "planned"  # every system located; nothing erased yet
    IN_PROGRESS = "in_progress"  # at least one system has acted
    COMPLETED = "completed"  # every task verified or confirmed; plaintext purged
    OVERDUE = "overdue"  # the deadline passed with work left (the breach is recorded)


class TaskState(enum.StrEnum):
    PENDING = "pending"  # waiting to be claimed (new, or a retry at next_attempt_at)
    RUNNING = "running"  # claimed by a worker holding a lease
    AWAITING_MANUAL = "awaiting_manual"  # an operator must act and confirm
    FAILED = "failed"  # gave up: permanent error or attempts exhausted; operator must act
    VERIFIED = "verified"  # done: erased / already absent / retained / confirmed, and checked


OPEN_REQUEST_STATES = (
    RequestState.RECEIVED,
    RequestState.PLANNED,
    RequestState.IN_PROGRESS,
    RequestState.OVERDUE,
)


class Origin(enum.StrEnum):
    """Who or what opened an erasure request."""

    OPERATOR = "operator"  # `syncaudit erase` or the console: the address is held while open
    # A sync met a tombstoned address: the request holds no address, only the records found.
    RESURRECTION = "resurrection"
    # A statutory retention ended: no address, one manual task per system.
    LEGAL_HOLD_END = "legal_hold_end"
