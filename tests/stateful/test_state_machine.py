"""A hypothesis state machine over the sync runner and the erasure worker together (the model:
vdirsyncer's SyncMachine). Fake systems change under them, fail, throttle and time out; workers
are killed mid-task and the database is re-opened between steps. Invariants after every step:
the audit chain verifies, every task's state is one the engine knows, and a request that
completed left no record of the person in a system that erases; after a clean sync round the
index equals the systems' content.

SYNCAUDIT_STATEFUL_EXAMPLES (default 12, ~8 s) sets the number of examples; derandomized, no stored
example database, so CI runs the same sequences every time.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)
from sqlalchemy import select

from syncaudit import audit
from syncaudit.app import App
from syncaudit.clock import ManualClock
from syncaudit.erasure import requests as erasure
from syncaudit.erasure.states import RequestState, TaskState
from syncaudit.erasure.worker import Worker
from syncaudit.errors import AuthError, ConnectorError, PermanentError, TransientError
from syncaudit.models import ErasureRequest, ErasureTask, Record, Subject, Tombstone
from syncaudit.testing import FakePlugin, FakeSystem, make_settings

EXAMPLES = int(os.environ.get("SYNCAUDIT_STATEFUL_EXAMPLES", "12"))
pytestmark = pytest.mark.timeout(120 + 3 * EXAMPLES)  # ~0.7 s an example, shrinking aside
PEOPLE = [(f"person{i}@example.fi", f"Person{i} Tester{i}") for i in range(3)]
ITEMS = [f"item{i}" for i in range(4)]
PULLED = ("crm", "books")  # erases through an API; keeps under a legal hold
SYSTEMS = [
    {"name": "crm", "type": "fake", "mode": "erase", "page_size": 2},
    {"name": "books", "type": "fake", "mode": "legal_hold", "page_size": 2},
    {"name": "paper", "type": "fake", "mode": "manual"},
]
FINAL = {TaskState.VERIFIED, TaskState.FAILED, TaskState.AWAITING_MANUAL}
KNOWN = FINAL | {TaskState.PENDING, TaskState.RUNNING}


class Killed(BaseException):
    """A kill -9 in the middle of a call: nothing after it runs, no handler sees it."""


def fault(kind: str) -> BaseException:
    return {
        "throttled": TransientError("429", retry_after=30.0),
        "unavailable": TransientError("503"),
        "timeout": TransientError("read timed out"),
        "auth": AuthError("401"),
        "refused": PermanentError("400"),
        "killed": Killed(),
    }[kind]


FAULTS = st.sampled_from(["throttled", "unavailable", "timeout", "auth", "refused", "killed"])


class SyncAndErase(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="syncaudit-stateful-"))
        self.clock = ManualClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
        FakePlugin.systems.clear()
        self.systems: dict[str, FakeSystem] = {
            name: FakePlugin.systems.setdefault(name, FakeSystem()) for name in PULLED
        }
        self.app = self._open()
        self.checked: set[str] = set()  # completed requests already checked

    def _open(self) -> App:
        url = f"sqlite:///{self.dir / 'index.db'}"
        return App(make_settings(url, SYSTEMS), clock=self.clock)

    def _heal(self) -> None:
        for system in self.systems.values():
            system.fail_next.clear()
            system.fail_mid_pull.clear()
            system.fail_after_erase.clear()

    def teardown(self) -> None:
        self.app.close()
        FakePlugin.systems.clear()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- the systems change under the engine --------------------------------------------------

    @initialize(people=st.lists(st.sampled_from(range(len(PEOPLE))), min_size=1, max_size=3))
    def seed(self, people: list[int]) -> None:
        for n, who in enumerate(people):
            self.systems["crm"].put(ITEMS[n], PEOPLE[who])
        self.systems["books"].put(ITEMS[0], PEOPLE[people[0]])

    @rule(
        system=st.sampled_from(PULLED),
        item=st.sampled_from(ITEMS),
        people=st.lists(st.sampled_from(range(len(PEOPLE))), min_size=1, max_size=2, unique=True),
    )
    def put(self, system: str, item: str, people: list[int]) -> None:
        self.systems[system].put(item, *(PEOPLE[p] for p in people))

    @rule(system=st.sampled_from(PULLED), item=st.sampled_from(ITEMS))
    def delete(self, system: str, item: str) -> None:
        self.systems[system].delete(item)

    @rule(
        system=st.sampled_from(PULLED),
        kind=FAULTS,
        where=st.sampled_from(["next", "mid_pull", "after_erase"]),
    )
    def fail(self, system: str, kind: str, where: str) -> None:
        """The next call fails before it acts, a pull fails after its first page, or an erase
        is applied and its answer lost (a timeout, or a kill -9 before the outcome is stored)."""
        getattr(self.systems[system], f"fail_{where}").append(fault(kind))

    @rule(seconds=st.sampled_from([1, 60, 3600, 86400]))
    def time_passes(self, seconds: int) -> None:
        self.clock.advance(timedelta(seconds=seconds))

    # -- the engine ---------------------------------------------------------------------------

    @rule(full=st.booleans())
    def sync(self, full: bool) -> None:
        for name in PULLED:
            # a failure is recorded as a failed run; the next sync resumes from the checkpoint
            with contextlib.suppress(ConnectorError, Killed):
                self.app.sync([name], full=full)

    @rule(who=st.sampled_from(range(len(PEOPLE))))
    def submit(self, who: int) -> None:
        erasure.submit(self.app, PEOPLE[who][0])

    @rule(limit=st.integers(min_value=1, max_value=4))
    def work(self, limit: int) -> None:
        with contextlib.suppress(Killed):  # the task stays running with its lease (kill -9)
            Worker(self.app).run_until_idle(limit=limit)

    @rule(limit=st.integers(min_value=1, max_value=4), who=st.sampled_from(range(len(PEOPLE))))
    def signs_up_while_being_erased(self, limit: int, who: int) -> None:
        """The daemon's worker and sync in one instant, the person signing up in between."""
        self.work(limit)
        self.systems["crm"].put(f"signup{who}", PEOPLE[who])
        self.sync(full=False)

    @rule()
    def abandon_a_claimed_task(self) -> None:
        Worker(self.app).claim()  # the worker dies right after claiming

    @rule()
    def confirm_manual_steps(self) -> None:
        with self.app.db.session() as s:
            waiting = list(
                s.execute(
                    select(ErasureTask.request_id, ErasureTask.system).where(
                        ErasureTask.state == TaskState.AWAITING_MANUAL
                    )
                )
            )
        for request_id, system in waiting:
            erasure.confirm(self.app, request_id, system, note="done by hand")

    @rule()
    def retry_failed(self) -> None:
        with self.app.db.session() as s:
            failed = set(
                s.scalars(
                    select(ErasureTask.request_id).where(ErasureTask.state == TaskState.FAILED)
                )
            )
        for request_id in sorted(failed):
            erasure.retry(self.app, request_id)

    @rule()
    def reopen_database(self) -> None:
        self.app.close()
        self.app = self._open()

    @rule()
    def clean_round(self) -> None:
        """No faults, leases run out, the worker drains, then every system is synced."""
        self._heal()
        self.clock.advance(timedelta(days=1))
        Worker(self.app).run_until_idle()
        for name in PULLED:
            self.app.sync([name])
        assert self._index() == self._content(), "the index differs from the systems"

    # -- invariants ---------------------------------------------------------------------------

    def _pseudonym(self, email: str) -> str:
        return self.app.pseudo.of_normalized(email)

    def _content(self) -> set[tuple[str, str, str]]:
        """What the systems hold, as the index should: a tombstoned address is never stored
        (the resurrection guard gets it), except under a legal hold (books)."""
        with self.app.db.session() as s:
            tombstoned = set(s.scalars(select(Tombstone.pseudonym)))
        found = {
            (name, item.external_id, self._pseudonym(email))
            for name, system in self.systems.items()
            for item in system.items.values()
            for email, _ in item.people
        }
        return {(n, i, p) for n, i, p in found if n == "books" or p not in tombstoned}

    def _index(self) -> set[tuple[str, str, str]]:
        with self.app.db.session() as s:
            rows = s.execute(
                select(Record.system, Record.external_id, Subject.pseudonym)
                .join(Subject, Subject.id == Record.subject_id)
                .where(Record.removed_at.is_(None), Record.kind != "event_mention")
            )
            return {(a, b, c) for a, b, c in rows}

    @invariant()
    def audit_chain_verifies(self) -> None:
        with self.app.db.session() as s, s.begin():
            check = audit.verify(s)
        assert check.ok, check.problem

    @invariant()
    def tasks_are_in_known_states(self) -> None:
        with self.app.db.session() as s:
            states = set(s.scalars(select(ErasureTask.state)))
        assert states <= {str(x) for x in KNOWN}

    @invariant()
    def completed_requests_left_nobody_in_crm(self) -> None:
        with self.app.db.session() as s:
            done = list(
                s.execute(
                    select(ErasureRequest.id, ErasureRequest.pseudonym, ErasureRequest.email).where(
                        ErasureRequest.kind == "erasure",
                        ErasureRequest.state == RequestState.COMPLETED,
                    )
                )
            )
        crm = {
            self._pseudonym(e)
            for item in self.systems["crm"].items.values()
            for e, _ in item.people
        }
        for request_id, pseudonym, email in done:
            assert email is None, "a completed request keeps no address"
            if request_id not in self.checked:
                self.checked.add(request_id)
                assert pseudonym not in crm, "the request completes and leaves the person in crm"

    @rule()
    def drain_everything(self) -> None:
        """Final states: with faults cleared and time passing, every task ends."""
        self._heal()
        for _ in range(4):  # past every lease, Retry-After and the 15-minute auth retry
            self.clock.advance(timedelta(days=1))
            Worker(self.app).run_until_idle()
        with self.app.db.session() as s:
            states = set(s.scalars(select(ErasureTask.state)))
        assert states <= {str(x) for x in FINAL}, states


SyncAndErase.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=30,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestSyncAndErase = SyncAndErase.TestCase
