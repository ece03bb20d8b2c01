"""Web console figures, each next to its baseline measured in the same run: the core calls a
page makes, called directly. The pages go through Starlette's in-process client (no socket).

python -m bench.bench_web [--requests 300] [--people 2000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import Row, print_rows, row
from syncaudit.app import App
from syncaudit.testing import FakePlugin, FakeSystem, make_settings

PASSWORD = "a long benchmark password"


def _median_ms(work: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return round(statistics.median(times) * 1000, 1)


def _letters(number: int) -> str:
    """A name word without digits (names are matched by their words: digits do not count)."""
    word = ""
    number += 26 * 26
    while number:
        number, rest = divmod(number, 26)
        word += chr(ord("a") + rest)
    return word.capitalize()


def _world(root: Path, people: int, requests: int) -> App:
    from syncaudit.erasure.requests import submit
    from syncaudit.web.accounts import add_user

    FakePlugin.systems.clear()
    crm = FakePlugin.systems.setdefault("crm", FakeSystem())
    for i in range(people):
        crm.put(f"c{i}", (f"person{i}@example.fi", f"Person {_letters(i)}"))
    settings = make_settings(
        f"sqlite:///{root / 'bench.db'}",
        [{"name": "crm", "type": "fake"}, {"name": "paper", "type": "manual"}],
        extra={"service": {"report_dir": str(root / "reports")}},
    )
    app = App(settings)
    app.sync()
    for i in range(requests):
        submit(app, f"person{i}@example.fi")
    add_user(app, "owner", PASSWORD)
    return app


def run(requests: int = 300, people: int = 2000, runs: int = 15) -> list[Row]:
    from starlette.testclient import TestClient

    from syncaudit.rights.requests import list_all
    from syncaudit.service.status import collect
    from syncaudit.web import accounts
    from syncaudit.web.app import create_app
    from syncaudit.web.views import chain_status

    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        app = _world(Path(tmp), people, requests)
        try:
            client = TestClient(create_app(app), base_url="http://127.0.0.1")
            token = client.get("/signin").text.split('name="csrf" value="')[1].split('"')[0]
            client.post("/signin", data={"name": "owner", "password": PASSWORD, "csrf": token})
            csrf = client.get("/").text.split('name="csrf" value="')[1].split('"')[0]

            def core_overview() -> None:
                collect(app)
                list_all(app, open_only=True)
                chain_status(app)

            base = _median_ms(core_overview, runs)
            page = _median_ms(lambda: client.get("/"), runs)
            rows.append(row(f"overview, core calls only ({requests} open)", base, "", None, "ms"))
            rows.append(row("overview page (session, render, headers)", page, "", None, "ms"))
            rows.append(
                row("overview page overhead over the core", round(page - base, 1), "", None, "ms")
            )
            email = "person7@example.fi"
            base = _median_ms(lambda: app.subject(email), runs)
            page = _median_ms(
                lambda: client.post("/person", data={"email": email, "csrf": csrf}), runs
            )
            rows.append(row("find a person, App.subject only", base, "", None, "ms"))
            rows.append(row("find a person page (+ requests, evidence)", page, "", None, "ms"))
            signin = _median_ms(lambda: accounts.sign_in(app, "owner", PASSWORD), 5)
            rows.append(
                row("sign-in (argon2id verify + session)", signin, "< 1000 ms", signin < 1000, "ms")
            )
        finally:
            app.close()
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--people", type=int, default=2000)
    args = parser.parse_args()
    print_rows(run(args.requests, args.people))
