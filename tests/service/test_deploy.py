"""deploy/: the systemd units verify and are hardened; the container image builds, non-root."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNITS = ("syncaudit.service", "syncaudit-once.service", "syncaudit-once.timer")
INSTALLED = "/opt/syncaudit/bin/syncaudit"


def directives(unit: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in (DEPLOY / unit).read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


@pytest.mark.parametrize("unit", ["syncaudit.service", "syncaudit-once.service"])
def test_the_service_units_are_hardened(unit: str) -> None:
    d = directives(unit)
    assert d["User"] == ["syncaudit"]
    assert d["ProtectSystem"] == ["strict"]
    assert d["NoNewPrivileges"] == ["true"]
    assert d["CapabilityBoundingSet"] == [""]
    assert d["StateDirectory"] == ["syncaudit"]
    assert d["UMask"] == ["0077"]
    assert d["EnvironmentFile"] == ["/etc/syncaudit/secrets.env"]  # root-only, read by systemd
    assert INSTALLED in d["ExecStart"][0]
    assert not any("SECRET=" in v or "KEY=" in v for v in d.get("Environment", []))


def test_the_resident_unit_stops_within_its_grace() -> None:
    d = directives("syncaudit.service")
    assert d["Type"] == ["notify"]  # `syncaudit run` tells systemd READY=1 / STOPPING=1
    grace = float(d["ExecStart"][0].split("--grace")[1].split()[0])
    assert grace < float(d["TimeoutStopSec"][0])


def test_the_admin_wrapper_runs_commands_as_the_service_user() -> None:
    wrapper = DEPLOY / "syncaudit-admin"
    assert wrapper.stat().st_mode & 0o111
    text = wrapper.read_text(encoding="utf-8")
    assert "--uid=syncaudit" in text
    assert "EnvironmentFile=/etc/syncaudit/secrets.env" in text
    assert subprocess.run(["sh", "-n", str(wrapper)], timeout=30).returncode == 0


def test_systemd_analyze_verify_accepts_the_units(tmp_path: Path) -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed here")
    # verify checks that ExecStart exists: point it at this installation's command
    command = Path(sys.executable).with_name("syncaudit")
    target = str(command) if command.exists() else shutil.which("true") or "/bin/true"
    for unit in UNITS:
        text = (DEPLOY / unit).read_text(encoding="utf-8").replace(INSTALLED, target)
        (tmp_path / unit).write_text(text, encoding="utf-8")
    done = subprocess.run(
        [tool, "verify", "--man=no", *(str(tmp_path / u) for u in UNITS)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    complaints = [
        line for line in (done.stdout + done.stderr).splitlines() if any(u in line for u in UNITS)
    ]
    assert done.returncode == 0, done.stderr
    assert complaints == []


def test_the_dockerfile_runs_as_a_user_with_the_database_on_a_volume() -> None:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert "USER 10001:10001" in text
    assert 'VOLUME ["/var/lib/syncaudit"]' in text
    copied = [line for line in text.splitlines() if line.startswith(("COPY", "ADD", "ENV"))]
    assert not any(word in line.lower() for line in copied for word in ("secret", "key"))


def _docker_unavailable() -> str | None:
    if shutil.which("docker") is None:
        return "docker is not installed"
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, timeout=20)
    except subprocess.TimeoutExpired:
        return "docker info timed out"
    return None if info.returncode == 0 else "the docker engine is not running"


@pytest.mark.slow
def test_the_image_builds_and_runs_as_non_root() -> None:
    reason = _docker_unavailable()
    if reason:
        pytest.skip(reason)
    root = DEPLOY.parent
    tag = "syncaudit-test:latest"
    build = subprocess.run(
        ["docker", "build", "-f", str(DEPLOY / "Dockerfile"), "-t", tag, str(root)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    user = subprocess.run(
        ["docker", "image", "inspect", "-f", "{{.Config.User}}", tag],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert user.stdout.strip() == "10001:10001"
    run = subprocess.run(
        ["docker", "run", "--rm", tag, "--help"], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0
    assert "run" in run.stdout
