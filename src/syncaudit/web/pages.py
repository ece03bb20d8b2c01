"""The console's pages. Each handler calls the core function the CLI calls for the same task.

| page | core |
| --- | --- |
| overview | status.collect, rights.requests.list_all, audit.verify (views.overview) |
| find a person | App.subject (+ the person's requests) |
| new request | erasure.requests.plan / submit, rights.access.access_export, rights.objection |
| request detail | erasure.requests.show / confirm / retry |
| reports | reports.monthly.write_monthly_report, reports.static.issue_static |
| access exports | the files access_export wrote into [web].export_dir (web.exports) |
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from starlette.responses import FileResponse, Response

from syncaudit.contract import Capability
from syncaudit.errors import UsageError
from syncaudit.web import accounts, views
from syncaudit.web import exports as kept
from syncaudit.web.console import LANG_COOKIE, Page, PageError, session_cookie
from syncaudit.web.i18n import LANGUAGES, N_

REQUEST_ID = re.compile(r"[EAOR]-\d{8}-[0-9a-f]{6}")
REPORT_FILE = re.compile(
    r"syncaudit-(monthly-\d{4}-\d{2}|transfers-\d{4}-\d{2}-\d{2}|ropa-\d{4}-\d{2}-\d{2})"
    r"-(fi|en)\.(html|pdf|md|json)"
)
KINDS = (
    ("erasure", N_("Erasure: delete my data")),
    ("access", N_("Access: what do you hold about me")),
    ("objection", N_("Objection: no more marketing")),
    ("rectification", N_("Rectification: correct my name or address")),
)
FIELDS = ("kind", "email", "reason", "received_at", "doc_lang", "new_name", "new_email")
REPORT_KINDS = (
    (
        "monthly",
        N_("Monthly compliance report"),
        N_("Requests and their deadlines, legal holds, pulls, transfers and the evidence."),
    ),
    (
        "transfers",
        N_("Third-country transfers"),
        N_("Which systems process data outside the EU/EEA, on what safeguard, for how many."),
    ),
    (
        "ropa",
        N_("Record of processing activities"),
        N_("The Art. 30 record, from the configuration."),
    ),
)
REPORT_FORMATS = ("html", "pdf", "json", "md")
YEAR = 365 * 86400


# -- signing in and out -----------------------------------------------------------------------


def signin_form(page: Page) -> Response:
    if page.operator is not None:
        return page.redirect("/")
    return page.render("signin.html", message="")


def signin(page: Page) -> Response:
    name = page.form.get("name", "").strip()[:64]
    result = accounts.sign_in(page.app, name, page.form.get("password", ""))
    if result.throttled:
        minutes = max(1, round(result.retry_after / 60))
        message = page.t(
            "Too many wrong passwords. Try again in %(minutes)s minute(s).", minutes=minutes
        )
        return page.render("signin.html", status=429, message=message)
    if not result.ok:
        message = page.t("Wrong account name or password.")
        return page.render("signin.html", status=401, message=message)
    page.set_cookie(session_cookie(page.secure), result.token)
    if result.language is None:  # the first sign-in keeps the language chosen on this page
        operator = accounts.session_for(page.app, result.token)
        if operator is not None:
            accounts.set_language(page.app, operator, page.lang)
    return page.redirect("/")


def signout(page: Page) -> Response:
    assert page.operator is not None
    accounts.sign_out(page.app, page.operator)
    page.set_cookie(session_cookie(page.secure), None)
    return page.redirect("/signin")


def language(page: Page) -> Response:
    chosen = page.form.get("lang", "")
    if chosen in LANGUAGES:
        page.set_cookie(LANG_COOKIE, chosen, YEAR)
        if page.operator is not None:
            accounts.set_language(page.app, page.operator, chosen)
    target = page.form.get("next", "/")
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    return page.redirect(target)


# -- overview, person, requests ---------------------------------------------------------------


def overview(page: Page) -> Response:
    return page.render("overview.html", view=views.overview(page.app))


def person_form(page: Page) -> Response:
    return page.render("person.html", view=None, email="")


def person_search(page: Page) -> Response:
    email = page.form.get("email", "").strip()
    if not email:
        return page.render("person.html", view=None, email="")
    view = views.subject(page.app, email)
    _, pseudonym = page.app.pseudonym_of(email)
    page.record("web.lookup", subject=pseudonym, found=view["found"])
    return page.render("person.html", view=view, email=view["email"])


def requests_list(page: Page) -> Response:
    return page.render("requests.html", rows=views.all_requests(page.app))


def _request_id(page: Page) -> str:
    request_id = page.param("request_id")
    if not REQUEST_ID.fullmatch(request_id):
        raise PageError(page.t("There is no such request."))
    return request_id


def request_detail(page: Page) -> Response:
    request_id = _request_id(page)
    try:
        view = views.request_detail(page.app, request_id)
    except UsageError:
        return page.error(page.t("There is no such request."), status=404)
    return page.render(
        "request.html", r=view, deadline_hours=page.app.settings.erasure.deadline_hours
    )


def confirm_task(page: Page) -> Response:
    from syncaudit.erasure.requests import confirm

    request_id = _request_id(page)
    system = page.form.get("system", "")
    note = page.form.get("note", "").strip()[:2000] or None
    confirm(page.app, request_id, system, note)
    page.record("web.task_confirmed", request_id=request_id, system=system)
    return page.redirect(f"/requests/{request_id}")


def retry_tasks(page: Page) -> Response:
    from syncaudit.erasure.requests import retry

    request_id = _request_id(page)
    system = page.form.get("system") or None
    count = retry(page.app, request_id, system)
    page.record("web.task_retry", request_id=request_id, system=system or "", tasks=count)
    return page.redirect(f"/requests/{request_id}")


# -- a new request: the dry run first -----------------------------------------------------------


def new_request_form(page: Page) -> Response:
    values = dict.fromkeys(FIELDS, "") | {"kind": "erasure"}
    return page.render("new.html", plan=None, values=values, kinds=KINDS)


def new_request(page: Page) -> Response:
    values = {k: page.form.get(k, "").strip() for k in FIELDS}
    kind = values["kind"] if values["kind"] in dict(KINDS) else "erasure"
    values["kind"] = kind
    if values["doc_lang"] not in LANGUAGES:
        values["doc_lang"] = page.lang
    received = _received_at(page, values["received_at"])
    fixes = values["new_name"] or values["new_email"]
    if kind == "rectification" and not fixes:  # from the person page: ask for the corrections
        return page.render("new.html", plan=None, values=values, kinds=KINDS)
    if page.form.get("step") != "confirm":
        plan = _preview(page, kind, values["email"], values)
        return page.render("new.html", plan=plan, values=values, kinds=KINDS)
    request_id = _submit(page, kind, values, received)
    _, pseudonym = page.app.pseudonym_of(values["email"])
    page.record("web.request_created", request_id=request_id, subject=pseudonym, kind=kind)
    return page.redirect(f"/requests/{request_id}")


def _received_at(page: Page, text: str) -> datetime | None:
    """The form's local date and time (the reports' time zone), or None for "now"."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise PageError(page.t("The time of the request is not a date and time.")) from None
    timezone = page.app.settings.reports.timezone
    return value.replace(tzinfo=ZoneInfo(timezone)) if value.tzinfo is None else value


