"""The owner's week in a real headless Chromium, against the simulators, through `syncaudit run`.

The service runs as a child process with `[web] enabled` (port 0: the log line `web.serving`
names the port), over the Graph, Mailchimp and accounting simulators and a manual Mailmunch.
The browser signs in, finds a person, starts an erasure (the dry run first), sees it on the
overview with time left, confirms the Mailmunch step with a note once the service has done the
rest, sees it completed, writes and downloads the monthly report, and signs out. Screenshots of
each page go to $SYNCAUDIT_SCREENSHOTS, or to pytest's tmp dir (printed; never committed).

Skipped when /usr/bin/chromium or playwright is missing, unless SYNCAUDIT_REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from syncaudit import registry
from syncaudit.contract import DemoSystem, SupportsDemo
from syncaudit.demo import STAR, SYSTEMS, demo_people
from syncaudit.identity import generate_key

CHROMIUM = Path("/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("SYNCAUDIT_REQUIRE_BROWSER") == "1"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
KEY_ENV = "SYNCAUDIT_BROWSER_TEST_KEY"
PASSWORD = "a long password for the owner"
EMAIL = STAR.email.lower()


def require_browser() -> None:
    reason = None
    if not CHROMIUM.is_file():
        reason = (
            f"{CHROMIUM} is missing (Debian package chromium, listed in src/syncaudit/sysdeps.py)"
        )
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "playwright is not installed (the dev extra)"
    if reason is None:
        return
    if REQUIRE_BROWSER:
        pytest.fail(f"SYNCAUDIT_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("syncaudit")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from syncaudit.cli import main; main()"]


def _toml(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, bool) else str(value).lower()


def _write_config(root: Path, systems: list[tuple[str, DemoSystem]]) -> Path:
    lines = [
        f"[database]\nurl = {_toml('sqlite:///' + str(root / 'syncaudit.db'))}",
        f"[identity]\nkey_env = {_toml(KEY_ENV)}",
        '[controller]\nname = "Valmennus Lindholm Oy"\nlanguage = "en"',
        f"[service]\nreport_dir = {_toml(str(root / 'reports'))}\nworker_poll_seconds = 1",
        f"[web]\nenabled = true\nport = 0\nexport_dir = {_toml(str(root / 'exports'))}",
    ]
    for _name, system in systems:
        lines.append("[[systems]]")
        lines += [f"{key} = {_toml(value)}" for key, value in system.table.items()]
    lines += [
        "[[systems]]",
        'name = "mailmunch"\ntype = "manual"\ncountry = "US"\nvendor = "Mailmunch"',
        'instructions = "Log in to Mailmunch, Subscribers, search the address, delete it."',
    ]
    path = root / "syncaudit.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class Service:
    url: str
    log: list[str]
    process: subprocess.Popen[str]


@contextmanager
def running_service(root: Path) -> Iterator[Service]:
    """Simulators in this process; `syncaudit sync`, `user add` and `run` as child processes."""
    with ExitStack() as stack:
        systems = []
        people = demo_people(60)
        for name, kind in SYSTEMS:
            plugin = registry.plugin_for(kind)
            assert isinstance(plugin, SupportsDemo)
            system = plugin.start_demo(name, root, people)
            stack.callback(system.stop)
            systems.append((name, system))
        config = _write_config(root, systems)
        env = {**os.environ, KEY_ENV: generate_key(), "SYNCAUDIT_CONFIG": str(config)}
        for _, system in systems:
            env.update(system.env)
        for args, stdin in (
            (["sync"], None),
            (["user", "add", "owner", "--password-stdin"], PASSWORD),
        ):
            done = subprocess.run(
                [*_cli(), *args], env=env, input=stdin, capture_output=True, text=True, timeout=120
            )
            assert done.returncode == 0, done.stderr
        process = subprocess.Popen(
            [*_cli(), "--log-format", "json", "run"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        log: list[str] = []
        serving = threading.Event()

        def read() -> None:
            assert process.stderr is not None
            for line in process.stderr:
                log.append(line)
                if '"web.serving"' in line:
                    serving.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            assert serving.wait(60), "".join(log)
            url = next(json.loads(x)["url"] for x in log if '"web.serving"' in x)
            yield Service(url=url, log=log, process=process)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            reader.join(10)  # the pipe ends with the process
            assert process.stderr is not None
            process.stderr.close()


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("SYNCAUDIT_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"screenshots: {folder}")
    return folder


def test_the_owners_week_in_a_real_browser(tmp_path: Path) -> None:
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    shots = _shots(tmp_path)
    with running_service(tmp_path / "office") as service, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a new, empty profile
            executable_path=str(CHROMIUM),
            args=FLAGS,
            headless=True,
            accept_downloads=True,
            viewport={"width": 1280, "height": 900},
        )
        context.set_default_timeout(20_000)
        page = context.new_page()

        def shot(name: str, target: Any = None) -> None:
            (target or page).screenshot(path=str(shots / f"{name}.png"), full_page=True)

        page.goto(service.url + "/")
        expect(page).to_have_url(service.url + "/signin")
        shot("01-signin")
        page.fill("input[name=name]", "owner")
        page.fill("input[name=password]", PASSWORD)
        page.click("#signin")
        expect(page).to_have_url(service.url + "/")
        expect(page.locator("h1")).to_have_text("Overview")
        shot("02-overview")

        page.click("nav >> text=Find a person")
        page.fill("input[name=email]", STAR.email)
        page.click("#find")
        result = page.locator("#result")
        for system in ("outlook", "newsletter", "accounting"):
            expect(result).to_contain_text(system)
        assert page.url.removeprefix(service.url) == "/person"  # POSTed: no address in the URL
        shot("03-find-a-person")

        page.click("#start-erasure")
        plan = page.locator("#plan")
        expect(plan).to_contain_text("Dry run")
        expect(plan).to_contain_text("mailmunch")
        expect(plan.locator("tr.action.retain").first).to_be_visible()  # the invoices: by law
        expect(plan.locator("tr.action.delete, tr.action.redact").first).to_be_visible()
        shot("04-dry-run")

        page.click("#confirm-request")
        expect(page.locator("h1")).to_contain_text("Request E-")
        request_id = page.url.rsplit("/", 1)[1]
        shot("05-request-stored")

        page.click("nav >> text=Overview")
        row = page.locator(f"tr.request[data-id='{request_id}']")
        expect(row).to_contain_text("h left")
        shot("06-overview-time-left")

        page.goto(f"{service.url}/requests/{request_id}")
        mailmunch = page.locator("article.task[data-system=mailmunch]")
        for _ in range(90):  # the service erases the rest and leaves the manual step
            others_done = page.locator("article.task.verified").count() == len(SYSTEMS)
            if others_done and "awaiting_manual" in (mailmunch.get_attribute("class") or ""):
                break
            time.sleep(1)
            page.reload()
        else:
            tasks = page.locator("article.task")
            states = [
                f"{task.get_attribute('data-system')}: {task.get_attribute('class')}"
                for task in tasks.all()
            ]
            pytest.fail(
                f"the service did not erase the automatic systems {states}: "
                + "".join(service.log[-40:])
            )
        shot("07-request-awaiting-mailmunch")
        mailmunch.locator("textarea[name=note]").fill("Deleted in the Mailmunch UI")
        mailmunch.locator("button.confirm").click()
        expect(page.locator("#state")).to_have_text("completed")
        shot("08-request-completed")

        page.click("nav >> text=Reports")
        monthly = page.locator("#report-monthly")
        monthly.locator("input[name=month]").fill(f"{request_id[2:6]}-{request_id[6:8]}")
        monthly.locator("button").click()
        expect(page.locator("#written")).to_contain_text("syncaudit-monthly-")
        shot("09-reports")
        name = page.locator("#written").inner_text().split(": ", 1)[1].strip()
        with page.expect_download() as info:
            page.click(f"a[href='/reports/files/{name}']")
        saved = tmp_path / name
        info.value.save_as(saved)
        text = saved.read_text(encoding="utf-8")
        assert "<html" in text[:300]
        assert request_id in text  # this month's report lists the request
        assert EMAIL not in text.lower()

        page.click("button[name=lang][value=fi]")
        expect(page.locator("html")).to_have_attribute("lang", "fi")
        page.goto(service.url + "/")
        expect(page.locator("h1")).to_have_text("Yleiskuva")
        shot("10-overview-fi")

        phone = context.new_page()
        phone.set_viewport_size({"width": 390, "height": 844})
        phone.goto(f"{service.url}/requests/{request_id}")
        shot("11-phone-request", phone)
        phone.goto(service.url + "/")
        shot("12-phone-overview", phone)
        phone.close()

        page.click("#signout")
        expect(page).to_have_url(service.url + "/signin")
        page.goto(f"{service.url}/requests/{request_id}")
        expect(page).to_have_url(service.url + "/signin")
        shot("13-signed-out")
        context.close()
    log = "".join(service.log)
    assert '"web.request"' in log
    assert EMAIL not in log.lower()
    assert "@koti.example" not in log.lower()
