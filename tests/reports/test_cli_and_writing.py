"""`syncaudit report ...` end to end, writing the monthly file, and what the chain records."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from syncaudit import audit, registry
from syncaudit.cli import app as cli
from syncaudit.models import AuditEntry
from syncaudit.reports.monthly import build_monthly, write_monthly_report
from syncaudit.rights.report import CoachingReview
from syncaudit.testing import CONTRACT_KEY, FakePlugin

from .scenario import ACTIVITIES, CONTROLLER, SYSTEMS_MAR, Scenario, build

runner = CliRunner()
REPORT_TIME = datetime(2026, 4, 1, 6, tzinfo=UTC)


def _toml(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


def _table(header: str, values: dict[str, Any]) -> str:
    return header + "\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in values.items())


@pytest.fixture
def configured(sqlite_scenario: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config file over a copy of the scenario's database; the CLI's clock at 1 April."""
    registry.register(FakePlugin())
    db = tmp_path / "index.db"
    shutil.copy(sqlite_scenario.db_url.removeprefix("sqlite:///"), db)
    parts = [
        _table("[database]", {"url": f"sqlite:///{db}"}),
        _table("[service]", {"report_dir": str(tmp_path / "reports")}),
        _table("[controller]", CONTROLLER),
        _table("[reports]", {"timezone": "Europe/Helsinki"}),
    ]
    parts += [_table("[[systems]]", s) for s in SYSTEMS_MAR]
    parts += [_table("[[activities]]", a) for a in ACTIVITIES]
    path = tmp_path / "syncaudit.toml"
    path.write_text("\n".join(parts), encoding="utf-8")
    offset = (REPORT_TIME - datetime.now(UTC)).total_seconds()
    monkeypatch.setenv("SYNCAUDIT_CLOCK_OFFSET_SECONDS", str(offset))
    monkeypatch.setenv("SYNCAUDIT_PSEUDONYM_KEY", CONTRACT_KEY.hex())
    monkeypatch.setenv("SYNCAUDIT_CONFIG", str(path))
    return tmp_path


def test_monthly_defaults_to_last_month_in_the_configured_language(configured: Path) -> None:
    result = runner.invoke(cli, ["report", "monthly", "--json"])
    assert result.exit_code == 0, result.output
    written = json.loads(result.output)
    path = Path(written["path"])
    assert path == configured / "reports" / "syncaudit-monthly-2026-03-fi.html"
    assert (written["month"], written["language"], written["format"]) == ("2026-03", "fi", "html")
    assert "Tietosuojan kuukausiraportti" in path.read_text(encoding="utf-8")


def test_monthly_to_standard_output_and_to_a_named_file(configured: Path) -> None:
    result = runner.invoke(
        cli, ["report", "monthly", "--month", "2026-03", "--format", "json", "-o", "-"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["requests"]["erasure"]["breached"] == 1
    target = configured / "out" / "march.md"
    result = runner.invoke(
        cli,
        [
            "report",
            "monthly",
            "--month",
            "2026-03",
            "--lang",
            "en",
            "--format",
            "md",
            "-o",
            str(target),
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"written: {target}" in result.output
    assert target.read_text(encoding="utf-8").startswith("# Monthly compliance report — March 2026")


def test_transfers_and_ropa(configured: Path) -> None:
    result = runner.invoke(cli, ["report", "transfers", "--format", "json", "-o", "-"])
    assert result.exit_code == 0, result.output
    flagged = {s["system"]: s["flags"] for s in json.loads(result.output)["systems"]}
    assert flagged["forms"] == ["no_safeguard"]
    result = runner.invoke(
        cli, ["report", "ropa", "--lang", "en", "--format", "md", "-o", f"{configured}/"]
    )
    assert result.exit_code == 0, result.output
    written = configured / "syncaudit-ropa-2026-04-01-en.md"
    assert "(e) Transfers to third countries" in written.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "monthly", "--month", "2026-3"], "'2026-3' is not a month"),
        (["report", "monthly", "--format", "docx"], "no report format 'docx'"),
        (["report", "transfers", "--lang", "sv"], "no report language 'sv'"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(
    configured: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(cli, args)
    assert result.exit_code == 2
    assert f"error: {message}" in result.output
    assert "next: " in result.output


def test_written_report_is_recorded_in_the_chain(sqlite_scenario: Scenario, tmp_path: Path) -> None:
    scene = build(f"sqlite:///{tmp_path / 'index.db'}", tmp_path / "out")
    try:
        path = write_monthly_report(
            scene.app, "2026-03", tmp_path / "reports", lang="en", fmt="html"
        )
        assert path.name == "syncaudit-monthly-2026-03-en.html"
        assert not list(path.parent.glob(".*partial"))
        with scene.app.db.session() as s:
            entry = s.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
            assert entry is not None
            assert audit.verify(s).ok
        data = json.loads(entry.data)
        assert entry.event == "report.monthly"
        assert data["file_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert (data["month"], data["format"], data["language"]) == ("2026-03", "html", "en")
        assert data["reported_head_seq"] == entry.seq - 1  # the head the report printed
        assert "crm" in data["systems"]
        text = json.dumps(data).lower()
        assert "anna" not in text and "@example.fi" not in text
    finally:
        scene.close()


def test_a_rewritten_log_shows_in_the_report(tmp_path: Path) -> None:
    scene = build(f"sqlite:///{tmp_path / 'index.db'}", tmp_path / "out")
    try:
        with scene.app.db.engine.begin() as conn:
            conn.execute(
                text("UPDATE audit_log SET data = :d WHERE seq = 5"), {"d": '{"rewritten":true}'}
            )
        report = build_monthly(scene.app, "2026-03", lang="en")
        evidence = report["evidence"]
        assert evidence["chain_ok"] is False
        assert evidence["first_bad_seq"] == 5
        assert "changed" in evidence["problem"]
        from syncaudit.reports.render import render

        assert "BROKEN at entry 5" in render("monthly", report, "html").decode()
    finally:
        scene.close()


def test_coaching_summaries_appear_as_the_rights_area_reviews_them(
    sqlite_scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    from syncaudit.reports import monthly

    def summaries(app: Any, as_of: Any, session: Any) -> CoachingReview:
        return CoachingReview(limit_years=2, past_limit=3, items=("msg-1", "msg-2", "msg-3"))

    monkeypatch.setattr(monthly, "coaching_review", summaries)
    review = build_monthly(sqlite_scenario.app, "2026-03", lang="en")["retention_review"]
    assert review["coaching_summaries"] == {
        "configured": True, "limit_years": 2, "past_limit": 3,
        "items": ["msg-1", "msg-2", "msg-3"], "note": "",
    }  # fmt: skip


def test_pdf_without_pango_names_the_packages_and_other_formats_still_work(
    configured: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNCAUDIT_SIMULATE_MISSING", "libpango-1.0-0 libpangoft2-1.0-0")
    result = runner.invoke(cli, ["report", "monthly", "--format", "pdf"])
    assert result.exit_code == 1
    assert "error: PDF output is not available here: missing system packages: libpango-1.0-0" in (
        result.output
    )
    assert (
        "next: Run `sudo apt-get install -y --no-install-recommends libpango-1.0-0 "
        "libpangoft2-1.0-0`" in result.output
    )
    assert not list((configured / "reports").glob("*.pdf*"))
    for fmt in ("html", "md", "json"):
        result = runner.invoke(cli, ["report", "monthly", "--format", fmt])
        assert result.exit_code == 0, result.output
