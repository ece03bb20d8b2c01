"""Several workers share one PostgreSQL queue (claims with FOR UPDATE SKIP LOCKED): four worker
processes carry 200 erasure requests against the Mailchimp simulator (running here, so every
process sees the same remote state). Each task is executed exactly once: one permanent delete
per member, one set of evidence per request, and every request completed."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from syncaudit import audit
from syncaudit.app import App
from syncaudit.erasure import requests as erasure
from syncaudit.models import AuditEntry
from syncaudit_mailchimp.simulator import subscriber_hash

from . import crash_worker
from .world import open_world

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

WORKERS = 4
REQUESTS = 200
ONCE_EACH = ("request.received", "task.planned", "record.erased", "task.verified")


def test_four_workers_execute_each_of_200_tasks_exactly_once(
    postgres_url: str, tmp_path: Path
) -> None:
    with open_world(tmp_path, now=lambda: datetime.now(UTC), background_invoices=0) as world:
        news = world.audiences[0]
        emails = [f"member.{n}@example.fi" for n in range(REQUESTS)]
        for n, email in enumerate(emails):
            world.mailchimp.add_member(news, email, fname="Member", lname=f"Number{n}")
        world.mailchimp.add_member(news, "stays@example.fi", fname="Stays")
        which = {
            "outlook": False,
            "books": False,
            "paper": False,
            "mailchimp": {"audiences": [news]},
        }
        config = tmp_path / "syncaudit.toml"
        env = world.write_config(config, postgres_url, **which)
        app = App(world.settings(postgres_url, **which))
        try:
            ids = [erasure.submit(app, email) for email in emails]
            workers = [crash_worker.start(config, env) for _ in range(WORKERS)]
            for _, pipe in workers:
                assert pipe.poll(60), "a worker did not start"
                assert pipe.recv() == "ready"
            for _, pipe in workers:
                pipe.send("go")
            executed = []
            for process, pipe in workers:
                assert pipe.poll(180), "a worker did not finish"
                executed.append(int(str(pipe.recv()).split()[1]))
                process.join(30)
                process.close()
                pipe.close()

            assert sum(executed) == REQUESTS
            assert sum(1 for n in executed if n) >= 2, f"the work was not shared: {executed}"
            requests = erasure.list_requests(app)
            assert sorted(r["id"] for r in requests) == sorted(ids)
            assert {r["state"] for r in requests} == {"completed"}
            with app.db.session() as s:
                check = audit.verify(s)
                assert check.ok, check
                events = Counter((e.request_id, e.event) for e in s.scalars(select(AuditEntry)))
            for request_id in ids:
                for event in (*ONCE_EACH, "request.completed"):
                    assert events[(request_id, event)] == 1, (request_id, event)
            assert not [key for key in events if key[1].startswith("task.retry")]

            deletes = [e for e in world.mailchimp.requests if "delete-permanent" in e.path]
            assert len(deletes) == REQUESTS  # not one repeat, not even a harmless 404
            assert {e.status for e in deletes} == {204}
            assert sorted(e.effect or "" for e in deletes) == sorted(
                f"delete-permanent:{news}:{subscriber_hash(email)}" for email in emails
            )
            assert world.mailchimp.member(news, "stays@example.fi") is not None
        finally:
            app.close()
