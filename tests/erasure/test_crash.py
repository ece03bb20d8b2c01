"""A worker killed with SIGKILL at random points, again and again, then restarted: every request
completes, the evidence chain holds, and the simulators' logs show no erasure applied twice.

The worker runs in a process of its own (see crash_worker.py) against an SQLite index and the
Graph and Mailchimp simulators, which run here. Each simulator waits a little *after* applying an
erasure before answering, so some kills land in the worst place: the system has erased, the
worker has not recorded it. The restarted worker must then find the record gone (Graph: the
contact read answers 404; Mailchimp: delete-permanent answers 404) and record `already_absent`.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from syncaudit import audit
from syncaudit.app import App
from syncaudit.erasure import requests as erasure
from syncaudit.models import AuditEntry
from syncaudit_mailchimp.simulator import MailchimpSimulator, subscriber_hash
from syncaudit_msgraph.simulator import GraphSimulator

from . import crash_worker
from .world import BOB, COACH, SDK_WARNINGS, World, file_hits, open_world, table_hits

pytestmark = [*SDK_WARNINGS, pytest.mark.slow]

KILLS = 20
AFTER_EFFECT = 0.03  # seconds a simulator waits between applying an erasure and answering


def _slow_after_effects(world: World) -> None:
    """Widen the window between "applied" and "recorded" (the simulators run in this process)."""
    chimp: MailchimpSimulator = world.mailchimp
    handle = chimp.handle

    def handle_then_wait(*args: Any) -> Any:
        reply, faulted = handle(*args)
        if (reply.effect or "").startswith("delete-permanent"):
            time.sleep(AFTER_EFFECT)
        return reply, faulted

    chimp.handle = handle_then_wait  # type: ignore[method-assign]
    graph: GraphSimulator = world.graph
    effect: Callable[..., None] = graph._effect

    def effect_then_wait(*args: Any) -> None:
        effect(*args)
        time.sleep(AFTER_EFFECT)

    graph._effect = effect_then_wait  # type: ignore[method-assign]


def _audit_count(app: App) -> int:
    with app.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def _open_requests(app: App) -> int:
    return len(erasure.list_requests(app, open_only=True))


def _run_worker(config: Path, env: dict[str, str], kill_after: float | None) -> bool:
    """One worker process; killed `kill_after` seconds into its work. True if it was killed
    before it finished."""
    process, pipe = crash_worker.start(config, env)
    try:
        assert pipe.poll(60), "the worker did not start"
        assert pipe.recv() == "ready"
        pipe.send("go")
        if kill_after is not None and not pipe.poll(kill_after):
            process.kill()
            return True
        assert pipe.poll(120), "the worker did not finish"
        assert str(pipe.recv()).startswith("done")
        return False
    finally:
        process.join(30)
        process.close()
        pipe.close()


def test_worker_killed_at_random_points_completes_everything_once(tmp_path: Path) -> None:
    rng = random.Random(20260302)
    with open_world(tmp_path, now=lambda: datetime.now(UTC)) as world:
        _slow_after_effects(world)
        url = f"sqlite:///{tmp_path / 'index.db'}"
        config = tmp_path / "syncaudit.toml"
        env = world.write_config(config, url, paper=False)
        app = App(world.settings(url, paper=False))
        try:
            bob = world.plant(*BOB, invoice=False)
            people: list[str] = []

            def more_work(count: int) -> None:
                for _ in range(count):
                    n = len(people)
                    email = f"client.{n}@example.fi"
                    world.plant(email, f"Client Number{n}", shared_contact=n % 3 == 0)
                    people.append(email)
                app.sync()
                for email in people[-count:]:
                    erasure.submit(app, email)

            more_work(6)
            kills = progressed = runs = 0
            while kills < KILLS:
                runs += 1
                assert runs <= 3 * KILLS, "the worker keeps finishing before the kill"
                if _open_requests(app) == 0:
                    more_work(3)
                before = _audit_count(app)
                killed = _run_worker(config, env, kill_after=rng.uniform(0.0, 0.5))
                kills += killed
                progressed += killed and _audit_count(app) > before
            _run_worker(config, env, kill_after=None)

            assert progressed >= KILLS // 4, "kills should land after some work was done"
            requests = erasure.list_requests(app)
            assert len(requests) == len(people)
            assert {r["state"] for r in requests} == {"completed"}
            assert all(t["state"] == "verified" for r in requests for t in r["tasks"])
            with app.db.session() as s:
                check = audit.verify(s)
                assert check.ok, check
                events = Counter(
                    (e.request_id, e.system, e.event) for e in s.scalars(select(AuditEntry))
                )
            for r in requests:
                assert events[(r["id"], None, "request.completed")] == 1
                for t in r["tasks"]:
                    assert events[(r["id"], t["system"], "task.verified")] == 1

            # Mailchimp: each member permanently deleted exactly once; any repeat was a 404.
            deletes = [e for e in world.mailchimp.requests if "delete-permanent" in e.path]
            effects = Counter(e.effect for e in deletes if e.effect)
            assert set(effects.values()) == {1}
            assert {e.status for e in deletes if not e.effect} <= {404}
            assert len(effects) == len(people) * len(world.audiences)
            for email in people:
                for audience in world.audiences:
                    assert f"delete-permanent:{audience}:{subscriber_hash(email)}" in effects
                    assert world.mailchimp.is_forgotten(audience, email)
            # Graph: nothing done twice; each contact purged once; the bystander untouched.
            assert world.graph.duplicated_side_effects() == []
            purges = world.graph.select("contacts.permanentDelete")
            assert {r.status for r in purges} <= {204, 404}
            for planted in world.planted[1:]:
                assert world.graph.is_purged(COACH, planted.contact_id or "")
            assert world.graph.contact(COACH, bob.contact_id or "") is not None

            needles = [*people, *(p.name for p in world.planted[1:])]
            assert table_hits(app, needles) == []
            assert file_hits(app, needles) == []
        finally:
            app.close()
