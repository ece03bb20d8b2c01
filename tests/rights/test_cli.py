"""The rights commands end to end through the CLI, with a config file, on the simulators."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from syncaudit.cli import app
from syncaudit.testing import CONTRACT_KEY

from .conftest import ANNA, COACH, T0, World, at

runner = CliRunner()


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value))


def write_config(world: World, path: Path) -> None:
    lines = [f"[database]\nurl = {toml_value(world.db_url)}", "[controller]\nname = 'Oy'"]
    for table in world.systems(manual=True):
        lines.append("[[systems]]")
        lines += [f"{k} = {toml_value(v)}" for k, v in table.items()]
    lines.append('[retention]\nmarketing_systems = ["mailmunch"]')
    lines.append(
        '[retention.summaries]\nsystem = "outlook"\nfolders = ["Coaching summaries"]\n'
        "delete = false"
    )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def configured(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    path = tmp_path / "syncaudit.toml"
    write_config(world, path)
    monkeypatch.setenv("SYNCAUDIT_CONFIG", str(path))
    monkeypatch.setenv("SYNCAUDIT_PSEUDONYM_KEY", CONTRACT_KEY.hex())
    monkeypatch.setenv("SIM_GRAPH_SECRET", world.graph.client_secret)
    monkeypatch.setenv("SIM_MC_KEY", world.mailchimp.api_key)
    offset = (T0 - datetime.now(UTC)).total_seconds()  # the CLI's clock starts at T0
    monkeypatch.setenv("SYNCAUDIT_CLOCK_OFFSET_SECONDS", str(offset))
    return world


def invoke(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    return result


def test_access_object_requests_and_retention_from_the_command_line(
    configured: World, tmp_path: Path
) -> None:
    world = configured
    folder = world.graph.add_mail_folder(COACH, "Coaching summaries")
    old = world.graph.add_message(COACH, folder, subject="S", sent=at(2020, 7, 1), to=[ANNA])
    assert invoke("sync").exit_code == 0

    first = invoke("access", ANNA[1], "-o", str(tmp_path / "out"), "--lang", "fi")
    assert first.exit_code == 0, first.output
    access_id = first.stdout.split("access request ")[1].split(":")[0]
    assert f"access request {access_id}: in_progress" in first.output  # mailmunch: by hand
    assert f"then:  syncaudit erasure confirm {access_id} mailmunch" in first.output
    assert "NOTE" not in first.output
    assert invoke("erasure", "confirm", access_id, "mailmunch").exit_code == 0
    second = invoke("access", ANNA[1], "-o", str(tmp_path / "out"), "--json")
    view = json.loads(second.stdout)
    assert view["repeat_within_year"] is True
    assert Path(view["html"]).is_file() and Path(view["json"]).is_file()

    objection = invoke("object", ANNA[1])
    assert objection.exit_code == 0, objection.output
    assert "newsletter     unsubscribed 2" in objection.output
    request_id = objection.stdout.split("objection ")[1].split(":")[0]
    assert f"then:  syncaudit erasure confirm {request_id} mailmunch" in objection.output

    listing = invoke("requests", "--open", "--json")
    second_id = view["request_id"]
    assert [r["id"] for r in json.loads(listing.stdout)] == [second_id, request_id]
    everything = invoke("requests")
    assert everything.output.count(" access ") == 2
    assert "[repeat within 12 months]" in everything.output
    assert invoke("erasure", "retry", request_id).exit_code == 2  # not an erasure

    review = invoke("retention", "review", "--erase", "1", "--yes")
    assert review.exit_code == 0, review.output
    assert ANNA[1] in review.output and "queued 1 erasure(s)" in review.output

    dry = invoke("retention", "summaries")
    assert dry.exit_code == 0, dry.output
    assert "1 past their limit" in dry.output and "Dry run" in dry.output
    assert world.graph.message_ids(COACH, folder) == [old]
    deleted = invoke("retention", "summaries", "--delete", "--yes")
    assert "deleted 1" in deleted.output, deleted.output
    assert world.graph.message_ids(COACH, folder) == []


READ_ONLY = [
    ("erasures",),
    ("erasures", "--json"),
    ("subject", ANNA[1]),
    ("status",),
    ("requests",),
    ("report", "monthly", "--format", "md", "-o", "-"),
    ("report", "transfers", "--format", "json", "-o", "-"),
    ("report", "ropa", "--format", "md", "-o", "-"),
    ("audit", "verify"),
]


def test_read_only_commands_need_no_system_secret(
    configured: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An owner looks at an erasure's progress from a shell without the service's secrets."""
    assert invoke("sync").exit_code == 0
    erased = invoke("erase", ANNA[1], "--yes", "--json")
    assert erased.exit_code == 0, erased.output
    request_id = json.loads(erased.stdout)["id"]
    monkeypatch.delenv("SIM_GRAPH_SECRET")
    monkeypatch.delenv("SIM_MC_KEY")
    for args in [*READ_ONLY, ("erasure", "show", request_id)]:
        result = invoke(*args)
        assert result.exit_code == 0, (args, result.output)
        assert "SIM_GRAPH_SECRET" not in result.output and "SIM_MC_KEY" not in result.output


def test_sync_without_the_mailchimp_key_names_only_that_variable(
    configured: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SIM_MC_KEY")
    result = invoke("sync")
    assert result.exit_code == 2
    assert "error: systems[1].api_key_env: environment variable SIM_MC_KEY is not set" in (
        result.output
    )
    assert "next: Set SIM_MC_KEY" in result.output
    assert "SIM_GRAPH_SECRET" not in result.output
    assert invoke("sync", "outlook").exit_code == 0  # a system that has its secret still syncs
    checked = invoke("check", "--json")
    assert checked.exit_code == 1
    by_system = {c["system"]: c for c in json.loads(checked.stdout)}
    assert by_system["outlook"]["ok"] is True
    assert "SIM_MC_KEY is not set" in by_system["newsletter"]["message"]
