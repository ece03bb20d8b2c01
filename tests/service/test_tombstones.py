"""A restored backup older than an erasure: the tombstone export makes the person forgotten
again, and the next pull treats them as a resurrection."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from syncaudit import audit
from syncaudit.app import App
from syncaudit.clock import ManualClock
from syncaudit.erasure.requests import list_requests, submit
from syncaudit.erasure.tombstones import export_tombstones, import_tombstones
from syncaudit.erasure.worker import worker_slot
from syncaudit.testing import FakeSystem, make_settings

from .conftest import ANNA, BOB

SYSTEMS = [{"name": "crm", "type": "fake"}]


def test_importing_tombstones_into_an_old_backup_forgets_the_erased_again(
    make_app: Callable[..., App],
    clock: ManualClock,
    fake_systems: dict[str, FakeSystem],
    tmp_path: Path,
) -> None:
    crm = fake_systems.setdefault("crm", FakeSystem())
    crm.put("c1", (ANNA, "Anna Virtanen"))
    crm.put("c2", (BOB, "Bob Berg"))
    backup = App(make_settings(f"sqlite:///{tmp_path / 'backup.db'}", SYSTEMS), clock=clock)
    try:
        backup.sync()  # the backup is taken now, before Anna asks to be erased
        live = make_app(SYSTEMS)
        live.sync()
        request_id = submit(live, ANNA)
        with worker_slot(live) as worker:
            worker.run_until_idle()
        export = tmp_path / "tombstones.jsonl"
        assert export_tombstones(live, export) == 1
        assert export.stat().st_mode & 0o777 == 0o600
        assert ANNA not in export.read_text()

        assert backup.subject(ANNA)["found"]  # restored: Anna is back in the index
        result = import_tombstones(backup, export)
        assert (result.read, result.added, result.purged) == (1, 1, 1)
        view = backup.subject(ANNA)
        assert view["erased_by"] == request_id
        assert view["records"] == []
        assert backup.subject(BOB)["found"]
        assert import_tombstones(backup, export).added == 0  # idempotent
        with backup.db.session() as s:
            assert audit.verify(s).ok

        crm.put("c3", (ANNA, "Anna Virtanen"))  # a form re-subscribes her
        backup.sync()
        [again] = list_requests(backup, open_only=True)
        assert again["origin"] == "resurrection"
    finally:
        backup.close()
