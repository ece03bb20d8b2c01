"""`syncaudit run` as a real process against real connectors: an accounting export folder, a
manual system, and the Mailchimp simulator in this process. Short intervals, the clock shifted
(SYNCAUDIT_CLOCK_OFFSET_SECONDS) where a test needs a scheduled time to come soon."""

from __future__ import annotations

import itertools
import json
import signal
import socket
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from syncaudit.app import App
from syncaudit.cli import app as cli_app
from syncaudit.config import load_config
from syncaudit.erasure.requests import confirm, show, submit
from syncaudit_mailchimp.simulator import MailchimpSimulator

from .conftest import ANNA, BOB, write_exports
from .daemon import KEY_ENV, Daemon, child_env, cli, config_text, until

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")  # killed children's pipes


@pytest.fixture
def mailchimp() -> Iterator[tuple[MailchimpSimulator, str]]:
    with MailchimpSimulator() as sim:
        audience = sim.add_audience("Newsletter")
        sim.add_member(audience, ANNA, fname="Anna", lname="Virtanen")
        sim.add_member(audience, BOB, fname="Bob", lname="Berg")
        yield sim, audience


def setup(
    tmp_path: Path, sim: MailchimpSimulator | None, *service: str
) -> tuple[Path, dict[str, str]]:
    exports = write_exports(tmp_path / "exports")
    config = tmp_path / "syncaudit.toml"
    config.write_text(
        config_text(
            tmp_path, exports=exports, mailchimp_url=sim.url if sim else None, service=service
        ),
        encoding="utf-8",
    )
    env = {"TEST_MAILCHIMP_KEY": sim.api_key} if sim else {}
    return config, env


def open_app(config: Path, env: dict[str, str]) -> App:
    return App(load_config(config, {**KEY_ENV, **env}))


def task_states(app: App, request_id: str) -> dict[str, str]:
    return {t["system"]: t["state"] for t in show(app, request_id)["tasks"]}


