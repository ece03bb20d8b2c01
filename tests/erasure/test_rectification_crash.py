"""A worker killed with SIGKILL at random points while it rectifies, then restarted: every
rectification completes, the evidence chain holds, and no correction was applied twice (the
simulators wait a little after applying one, so some kills land between "applied" and
"recorded"; the restarted worker must find the record corrected and record `already_correct`).
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
from sqlalchemy import select

from syncaudit import audit
from syncaudit.app import App
from syncaudit.erasure import rectification
from syncaudit.erasure import requests as erasure
from syncaudit.models import AuditEntry
from syncaudit_mailchimp.simulator import subscriber_hash

from .test_crash import _audit_count, _run_worker
from .world import COACH, SDK_WARNINGS, World, open_world, table_hits

pytestmark = [*SDK_WARNINGS, pytest.mark.slow]

KILLS = 8
PEOPLE = 10
AFTER_EFFECT = 0.03


def _slow_after_effects(world: World) -> None:
    handle = world.mailchimp.handle

    def handle_then_wait(*args: Any) -> Any:
        reply, faulted = handle(*args)
        if (reply.effect or "").startswith("readdress"):
            time.sleep(AFTER_EFFECT)
        return reply, faulted

    world.mailchimp.handle = handle_then_wait  # type: ignore[method-assign]
    effect: Callable[..., None] = world.graph._effect

    def effect_then_wait(*args: Any) -> None:
        effect(*args)
        time.sleep(AFTER_EFFECT)

    world.graph._effect = effect_then_wait  # type: ignore[method-assign]


def test_worker_killed_mid_rectification_completes_each_once(tmp_path: Path) -> None:
    rng = random.Random(20261202)
    with open_world(tmp_path, now=lambda: datetime.now(UTC)) as world:
        _slow_after_effects(world)
        url = f"sqlite:///{tmp_path / 'index.db'}"
        config = tmp_path / "syncaudit.toml"
        env = world.write_config(config, url, books=False, paper=False)
        app = App(world.settings(url, books=False, paper=False))
        try:
            olds = [f"client.{n}@example.fi" for n in range(PEOPLE)]
            news = [f"renamed.{n}@example.org" for n in range(PEOPLE)]
            for n, email in enumerate(olds):
                world.plant(email, f"Client Number{n}", invoice=False)
            app.sync()
            ids = [
                rectification.submit(
                    app,
                    old,
                    rectification.correction_of(app, f"Client Renamed{n}", new),
                ).request_id
                for n, (old, new) in enumerate(zip(olds, news, strict=True))
            ]
            kills = runs = progressed = 0
            while kills < KILLS and runs < 3 * KILLS:
                runs += 1
                if not erasure.list_requests(app, open_only=True):
                    break
                before = _audit_count(app)
                killed = _run_worker(config, env, kill_after=rng.uniform(0.2, 1.5))
                kills += killed
                progressed += killed and _audit_count(app) > before
            _run_worker(config, env, kill_after=None)
            assert progressed >= 2, f"kills should land after some work ({kills=} {runs=})"

            views = [erasure.show(app, rid) for rid in ids]
            assert {v["state"] for v in views} == {"completed"}
            with app.db.session() as s:
                assert audit.verify(s).ok
                events = Counter(
                    (e.request_id, e.system, e.event) for e in s.scalars(select(AuditEntry))
                )
            for rid in ids:
                assert events[(rid, None, "request.completed")] == 1
                for system in ("outlook", "newsletter"):
                    assert events[(rid, system, "task.verified")] == 1

            # no correction applied twice: Graph's PATCHes and Mailchimp's moves, each once
            assert world.graph.duplicated_side_effects() == []
            moves = Counter(r.effect for r in world.mailchimp.requests if r.effect)
            assert set(moves.values()) == {1}
            for n, (old, new) in enumerate(zip(olds, news, strict=True)):
                for audience in world.audiences:
                    assert moves[f"readdress:{audience}:{subscriber_hash(old)}"] == 1
                    member = world.mailchimp.member(audience, new)
                    assert member is not None
                    assert member["merge_fields"]["LNAME"] == f"Renamed{n}"
                    assert world.mailchimp.member(audience, old) is None
                planted = world.planted[n]
                contact = world.graph.contact(COACH, planted.contact_id or "")
                assert contact is not None
                assert [e["address"] for e in contact["emailAddresses"]] == [new]
                assert contact["displayName"] == f"Client Renamed{n}"
                view = app.subject(new)
                assert len(view["records"]) == 3  # one contact, two audience members
                assert app.subject(old)["found"] is False
            assert table_hits(app, olds) == []
        finally:
            app.close()