def _preview(page: Page, kind: str, email: str, values: dict[str, str]) -> dict[str, Any]:
    """What would happen: the erasure or rectification dry run (live look-ups), or the systems
    involved."""
    from syncaudit.erasure import rectification
    from syncaudit.erasure import requests as erasure

    normalized, pseudonym = page.app.pseudonym_of(email)
    page.record("web.dry_run", subject=pseudonym, kind=kind)
    if kind == "erasure":
        return {"email": normalized, "systems": erasure.plan(page.app, normalized)}
    if kind == "rectification":
        fix = rectification.correction_of(page.app, values["new_name"], values["new_email"])
        return {"email": normalized, "systems": rectification.plan(page.app, normalized, fix)}
    if kind == "objection":
        from syncaudit.rights.objection import marketing_systems

        names = marketing_systems(page.app)
        if not names:
            raise PageError(
                page.t("No marketing system is configured."),
                next_step=page.t("Ask your IT contractor to add one."),
            )
    else:
        names = [s.name for s in page.app.systems()]
    rows = []
    for name in names:
        capabilities = page.app.connector(name).capabilities
        rows.append({"system": name, "manual": Capability.MANUAL in capabilities})
    return {"email": normalized, "involved": rows}


def _submit(page: Page, kind: str, values: dict[str, str], received: datetime | None) -> str:
    email = values["email"]
    if kind == "erasure":
        from syncaudit.erasure.requests import submit

        return submit(page.app, email, reason=values["reason"] or None, received_at=received)
    if kind == "rectification":  # the daemon's worker carries it out, as an erasure
        from syncaudit.erasure import rectification

        fix = rectification.correction_of(page.app, values["new_name"], values["new_email"])
        return rectification.submit(
            page.app, email, fix, reason=values["reason"] or None, received_at=received
        ).request_id
    if kind == "objection":
        from syncaudit.rights.objection import object_to_marketing

        return object_to_marketing(page.app, email, received_at=received).request_id
    from syncaudit.rights.access import access_export

    result = access_export(
        page.app,
        email,
        kept.export_dir(page.app),
        lang=values["doc_lang"],
        received_at=received,
    )
    return result.request_id


