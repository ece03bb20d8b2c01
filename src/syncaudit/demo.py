"""`syncaudit demo`: the whole slice on this machine, with no credentials and no network.

Every system runs as its connector's simulator on loopback (plugins that support the demo start
them); the demo narrates sync, look-up, a dry-run and real erasure, a resurrection, and reports.
It exits non-zero when any step fails, so it doubles as a smoke test.
"""

from __future__ import annotations

import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from syncaudit import registry
from syncaudit.contract import DemoPerson, DemoSystem, SupportsDemo
from syncaudit.errors import SyncauditError

FIRST = (
    "Aino",
    "Eero",
    "Helmi",
    "Juhani",
    "Kaisa",
    "Lauri",
    "Maija",
    "Niilo",
    "Oona",
    "Pekka",
    "Saara",
    "Tuomas",
    "Venla",
    "Ville",
    "Elsa",
    "Oskar",
    "Linnea",
    "Axel",
    "Ebba",
    "Hugo",
    "Ingrid",
    "Nils",
    "Astrid",
    "Johan",
    "Sofia",
    "Emil",
    "Matilda",
    "Anton",
)
LAST = (
    "Virtanen",
    "Korhonen",
    "Mäkinen",
    "Nieminen",
    "Hämäläinen",
    "Laine",
    "Heikkinen",
    "Koskinen",
    "Järvinen",
    "Lindqvist",
    "Holmström",
    "Sjöberg",
    "Ekström",
    "Nyberg",
    "Lindholm",
    "Westerlund",
    "Grönroos",
    "Björklund",
    "Salo",
    "Rantanen",
)
DOMAINS = ("posti.example", "koti.example", "yritys.example", "mail.example")
DEMO_KEY_ENV = "SYNCAUDIT_DEMO_PSEUDONYM_KEY"
STAR = DemoPerson(
    first="Aino",
    last="Lindqvist",
    email="Aino.Lindqvist@Koti.example",
    other_emails=("aino@lindroos-coaching.example", "aino.lindroos+uutiset@posti.example"),
    appears_in=frozenset({"contacts", "calendar", "mention", "newsletter", "invoices"}),
)


def demo_people(count: int = 300, seed: int = 7) -> list[DemoPerson]:
    rng = random.Random(seed)
    people = [STAR]
    for index in range(count - 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        local = f"{first}.{last}{index}".lower().translate(str.maketrans("äöå", "aoa"))
        email = f"{local}@{rng.choice(DOMAINS)}"
        if rng.random() < 0.2:
            email = email.title()  # people type addresses in any case
        where = {
            s
            for s, p in (
                ("contacts", 0.6),
                ("calendar", 0.4),
                ("mention", 0.1),
                ("newsletter", 0.7),
                ("invoices", 0.3),
            )
            if rng.random() < p
        }
        people.append(
            DemoPerson(
                first=first, last=last, email=email, appears_in=frozenset(where or {"newsletter"})
            )
        )
    return people


class Narrator:
    def __init__(self, out: TextIO, steps: int) -> None:
        self.out, self.steps, self.step = out, steps, 0

    def section(self, title: str) -> None:
        self.step += 1
        self.say(f"\n[{self.step}/{self.steps}] {title}")

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)


