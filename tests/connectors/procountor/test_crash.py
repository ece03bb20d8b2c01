"""A sync killed with SIGKILL mid-pull and run again leaves the index as one uninterrupted run."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from syncaudit_procountor.simulator import ProcountorSimulator

CHILD = Path(__file__).with_name("sync_child.py")


def _run(sim: ProcountorSimulator, url: str, kill_after_requests: int | None = None) -> bool:
    env = {**os.environ, "CHILD_SECRET": sim.client_secret, "CHILD_KEY": sim.api_key}
    argv = [sys.executable, str(CHILD), url, sim.url, sim.client_id]
    if kill_after_requests is None:
        done = subprocess.run(argv, capture_output=True, env=env, timeout=120)
        return b"DONE" in done.stdout
    start = len(sim.requests)
    with subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    ) as proc:
        deadline = time.monotonic() + 60
        while len(sim.requests) - start < kill_after_requests and proc.poll() is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.005)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    return False


def _snapshot(url: str) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], list[object]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        records = conn.execute(
            text(
                "SELECT r.external_id, s.email, s.display_name, r.kind, r.removed_at IS NULL, "
                "r.legal_hold_until FROM records r JOIN subjects s ON s.id = r.subject_id "
                "ORDER BY 1, 2, 4"
            )
        ).all()
        subjects = conn.execute(text("SELECT pseudonym, email FROM subjects ORDER BY 1")).all()
        rounds = conn.execute(text("SELECT round_open FROM sync_state")).scalars().all()
    engine.dispose()
    return [tuple(r) for r in records], [tuple(s) for s in subjects], list(rounds)


def test_sync_killed_mid_pull_then_rerun_matches_uninterrupted(tmp_path: Path) -> None:
    with ProcountorSimulator() as sim:
        sim.populate(1200, partners=250, seed=8)
        sim.latency = 0.004
        reference = f"sqlite:///{tmp_path / 'reference.db'}"
        assert _run(sim, reference)
        sim.clear_log()
        crashed = f"sqlite:///{tmp_path / 'crashed.db'}"
        rng = random.Random(7)
        for _ in range(3):
            _run(sim, crashed, kill_after_requests=rng.randint(6, 16))
        engine = create_engine(crashed)
        with engine.connect() as conn:
            partial = conn.execute(text("SELECT count(*) FROM records")).scalar()
            runs = conn.execute(text("SELECT status FROM sync_runs")).scalars().all()
        engine.dispose()
        assert runs.count("running") == 3, "every run was killed mid-sync"
        assert partial
        assert _run(sim, crashed)
    expected = _snapshot(reference)
    assert _snapshot(crashed) == expected
    assert len(expected[0]) > 1200
    assert not any(expected[2])
