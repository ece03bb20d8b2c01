"""The demo is the newcomer's first command and a smoke test of the whole slice."""

from __future__ import annotations

import io
from pathlib import Path

from syncaudit.demo import STAR, run_demo


def test_demo_runs_every_step_and_forgets_the_person(tmp_path: Path) -> None:
    out = io.StringIO()
    assert run_demo(keep=tmp_path / "demo", out=out) == 0
    text = out.getvalue()
    for step in (
        "[1/7] Starting",
        "[2/7] Syncing",
        "[3/7] Where does",
        "[4/7] Erasure",
        "[5/7] Resurrection",
        "[6/7] Reports",
        "[7/7] Evidence",
    ):
        assert step in text
    assert "completed within the deadline: True" in text
    assert "a mail arrived: request M-" in text  # the request by mail (issue 17)
    assert "the person replied to the verification letter: verified" in text
    assert "completion letter sent: Pyyntönne on käsitelty" in text
    assert "resurrection caught" in text
    assert "audit chain verified" in text
    database = (tmp_path / "demo" / "syncaudit.db").read_bytes()
    assert STAR.email.lower().encode() not in database.lower()
    assert b"Lindroos" not in database
    assert STAR.email.lower() not in text.split("[4/7]")[1]  # not echoed after the look-up