@contextmanager
def _workdir(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        if keep.exists():
            shutil.rmtree(keep)
        keep.mkdir(parents=True)
        yield keep
        return
    path = Path(tempfile.mkdtemp(prefix="syncaudit-demo-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


SYSTEMS = (
    ("outlook", "msgraph"),
    ("newsletter", "mailchimp"),
    ("accounting", "accounting_export"),
    ("procountor", "procountor"),
)


def _start_systems(workdir: Path, people: list[DemoPerson]) -> list[tuple[str, DemoSystem]]:
    started: list[tuple[str, DemoSystem]] = []
    for name, kind in SYSTEMS:
        plugin = registry.plugin_for(kind)
        if not isinstance(plugin, SupportsDemo):
            raise SyncauditError(f"connector {kind!r} cannot run a demo simulator")
        started.append((name, plugin.start_demo(name, workdir, people)))
    return started


def _write_config(workdir: Path, systems: list[tuple[str, DemoSystem]]) -> Path:
    lines = [
        "# Written by `syncaudit demo`: every system is a simulator on 127.0.0.1.",
        "[database]",
        f'url = "sqlite:///{workdir / "syncaudit.db"}"',
        "[identity]",
        f'key_env = "{DEMO_KEY_ENV}"',
        "[controller]",
        'name = "Valmennus Lindholm Oy"',
        'business_id = "1234567-8"',
        'email = "tietosuoja@valmennus.example"',
        "[service]",
        f'report_dir = "{workdir / "reports"}"',
        "[intake]",  # requests by mail: the coach's own Outlook inbox
        'system = "outlook"',
        f'access_dir = "{workdir / "access"}"',
    ]
    for _, system in systems:
        lines.append("\n[[systems]]")
        lines += [f"{key} = {_toml(value)}" for key, value in system.table.items()]
    lines += [
        "\n[[systems]]",
        'name = "mailmunch"',
        'type = "manual"',
        'country = "US"',
        'vendor = "Mailmunch"',
        'transfer_mechanism = "unknown"',
        'instructions = "Log in to Mailmunch, Subscribers, search the address, delete it."',
    ]
    path = workdir / "syncaudit.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _toml(value: Any) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def run_demo(*, keep: Path | None = None, lang: str = "en", out: TextIO = sys.stdout) -> int:
    """Run every step; returns 0, or raises on the first failure."""
    from syncaudit import logging as slog

    slog.configure(level="error")
    started = time.perf_counter()
    talk = Narrator(out, 7)
    talk.say(
        "syncaudit demo — a one-person coaching company, every system simulated on this machine"
    )
    people = demo_people()
    with _workdir(keep) as workdir:
        talk.section("Starting the systems' simulators")
        systems = _start_systems(workdir, people)
        try:
            for name, system in systems:
                talk.say(
                    f"  {name:<11} {system.table['type']:<18} "
                    f"{system.table.get('base_url') or system.table.get('path')}"
                )
            talk.say("  mailmunch   manual             (no API: erasure is a confirmed step)")
            config = _write_config(workdir, systems)
            talk.say(f"  config: {config}")
            _story(talk, config, systems, lang=lang, workdir=workdir)
        finally:
            for _, system in systems:
                system.stop()
        talk.say(
            f"\nDone in {time.perf_counter() - started:.1f} s. "
            + (f"Everything is in {workdir}" if keep else "(use --keep DIR to keep it)")
        )
    return 0


def _story(
    talk: Narrator,
    config: Path,
    systems: list[tuple[str, DemoSystem]],
    *,
    lang: str,
    workdir: Path,
) -> None:
    import os

    from syncaudit.app import App
    from syncaudit.config import load_config
    from syncaudit.identity import generate_key

    env = {**os.environ, DEMO_KEY_ENV: generate_key()}
    for _, system in systems:
        env.update(system.env)
    app = App(load_config(config, env))
    try:
        _sync(talk, app)
        _lookup(talk, app)
        request_id = _erase(talk, app, dict(systems)["outlook"])
        _resurrection(talk, app, dict(systems)["newsletter"])
        _reports(talk, app, workdir, lang)
        _evidence(talk, app, request_id)
    finally:
        app.close()


def _sync(talk: Narrator, app: Any) -> None:
    talk.section(f"Syncing every system into the subject index ({app.settings.database_url})")
    for report in app.sync(progress=_progress(talk)):
        _clear_progress(talk)
        talk.say(
            f"  {report.system:<11} {report.items:>5} items -> {report.records:>5} index "
            f"records in {report.seconds:.1f} s"
        )
        if report.status != "ok":
            raise SyncauditError(
                f"sync of {report.system} ended {report.status}: {report.problems}"
            )
    with app.db.session() as s:
        from sqlalchemy import func, select

        from syncaudit.models import Record, Subject

        subjects = s.scalar(select(func.count()).select_from(Subject))
        records = s.scalar(select(func.count()).select_from(Record))
    talk.say(
        f"  index: {subjects} people in {records} records (one person = one normalised "
        "address, whatever its letter case)"
    )


def _progress(talk: Narrator) -> Callable[[str, int], None] | None:
    if not talk.out.isatty():
        return None

    def show(system: str, count: int) -> None:
        talk.out.write(f"\r  {system:<11} {count:>5} items ...")
        talk.out.flush()

    return show


def _clear_progress(talk: Narrator) -> None:
    if talk.out.isatty():
        talk.out.write("\r" + " " * 40 + "\r")


def _lookup(talk: Narrator, app: Any) -> None:
    talk.section(f"Where does {STAR.name} appear? (`syncaudit subject {STAR.email.lower()}`)")
    view = app.subject(STAR.email)
    if not view["found"]:
        raise SyncauditError("the demo person is not in the index after the sync")
    for record in view["records"]:
        talk.say(f"  {record['system']:<11} {record['kind']:<16} {record['external_id'][:32]}")
    talk.say(
        f"  logs and evidence name her only as {view['pseudonym']}; her two other "
        "addresses on the contact are separate identities, erased only when asked"
    )


def _by_mail(talk: Narrator, app: Any, outlook: DemoSystem) -> str:
    """The request arrives by mail, the person is verified by reply, the operator approves."""
    from syncaudit.requester import review
    from syncaudit.requester.intake import run_intake

    mail = outlook.mail
    mail.write(STAR, "Tietojeni poistaminen", "Hei,\npoistakaa tietoni rekistereistänne.\nKiitos")
    report = run_intake(app)
    (intake_id,) = report.created
    (row,) = review.pending(app)
    talk.say(
        f"  a mail arrived: request {intake_id} ({row['kind']}, {row['language']}), "
        f"{row['promise_hours_left']} h left of the 48 h promise, "
        f"{row['statutory_days_left']} days of the statutory month"
    )
    talk.say(f"  letters sent: {', '.join(subject for subject, _ in mail.letters(STAR))}")
    if not mail.reply(STAR, "Kyllä, pyyntö on minulta."):
        raise SyncauditError("no verification letter was sent")
    if run_intake(app).verified != [intake_id]:
        raise SyncauditError(f"the reply did not verify {intake_id}")
    talk.say("  the person replied to the verification letter: verified")
    started = review.approve(app, intake_id)
    return str(started["request_id"])


def _completion_letter(talk: Narrator, app: Any, outlook: DemoSystem) -> None:
    from syncaudit.requester.intake import run_intake

    run_intake(app)  # the daemon's next intake tick does this
    letters = outlook.mail.letters(STAR)
    subject, body = letters[-1]
    if len(letters) != 3 or "1336/1997" not in body or "tietosuoja.fi" not in body:
        raise SyncauditError("the completion letter was not sent as expected")
    talk.say(f"  completion letter sent: {subject}")
    for line in body.splitlines():
        if line.startswith("- "):
            talk.say(f"    {line}")


def _erase(talk: Narrator, app: Any, outlook: DemoSystem) -> str:
    from syncaudit.erasure import requests as erasure
    from syncaudit.erasure.worker import worker_slot

    talk.section("Erasure: the dry run, a request by mail, then the real thing")
    for plan in erasure.plan(app, STAR.email):
        for action in plan.actions:
            note = f" — {action.explanation}" if action.explanation else ""
            talk.say(
                f"  would {action.action:<7} {plan.system:<11} "
                f"{action.ref.label or action.ref.kind}{note}"[:150]
            )
    request_id = _by_mail(talk, app, outlook)
    talk.say(f"  approved: erasure request {request_id}, deadline 48 h from the mail")
    with worker_slot(app) as worker:
        worker.run_until_idle()
    view = erasure.show(app, request_id)
    for task in view["tasks"]:
        talk.say(f"  {task['system']:<11} {task['result']}")
    talk.say("  the operator deletes the address in Mailmunch by hand and confirms it:")
    erasure.confirm(app, request_id, "mailmunch", note="deleted in the Mailmunch UI (demo)")
    view = erasure.show(app, request_id)
    if view["state"] != "completed":
        raise SyncauditError(f"request {request_id} is {view['state']}, not completed")
    talk.say(f"  request {request_id}: completed within the deadline: {view['within_deadline']}")
    if app.subject(STAR.email)["records"] and any(
        not r["restricted"] for r in app.subject(STAR.email)["records"]
    ):
        raise SyncauditError("unrestricted records remain after the erasure")
    talk.say("  the index kept only invoice references under legal hold; a tombstone remains")
    _completion_letter(talk, app, outlook)
    return request_id


def _resurrection(talk: Narrator, app: Any, newsletter: DemoSystem) -> None:
    from syncaudit.erasure import requests as erasure
    from syncaudit.erasure.worker import worker_slot

    talk.section("Resurrection guard")
    talk.say(f"  {newsletter.bring_back(STAR)}")
    reports = app.sync(["newsletter"])
    caught = sum(r.resurrections for r in reports)
    if not caught:
        raise SyncauditError("the re-subscribed address was not caught on the next sync")
    talk.say(
        f"  next sync: {caught} resurrection caught, nothing stored in plaintext; "
        "a new erasure was queued"
    )
    with worker_slot(app) as worker:
        worker.run_until_idle()
    latest = erasure.list_requests(app, kind="erasure")[-1]
    talk.say(f"  request {latest['id']} ({latest['origin']}): {latest['state']}")
    if latest["state"] != "completed":
        raise SyncauditError("the re-erasure did not complete")


def _reports(talk: Narrator, app: Any, workdir: Path, lang: str) -> None:
    talk.section("Reports")
    from syncaudit.reports.demo import demo_reports

    for path in demo_reports(app, workdir / "reports", lang=lang):
        talk.say(f"  {path}")


def _evidence(talk: Narrator, app: Any, request_id: str) -> None:
    from syncaudit import audit

    talk.section("Evidence")
    with app.db.session() as s:
        check = audit.verify(s)
    if not check.ok:
        raise SyncauditError(f"audit chain broken at {check.first_bad_seq}: {check.problem}")
    talk.say(f"  audit chain verified: {check.entries} entries, head {check.head[:16]}…")
    talk.say(f"  see the timeline: syncaudit --config <demo config> erasure show {request_id}")
