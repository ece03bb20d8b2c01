"""The console's request handling: sessions and CSRF on every request, language, templates.

Every page handler is a plain function run in a worker thread under one lock (`Console.lock`):
the console has one or two users, and the core's App (connectors, sessions) is shared. A
request without a valid session gets the sign-in page and nothing else; a POST needs the form
token of its session (or, before sign-in, the one bound to the pre-session cookie) and must not
come from another site. Responses carry a Content-Security-Policy without any external source
and without scripts; pages are never cached (the headers and the access log: `web.app.Guard`).
"""

from __future__ import annotations

import functools
import hmac
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from syncaudit import audit
from syncaudit.errors import SyncauditError, UsageError
from syncaudit.logging import redact_text
from syncaudit.reports.i18n import Formatter
from syncaudit.web import accounts
from syncaudit.web.i18n import LABELS, N_, language_or_none, translations

if TYPE_CHECKING:
    from syncaudit.app import App

log = structlog.get_logger("syncaudit.web")
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}
LANG_COOKIE = "syncaudit_lang"
# The navigation, in order. The mailbox intake page (issue 17) goes after "New request".
NAV: tuple[tuple[str, str], ...] = (
    ("/", N_("Overview")),
    ("/person", N_("Find a person")),
    ("/requests/new", N_("New request")),
    ("/requests", N_("Requests")),
    ("/reports", N_("Reports")),
    ("/exports", N_("Access exports")),
)
LANGUAGE_NAMES = (("fi", "suomi"), ("en", "English"))  # each in its own language
MARK_OPEN, MARK_CLOSE = "\ue000", "\ue001"  # tests: wrap every {{ value }} to find bare text


def session_cookie(secure: bool) -> str:
    """`__Host-` over TLS: the browser then refuses the cookie from plain HTTP or a subdomain."""
    return "__Host-syncaudit_session" if secure else "syncaudit_session"


def pre_cookie(secure: bool) -> str:
    return "__Host-syncaudit_pre" if secure else "syncaudit_pre"


class PageError(UsageError):
    """A refusal worded for the page, in its language (the CLI's next steps do not apply)."""

    default_next_step = ""


@dataclass
class Page:
    """One request as a handler sees it; handlers return a Response."""

    console: Console
    request: Request
    operator: accounts.Operator | None
    form: dict[str, str]
    lang: str
    csrf: str
    secure: bool
    cookies: list[tuple[str, str | None, int | None]] = field(default_factory=list)

    @property
    def app(self) -> App:
        return self.console.app

    def param(self, name: str) -> str:
        return str(self.request.path_params.get(name, ""))

    def t(self, message: str, **values: Any) -> str:
        text = translations(self.lang).gettext(message)
        return text % values if values else text

    def render(self, template: str, *, status: int = 200, **values: Any) -> HTMLResponse:
        html = (
            self.console.environment(self.lang)
            .get_template(template)
            .render(page=self, f=self.formatter, nav=NAV, **values)
        )
        return HTMLResponse(html, status_code=status)

    @functools.cached_property
    def formatter(self) -> Formatter:
        timezone = self.app.settings.reports.timezone
        return Formatter(self.lang, str(timezone))

    def redirect(self, url: str) -> RedirectResponse:
        return RedirectResponse(url, status_code=303)

    def error(self, message: str, next_step: str = "", *, status: int = 400) -> HTMLResponse:
        """An error page; `message` and `next_step` are already in the page's language."""
        return self.render("error.html", status=status, message=message, next_step=next_step)

    def set_cookie(self, name: str, value: str | None, max_age: int | None = None) -> None:
        """Queued, then set on the response with the console's flags (None: delete it)."""
        self.cookies.append((name, value, max_age))

    def record(self, event: str, **data: Any) -> None:
        """Evidence of an operator's action, under their account name (people by pseudonym)."""
        assert self.operator is not None
        with self.app.db.session() as s, s.begin():
            audit.append(s, event, at=self.app.clock.now(), operator=self.operator.name, **data)


Handler = Callable[[Page], Response]