def test_the_daemon_pulls_on_schedule_and_erases_a_request_submitted_while_it_runs(
    tmp_path: Path,
    mailchimp: tuple[MailchimpSimulator, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim, audience = mailchimp
    config, env = setup(tmp_path, sim, 'sync_interval = "2s"', "worker_poll_seconds = 30")
    systemd = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)  # as systemd's Type=notify
    systemd.bind(str(tmp_path / "notify"))
    systemd.settimeout(30)
    daemon = Daemon(config, env={**env, "NOTIFY_SOCKET": str(tmp_path / "notify")})
    app = open_app(config, env)
    try:
        assert systemd.recv(64) == b"READY=1"
        for system in ("books", "newsletter"):  # every 2 s, each tick once
            runs = daemon.wait_for("service.job_finished", count=3, job=f"sync:{system}")
            ticks = [datetime.fromisoformat(r["tick"]) for r in runs]
            assert len(set(ticks)) == len(ticks)
            assert all((b - a).total_seconds() % 2 == 0 for a, b in itertools.pairwise(ticks))

        second = subprocess.run(
            cli(config, "run"), capture_output=True, text=True, env=child_env(env), timeout=60
        )
        assert second.returncode == 1
        assert "is already using this SQLite database" in second.stderr
        assert "next: Stop the other `syncaudit run`, or use PostgreSQL" in second.stderr

        request_id = submit(app, ANNA)  # picked up at once, though the worker polls every 30 s
        done = {"books": "verified", "newsletter": "verified", "paper": "awaiting_manual"}
        until(lambda: task_states(app, request_id) == done, timeout=20, what="tasks done")
        confirm(app, request_id, "paper", "shredded")
        assert show(app, request_id)["state"] == "completed"
        assert sim.is_forgotten(audience, ANNA)
        assert sim.member(audience, BOB) is not None

        monkeypatch.setenv("SYNCAUDIT_PSEUDONYM_KEY", KEY_ENV["SYNCAUDIT_PSEUDONYM_KEY"])
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        result = CliRunner().invoke(cli_app, ["--config", str(config), "status", "--json"])
        assert result.exit_code == 0, result.output
        view = json.loads(result.output)
        assert view["worker"] == {"running": True, "holder": f"pid {daemon.proc.pid}"}
        systems = {s["name"]: s for s in view["systems"]}
        assert systems["newsletter"]["last_ok"]["status"] == "ok"
        assert systems["paper"]["pulls"] is False
        assert view["open_requests"] == []
        assert {j["job"] for j in view["schedule"]} == {
            "sync:books",
            "sync:newsletter",
            "legal_hold_expiry",
            "monthly_report",
        }
        assert view["audit"]["entries"] > 0
        assert ANNA not in result.output
    finally:
        app.close()
        code = daemon.stop()
    assert code == 0
    assert systemd.recv(64) == b"STOPPING=1"  # queued before the exit
    systemd.close()
    assert daemon.seen("service.stopped", after_grace=False)


# The erase waits on Mailchimp: its permanent delete hangs (the pulls never call it).
HANG: dict[str, Any] = {"path_contains": "delete-permanent", "method": "POST"}


def test_a_stop_mid_task_loses_nothing_whether_graceful_or_at_once(
    tmp_path: Path, mailchimp: tuple[MailchimpSimulator, str]
) -> None:
    sim, audience = mailchimp
    config, env = setup(tmp_path, sim, 'sync_interval = "1h"')
    app = open_app(config, env)
    try:
        # 1. SIGTERM while the task waits on Mailchimp: released after the grace, exit 0.
        first = Daemon(config, "--grace", "1", env=env)
        first.wait_for("service.ready")
        hang = sim.inject(status=503, delay=20, **HANG)
        request_id = submit(app, ANNA, systems=["newsletter"])
        until(lambda: hang.count == 0, what="the delete is in flight")
        assert task_states(app, request_id)["newsletter"] == "running"
        first.signal(signal.SIGTERM)
        assert first.wait(timeout=15) == 0  # the grace (1 s) bounds it, not the hung call
        assert first.seen("service.task_released")
        assert first.seen("service.stopped", after_grace=True)
        assert task_states(app, request_id)["newsletter"] == "pending"

        # 2. A second signal exits at once; the dead worker's lease is taken back at start.
        hang = sim.inject(status=503, delay=20, **HANG)
        second = Daemon(config, "--grace", "60", env=env)
        until(lambda: hang.count == 0, what="the delete is in flight again")
        second.signal(signal.SIGTERM)
        second.wait_for("service.stopping")
        second.signal(signal.SIGTERM)
        assert second.wait(timeout=15) == 128 + signal.SIGTERM
        assert second.seen("text", line="syncaudit: second SIGTERM, exiting at once\n")
        assert task_states(app, request_id)["newsletter"] == "running"  # its lease held

        # 3. A restart finishes the task.
        third = Daemon(config, env=env)
        until(
            lambda: task_states(app, request_id)["newsletter"] == "verified",
            timeout=30,
            what="verified after restart",
        )
        assert third.seen("erasure.stale_leases_released", tasks=1)
        assert third.stop() == 0
        assert show(app, request_id)["state"] == "completed"
        assert sim.is_forgotten(audience, ANNA)
    finally:
        app.close()


FAKE_REPORTS = """
import sys, types
from pathlib import Path
from typing import Any

def write_monthly_report(app, month, out_dir, *, lang, fmt="html"):
    path = Path(out_dir) / f"monthly-{month}.{fmt}"
    path.write_text(month)
    with open(Path(out_dir) / "calls.log", "a") as log:
        log.write(month + "\\n")
    return path

module = types.ModuleType("syncaudit.reports.monthly")
module.write_monthly_report = write_monthly_report
sys.modules["syncaudit.reports.monthly"] = module
"""


def test_a_monthly_report_is_made_exactly_once_across_a_restart_at_its_time(
    tmp_path: Path,
) -> None:
    site = tmp_path / "site"  # stands in for syncaudit.reports.monthly (another area's module)
    site.mkdir()
    (site / "sitecustomize.py").write_text(FAKE_REPORTS, encoding="utf-8")
    config, _ = setup(tmp_path, None, "report_day = 1", "report_hour = 6")
    scheduled = datetime(2030, 1, 1, 6, 0, tzinfo=UTC)
    lead = 4.0  # the first process starts this long before the report is due
    offset = (scheduled - datetime.now(UTC)).total_seconds() - lead
    env = {"SYNCAUDIT_CLOCK_OFFSET_SECONDS": str(offset), "PYTHONPATH": str(site)}

    first = Daemon(config, env=env)
    first.wait_for("service.report_written", month="2029-12", timeout=30)
    assert first.stop() == 0
    second = Daemon(config, env=env)  # restarted just after the scheduled time
    second.wait_for("service.ready")
    assert second.stop() == 0

    calls = (tmp_path / "reports" / "calls.log").read_text().split()
    assert calls.count("2029-12") == 1
    assert len(calls) == len(set(calls))  # the catch-up at first start, if any, once too
    assert not second.seen("service.report_written")
    engine = create_engine(f"sqlite:///{tmp_path / 'index.db'}")
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT status FROM periodic_runs WHERE job = 'monthly_report'")
        ).all()
    engine.dispose()
    assert [r[0] for r in rows] == ["ok"] * len(calls)
