"""A letter is sent exactly once: after kill -9 between sendMail and recording it (found in
Sent Items by its marker, not sent again), and after a failure before anything went out (sent
on the next run)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from syncaudit.app import App
from syncaudit.clock import ManualClock
from syncaudit.errors import TransientError
from syncaudit.models import AuditEntry, IntakeLetter
from syncaudit.requester.intake import run_intake
from syncaudit.testing import CONTRACT_KEY
from syncaudit_msgraph.connector import MsGraphConnector
from syncaudit_msgraph.simulator import GraphSimulator

from .conftest import DESK, NOW, make_app

AINO = ("Aino Virtanen", "aino.virtanen@example.com")


def _subjects(graph: GraphSimulator) -> Counter[str]:
    return Counter(str(m["message"]["subject"]) for m in graph.sent_mail)


def test_kill_9_after_sendmail_does_not_send_the_letter_twice(
    graph: GraphSimulator, tmp_path: Path
) -> None:
    graph.add_message(
        DESK, "inbox", subject="Pyyntö", body="Poistakaa tietoni.", sent=NOW, sender=AINO
    )
    release = threading.Event()
    effect: Callable[..., None] = graph._effect

    def effect_then_hang(mb: Any, action: str, item: str) -> None:
        effect(mb, action, item)
        if action == "mail.send" and not release.is_set():
            release.wait(30)  # the mail is out; the answer never reaches the killed process

    graph._effect = effect_then_hang  # type: ignore[method-assign]
    config = tmp_path / "syncaudit.toml"
    table = {**graph.settings([DESK]), "name": "outlook"}
    url = "sqlite:///" + str(tmp_path / "db.sqlite")
    lines = [
        f"[database]\nurl = {json.dumps(url)}",
        '[identity]\nkey_env = "SYNCAUDIT_TEST_KEY"',
        "[[systems]]",
        *(f"{k} = {json.dumps(v)}" for k, v in table.items()),
        '[intake]\nsystem = "outlook"',
    ]
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {
        **os.environ,
        "SYNCAUDIT_CONFIG": str(config),
        "SYNCAUDIT_TEST_KEY": CONTRACT_KEY.hex(),
        "SIM_GRAPH_SECRET": graph.client_secret,
    }
    exe = Path(sys.executable).with_name("syncaudit")
    child = subprocess.Popen([str(exe), "intake"], env=env, stdout=subprocess.DEVNULL)
    try:
        for _ in range(600):
            if graph.sent_mail or child.poll() is not None:
                break
            time.sleep(0.05)
        assert len(graph.sent_mail) == 1, "the child should be stuck after its first sendMail"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        release.set()
        if child.poll() is None:
            child.kill()
    graph._effect = effect  # type: ignore[method-assign]

    later = ManualClock(datetime.now(UTC) + timedelta(minutes=6))  # the child used real time
    with make_app(graph, tmp_path, later) as application:
        run_intake(application)
        run_intake(application)
        with application.db.session() as s:
            states = [row.state for row in s.scalars(select(IntakeLetter))]
            found = [
                json.loads(e.data).get("found_in_sent_items")
                for e in s.scalars(select(AuditEntry).where(AuditEntry.event == "letter.sent"))
            ]
    assert states == ["sent", "sent"]
    assert sorted(found) == [False, True]
    counts = _subjects(graph)
    assert len(counts) == 2 and set(counts.values()) == {1}, counts


def test_a_send_that_failed_before_going_out_is_sent_on_the_next_run(
    app: App, graph: GraphSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph.add_message(
        DESK, "inbox", subject="Pyyntö", body="Poistakaa tietoni.", sent=NOW, sender=AINO
    )

    def broken(self: MsGraphConnector, mailbox: str, letter: Any) -> None:
        raise TransientError("Graph is unavailable", next_step="Try again later.")

    monkeypatch.setattr(MsGraphConnector, "send_letter", broken)
    with pytest.raises(TransientError):
        run_intake(app)
    monkeypatch.undo()
    app.close()  # a fresh connector, as a restarted process would have
    run_intake(app)  # the interrupted letter is not touched yet: it may still be on its way
    assert [m["message"]["subject"].endswith("]") for m in graph.sent_mail] == [True]
    assert "[V" in graph.sent_mail[0]["message"]["subject"]  # the next letter went out
    assert isinstance(app.clock, ManualClock)
    app.clock.advance(timedelta(minutes=6))
    run_intake(app)
    counts = _subjects(graph)
    assert len(counts) == 2 and set(counts.values()) == {1}, counts
