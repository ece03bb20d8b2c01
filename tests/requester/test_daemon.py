"""The daemon runs intake on its own schedule ([intake].interval), once per tick."""

from __future__ import annotations

from pathlib import Path

from syncaudit.clock import ManualClock
from syncaudit.requester import review
from syncaudit.service import Service, plan_jobs
from syncaudit.service.status import collect
from syncaudit_msgraph.simulator import GraphSimulator

from .conftest import DESK, NOW, make_app


def test_the_service_runs_intake_on_its_schedule(graph: GraphSimulator, tmp_path: Path) -> None:
    graph.add_message(
        DESK,
        "inbox",
        subject="Pyyntö",
        body="Poistakaa tietoni.",
        sent=NOW,
        sender=("Aino", "aino@example.com"),
    )
    service = {"report_dir": str(tmp_path / "reports")}
    clock = ManualClock(NOW)
    with make_app(graph, tmp_path, clock, extra={"service": service}, interval="5m") as app:
        intake_job = next(j for j in plan_jobs(app) if j.name == "intake")
        assert intake_job.schedule.describe() == "every 5m"
        summary = Service(app).run(once=True)
        ticks = {t.job: t for t in summary.ticks}
        assert ticks["intake"].status == "ok", ticks["intake"].detail
        assert "1 new" in ticks["intake"].detail
        assert [r["kind"] for r in review.pending(app)] == ["erasure"]
        (waiting,) = collect(app)["pending_by_mail"]
        assert waiting["kind"] == "erasure" and waiting["hours_left"] == 48.0
        again = Service(app).run(once=True)
        assert "intake" not in {t.job for t in again.ticks}  # the same tick never runs twice
