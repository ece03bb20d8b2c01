"""The console's pages in Finnish and English hold no untranslated string.

Three checks: every marked text has a Finnish translation (and the catalog has none unused);
every state word the core stores has a label; and every page, rendered in both languages with
each `{{ value }}` fenced by markers, shows no text outside an expression, so no word was
written into a template without going through the catalog. On the Finnish pages, no fenced
text is an English msgid or a raw state word.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from importlib.resources import files

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po
from starlette.testclient import TestClient

from syncaudit.app import App
from syncaudit.contract import Action, OutcomeStatus, RecordKind
from syncaudit.erasure.states import RequestState, TaskState
from syncaudit.errors import PermanentError
from syncaudit.regions import Safeguard
from syncaudit.testing import FakePlugin
from syncaudit.web.app import create_app
from syncaudit.web.console import MARK_CLOSE, MARK_OPEN
from syncaudit.web.i18n import LABELS, catalog_path

from .helpers import csrf_of, sign_in

PACKAGE = files("syncaudit.web")
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
KEYWORDS = {**DEFAULT_KEYWORDS, "t": None}  # Page.t("...") in the handlers
FENCED = re.compile(f"{MARK_OPEN}[^{MARK_OPEN}{MARK_CLOSE}]*{MARK_CLOSE}")
VISIBLE_ATTRIBUTES = {"placeholder", "title", "aria-label", "alt", "data-label"}


def _used() -> set[str]:
    options = {METHODS[1][0]: {"extensions": "jinja2.ext.i18n"}}
    return {
        message if isinstance(message, str) else message[0]
        for _f, _l, message, _c, _x in extract_from_dir(
            str(PACKAGE), method_map=METHODS, options_map=options, keywords=KEYWORDS
        )
    }


def _finnish() -> dict[str, str]:
    with catalog_path("fi").open("rb") as handle:
        catalog = read_po(handle)
    return {m.id: m.string for m in catalog if m.id and not m.fuzzy and isinstance(m.id, str)}


def test_every_text_has_a_finnish_translation() -> None:
    used, finnish = _used(), _finnish()
    assert len(used) > 150
    missing = sorted(m for m in used if not finnish.get(m))
    assert not missing, f"translate in {catalog_path('fi')}: {missing}"
    unused = sorted(m for m in finnish if m not in used)
    assert not unused, f"no longer used, remove from the catalog: {unused}"
    for msgid, text in finnish.items():
        assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(msgid)), msgid


def test_every_state_word_of_the_core_has_a_label() -> None:
    words = {
        str(v)
        for enum in (RequestState, TaskState, Action, RecordKind, OutcomeStatus)
        for v in enum
    }
    words |= {str(v) for v in Safeguard} | {"dpf-stale", "missing", "confirmed", "access"}
    words |= {"unsubscribed", "no marketing", "nothing found", "operator", "resurrection"}
    assert not sorted(words - set(LABELS))


# -- the rendered pages ---------------------------------------------------------------------------


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.texts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.texts += [v for k, v in attrs if k in VISIBLE_ATTRIBUTES and v]


def _bare_and_fenced(html: str) -> tuple[list[str], list[str]]:
    parser = _Text()
    parser.feed(html)
    bare, fenced = [], []
    for text in parser.texts:
        fenced += [f.strip(MARK_OPEN + MARK_CLOSE).strip() for f in FENCED.findall(text)]
        rest = FENCED.sub("", text)
        if re.search(r"[^\W\d_]", rest):
            bare.append(rest.strip())
    return bare, fenced


@pytest.fixture
def pages(world: App) -> dict[str, TestClient]:
    """A console with something on every page: a request waiting for a manual step, a failed
    one, a completed access request with its files, written reports."""
    clients = {}
    for lang in ("fi", "en"):
        client = TestClient(create_app(world, mark_output=True), base_url="http://127.0.0.1")
        clients[lang] = client
    return clients


def _prepare(world: App, client: TestClient) -> dict[str, str]:
    from syncaudit.erasure.requests import confirm, submit
    from syncaudit.erasure.worker import worker_slot
    from syncaudit.rights.access import access_export

    anna = submit(world, "anna.virtanen@example.fi")
    bob = submit(world, "bob@example.fi")
    FakePlugin.systems["crm"].fail_next.append(PermanentError("the CRM said no"))
    with worker_slot(world) as worker:
        worker.run_until_idle()
    access = access_export(world, "img@example.fi", world.settings.web.export_dir).request_id
    confirm(world, access, "paper", "looked, nothing")
    token = csrf_of(client.get("/reports").text)
    for fmt in ("html", "md"):
        client.post(
            "/reports",
            data={"kind": "monthly", "month": "2026-02", "lang": "fi", "fmt": fmt, "csrf": token},
        )
    return {"anna": anna, "bob": bob, "access": access}


def _visit(client: TestClient, ids: dict[str, str]) -> Iterator[tuple[str, str]]:
    for path in ("/", "/person", "/requests/new", "/requests", "/reports", "/exports"):
        yield path, client.get(path).text
    for key in ("anna", "bob", "access"):
        yield key, client.get(f"/requests/{ids[key]}").text
    yield "no such request", client.get("/requests/E-20990101-000000").text
    token = csrf_of(client.get("/person").text)
    for email in ("img@example.fi", "nobody@example.fi", "anna.virtanen@example.fi"):
        yield f"person {email}", client.post("/person", data={"email": email, "csrf": token}).text
    for kind in ("erasure", "access", "objection"):
        data = {"email": "bob@example.fi", "kind": kind, "step": "plan", "csrf": token}
        yield f"plan {kind}", client.post("/requests/new", data=data).text
    yield "reports written", client.get("/reports?written=x.html").text
    yield "refused", client.post("/requests/new", data={"csrf": "wrong"}).text


def test_no_page_holds_an_untranslated_string(world: App, pages: dict[str, TestClient]) -> None:
    english = {m for m, text in _finnish().items() if text != m}
    english |= {LABELS[k] for k in LABELS} | {k for k, v in LABELS.items() if v != k}
    ids: dict[str, str] = {}
    for lang, client in pages.items():
        signed = sign_in(client)
        assert signed.url.path == "/"
        token = csrf_of(signed.text)
        client.post("/language", data={"lang": lang, "csrf": token, "next": "/"})
        ids = ids or _prepare(world, client)
        seen = 0
        for where, html in _visit(client, ids):
            assert f'<html lang="{MARK_OPEN}{lang}{MARK_CLOSE}">' in html, where
            bare, fenced = _bare_and_fenced(html)
            assert not bare, f"{lang} {where}: text outside the catalog: {bare}"
            if lang == "fi":
                leaked = sorted(f for f in fenced if f in english and f not in ids.values())
                assert not leaked, f"fi {where}: English text: {leaked}"
            seen += 1
        assert seen >= 18
        signout = csrf_of(client.get("/").text)
        client.post("/signout", data={"csrf": signout})
        page = client.get("/signin").text
        assert not _bare_and_fenced(page)[0]
        wrong = client.post(
            "/signin", data={"name": "owner", "password": "nope", "csrf": csrf_of(page)}
        )
        assert wrong.status_code == 401
        assert not _bare_and_fenced(wrong.text)[0]


def test_templates_styles_and_catalog_ship_inside_the_package() -> None:
    # Read from the package directory at run time: the wheel includes them (hatchling ships every
    # file under src/syncaudit), and so does the editable install.
    for part in ("templates/base.html", "static/console.css", "locale/fi/LC_MESSAGES/messages.po"):
        assert (PACKAGE / part).is_file(), part
