"""A sync killed with SIGKILL mid-stream and re-run leaves the index as an uninterrupted run."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text

CHILD = Path(__file__).with_name("sync_child.py")


def _run(url: str, kill_after: float | None = None) -> bool:
    env = {**os.environ, "PYTHONPATH": str(CHILD.parent)}
    if kill_after is None:
        done = subprocess.run(
            [sys.executable, str(CHILD), url], capture_output=True, env=env, timeout=120
        )
        return b"DONE" in done.stdout
    with subprocess.Popen(
        [sys.executable, str(CHILD), url],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    ) as proc:
        assert proc.stdout is not None
        proc.stdout.readline()  # READY: start-up time varies with the machine's load
        time.sleep(kill_after)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    return False


def _snapshot(url: str) -> tuple[list[tuple[object, ...]], ...]:
    engine = create_engine(url)
    with engine.connect() as conn:
        records = conn.execute(
            text(
                "SELECT r.external_id, s.email, s.display_name, r.kind, r.removed_at IS NULL "
                "FROM records r JOIN subjects s ON s.id = r.subject_id ORDER BY 1, 2, 4"
            )
        ).all()
        subjects = conn.execute(text("SELECT pseudonym, email FROM subjects ORDER BY 1")).all()
        state = conn.execute(text("SELECT stream, cursor, round_open FROM sync_state")).all()
    engine.dispose()
    return [tuple(r) for r in records], [tuple(s) for s in subjects], [tuple(s) for s in state]


def test_sync_killed_mid_stream_then_rerun_matches_uninterrupted(
    tmp_path: Path, db_url: str
) -> None:
    """SQLite and PostgreSQL alike; the reference is an uninterrupted run into SQLite."""
    reference = f"sqlite:///{tmp_path / 'reference.db'}"
    assert _run(reference)
    crashed = db_url
    rng = random.Random(7)
    for _ in range(4):
        _run(crashed, kill_after=rng.uniform(0.2, 1.0))  # the pull takes ~1.2 s
    engine = create_engine(crashed)
    with engine.connect() as conn:
        partial = conn.execute(text("SELECT count(*) FROM records")).scalar()
        runs = conn.execute(text("SELECT status FROM sync_runs")).scalars().all()
    engine.dispose()
    assert runs.count("running") >= 1, "at least one run was killed mid-sync"
    assert _run(crashed)
    expected = _snapshot(reference)
    assert _snapshot(crashed) == expected
    assert len(expected[0]) > 3000
    assert partial is not None