# -- reports and exports ------------------------------------------------------------------------


def _report_dir(page: Page) -> Path:
    return page.app.settings.service.report_dir


def reports(page: Page) -> Response:
    from syncaudit.reports.period import previous_month

    folder = _report_dir(page)
    files = []
    if folder.is_dir():
        files = sorted(
            (p for p in folder.iterdir() if REPORT_FILE.fullmatch(p.name)),
            key=lambda p: (-p.stat().st_mtime, p.name),
        )
    timezone = page.app.settings.reports.timezone
    return page.render(
        "reports.html",
        files=[{"name": p.name, "size": p.stat().st_size, "at": p.stat().st_mtime} for p in files],
        month=previous_month(page.app.clock.now(), timezone),
        written=page.request.query_params.get("written", ""),
        formats=REPORT_FORMATS,
        report_kinds=REPORT_KINDS,
    )


def write_report(page: Page) -> Response:
    from syncaudit.reports.monthly import write_file, write_monthly_report
    from syncaudit.reports.static import issue_static

    kind = page.form.get("kind", "")
    lang = page.form.get("lang", page.lang)
    fmt = page.form.get("fmt", "html")
    if (
        kind not in dict((k, t) for k, t, _ in REPORT_KINDS)
        or lang not in LANGUAGES
        or fmt not in REPORT_FORMATS
    ):
        raise PageError(page.t("Choose a report, a language and a format."))
    folder = _report_dir(page)
    if kind == "monthly":
        month = page.form.get("month", "")
        if not re.fullmatch(r"\d{4}-\d{2}", month):
            raise PageError(page.t("The month is written as YYYY-MM."))
        path = write_monthly_report(page.app, month, folder, lang=lang, fmt=fmt)
    else:
        issued = issue_static(page.app, kind, lang=lang, fmt=fmt)
        path = folder / issued.filename
        write_file(path, issued.content)
    page.record("web.report_written", report=kind, file=path.name)
    return page.redirect(f"/reports?written={path.name}")


def report_file(page: Page) -> Response:
    name = page.param("name")
    path = _report_dir(page) / name
    if not REPORT_FILE.fullmatch(name) or not path.is_file():
        return page.error(page.t("There is no such report."), status=404)
    page.record("web.download", file=name)
    return FileResponse(path, filename=name, content_disposition_type="attachment")


def exports(page: Page) -> Response:
    kept.purge_expired(page.app, page.operator.name if page.operator else None)
    return page.render(
        "exports.html",
        files=kept.list_exports(page.app),
        keep_days=page.app.settings.web.export_keep_days,
    )


def export_download(page: Page) -> Response:
    from syncaudit.models import ErasureRequest

    request_id = _request_id(page)
    kept.purge_expired(page.app, page.operator.name if page.operator else None)
    found = kept.export_file(page.app, request_id, page.param("fmt"))
    if found is None:
        return page.error(
            page.t("This export is not kept (any more). Run the access request again."),
            status=404,
        )
    with page.app.db.session() as s:
        request = s.get(ErasureRequest, request_id)
        pseudonym = request.pseudonym if request is not None else None
    page.record("web.download", request_id=request_id, subject=pseudonym, file=found.path.name)
    return FileResponse(found.path, filename=found.path.name, content_disposition_type="attachment")