class Console:
    """The shared state of the console: the App, the lock around it, the template engines."""

    def __init__(self, app: App, *, mark_output: bool = False) -> None:
        self.app = app
        self.lock = threading.RLock()
        self.mark_output = mark_output
        self.trusted = frozenset(app.settings.web.trusted_proxies)
        self._environments: dict[str, Environment] = {}

    def environment(self, lang: str) -> Environment:
        if lang not in self._environments:
            env = Environment(
                loader=PackageLoader("syncaudit.web", "templates"),
                autoescape=select_autoescape(default=True, default_for_string=True),
                undefined=StrictUndefined,
                extensions=["jinja2.ext.i18n"],
                trim_blocks=True,
                lstrip_blocks=True,
                finalize=_mark if self.mark_output else None,
            )
            env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
            env.filters["label"] = lambda value: translations(lang).gettext(
                LABELS.get(str(value), str(value))
            )
            env.globals.update(brand="syncaudit", languages=LANGUAGE_NAMES, stamp=_stamp)
            self._environments[lang] = env
        return self._environments[lang]

    def is_secure(self, request: Request) -> bool:
        if request.url.scheme == "https":
            return True
        client = request.client.host if request.client else ""
        forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip()
        return client in self.trusted and forwarded == "https"

    def language(self, request: Request, operator: accounts.Operator | None) -> str:
        return (
            (language_or_none(operator.language) if operator else None)
            or language_or_none(request.cookies.get(LANG_COOKIE))
            or language_or_none(self.app.settings.controller.language)
            or "en"
        )

    def dispatch(
        self, request: Request, handler: Handler, form: dict[str, str], public: bool
    ) -> Response:
        secure = self.is_secure(request)
        with self.lock:
            operator = accounts.session_for(self.app, request.cookies.get(session_cookie(secure)))
        pre = request.cookies.get(pre_cookie(secure), "")
        new_pre = not pre or len(pre) > 100
        if new_pre:
            pre = secrets.token_urlsafe(32)
        page = Page(
            console=self,
            request=request,
            operator=operator,
            form=form,
            lang=self.language(request, operator),
            csrf=operator.csrf if operator else pre,
            secure=secure,
        )
        if new_pre:
            page.set_cookie(pre_cookie(secure), pre)
        response = self._respond(page, handler, public)
        for name, value, max_age in page.cookies:
            if value is None:
                response.delete_cookie(name, secure=secure, httponly=True, samesite="strict")
            else:
                response.set_cookie(
                    name, value, max_age=max_age, secure=secure, httponly=True, samesite="strict"
                )
        return response

    def _respond(self, page: Page, handler: Handler, public: bool) -> Response:
        request = page.request
        if page.operator is None and request.cookies.get(session_cookie(page.secure)):
            page.set_cookie(session_cookie(page.secure), None)  # expired or unknown: drop it
        if page.operator is None and not public:
            return page.redirect("/signin")
        if request.method == "POST" and not self._post_allowed(page):
            log.warning("web.csrf_refused", path=redact_text(request.url.path))
            return page.error(
                page.t("The form had expired or came from another site. Nothing was changed."),
                page.t("Go back, reload the page and try again."),
                status=403,
            )
        try:
            with self.lock:
                return handler(page)
        except SyncauditError as exc:
            return page.error(redact_text(exc.message), redact_text(exc.next_step))
        except Exception as exc:  # never to uvicorn's log: its traceback could hold an address
            log.error("web.unexpected_error", error=redact_text(f"{type(exc).__name__}: {exc}"))
            return page.error(
                page.t("Something went wrong; nothing more was done."),
                page.t("Try again; if it happens again, tell your IT contractor the time."),
                status=500,
            )

    def _post_allowed(self, page: Page) -> bool:
        headers = page.request.headers
        if headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            return False
        origin = headers.get("origin")
        if origin and origin != "null":
            scheme = "https" if page.secure else page.request.url.scheme
            if origin != f"{scheme}://{headers.get('host', '')}":
                return False
        submitted = page.form.get("csrf", "")
        expected = page.operator.csrf if page.operator else page.csrf
        return bool(submitted) and hmac.compare_digest(expected.encode(), submitted.encode())


def _stamp(posix: float) -> datetime:
    return datetime.fromtimestamp(posix, UTC)


def _mark(value: Any) -> Any:
    """Tests only: the markers are constants, the value keeps its own escaping."""
    if isinstance(value, Markup):
        if MARK_OPEN in value:  # a macro's output: its own values are marked already
            return value
        return Markup(MARK_OPEN) + value + Markup(MARK_CLOSE)  # noqa: S704
    return f"{MARK_OPEN}{'' if value is None else value}{MARK_CLOSE}"
