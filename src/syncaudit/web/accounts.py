"""Operator accounts, sign-in with throttling, and server-side sessions (all in the database).

Passwords are hashed with argon2id (argon2-cffi's defaults, re-hashed when those change). A
session is a random token in an HttpOnly cookie; the database keeps only its SHA-256, the form
(CSRF) token, and when it was last used: unused for `[web].idle_timeout` it ends, and it never
lives longer than `SESSION_MAX_AGE`. After `FREE_FAILURES` wrong passwords for one account name
(known or not) every further try waits, twice as long each time, up to `MAX_LOCK`.

Evidence: `web.user_added`, `web.user_removed`, `web.password_changed`, `web.signin`,
`web.signin_failed`, `web.signout`, under the operator's name (operators are not data subjects;
a name may not contain "@", and an unknown name is never recorded).
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from syncaudit import audit
from syncaudit.clock import utc
from syncaudit.errors import UsageError
from syncaudit.models import WebSession, WebThrottle, WebUser

if TYPE_CHECKING:
    from syncaudit.app import App

log = structlog.get_logger("syncaudit.web")
NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # argon2 takes any length; a megabyte "password" is only a load test
FREE_FAILURES = 5
FIRST_LOCK = timedelta(seconds=30)
MAX_LOCK = timedelta(minutes=15)
SESSION_MAX_AGE = timedelta(hours=12)
TOUCH_EVERY = timedelta(seconds=30)  # last_seen_at is written at most this often
UNKNOWN = "(unknown account)"


@functools.cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id, RFC 9106's low-memory profile


@functools.cache
def _dummy_hash() -> str:
    """Checked for unknown names, so a wrong name takes as long as a wrong password."""
    return _hasher().hash(secrets.token_urlsafe(16))


def check_name(name: str) -> str:
    if not NAME_RE.fullmatch(name):
        raise UsageError(
            "an account name is 1-32 characters: a-z, 0-9, '.', '_' or '-' (no '@')",
            next_step="Pick a short name such as `owner` or `anna`.",
        )
    return name


def check_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise UsageError(
            f"the password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters long",
            next_step="A few unrelated words make a long password that is easy to remember.",
        )
    return password


def _throttle_key(name: str) -> str:
    return hashlib.sha256(name.casefold().encode()).hexdigest()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# -- accounts (the CLI: syncaudit user add|list|remove|passwd) ------------------------------------


@dataclass(frozen=True, kw_only=True)
class Account:
    name: str
    language: str | None
    created_at: datetime
    password_changed_at: datetime
    sessions: int


def add_user(app: App, name: str, password: str) -> None:
    check_name(name)
    digest = _hasher().hash(check_password(password))
    now = app.clock.now()
    with app.db.session() as s, s.begin():
        if s.scalar(select(WebUser).where(WebUser.name == name)) is not None:
            raise UsageError(
                f"an account {name!r} exists already",
                next_step=f"Change its password: syncaudit user passwd {name}",
            )
        s.add(
            WebUser(
                name=name,
                password_hash=digest,
                language=None,
                created_at=now,
                password_changed_at=now,
            )
        )
        audit.append(s, "web.user_added", at=now, operator=name)


def _user(s: Session, name: str) -> WebUser:
    user = s.scalar(select(WebUser).where(WebUser.name == name))
    if user is None:
        raise UsageError(f"no account {name!r}", next_step="See `syncaudit user list`.")
    return user


def set_password(app: App, name: str, password: str) -> int:
    """Change the password and end every session of the account; returns how many ended."""
    digest = _hasher().hash(check_password(password))
    now = app.clock.now()
    with app.db.session() as s, s.begin():
        user = _user(s, name)
        user.password_hash, user.password_changed_at = digest, now
        result = s.execute(delete(WebSession).where(WebSession.user_id == user.id))
        ended = int(getattr(result, "rowcount", 0) or 0)
        s.execute(delete(WebThrottle).where(WebThrottle.key == _throttle_key(name)))
        audit.append(s, "web.password_changed", at=now, operator=name, sessions_ended=ended)
        return ended


def remove_user(app: App, name: str) -> None:
    now = app.clock.now()
    with app.db.session() as s, s.begin():
        user = _user(s, name)
        s.execute(delete(WebSession).where(WebSession.user_id == user.id))
        s.delete(user)
        audit.append(s, "web.user_removed", at=now, operator=name)


def list_users(app: App) -> list[Account]:
    with app.db.session() as s:
        counts = dict(
            s.execute(select(WebSession.user_id, func.count()).group_by(WebSession.user_id)).all()
        )
        return [
            Account(
                name=u.name,
                language=u.language,
                created_at=utc(u.created_at),
                password_changed_at=utc(u.password_changed_at),
                sessions=int(counts.get(u.id, 0)),
            )
            for u in s.scalars(select(WebUser).order_by(WebUser.name))
        ]


# -- signing in ---------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SignIn:
    ok: bool
    throttled: bool = False
    token: str = ""  # the new session's cookie value
    language: str | None = None
    retry_after: int = 0  # seconds, when throttled


def sign_in(app: App, name: str, password: str) -> SignIn:
    """Check the password (unless the name is throttled); on success open a new session."""
    now = app.clock.now()
    key = _throttle_key(name)
    with app.db.session() as s:
        throttle = s.get(WebThrottle, key)
        if throttle is not None and throttle.locked_until and utc(throttle.locked_until) > now:
            wait = int((utc(throttle.locked_until) - now).total_seconds()) + 1
            log.warning("web.signin_throttled", retry_after=wait)
            return SignIn(ok=False, throttled=True, retry_after=wait)
        user = s.scalar(select(WebUser).where(WebUser.name == name))
        stored = user.password_hash if user is not None else _dummy_hash()
    good = _verify(stored, password[:MAX_PASSWORD]) and user is not None
    if not good:
        _failed(app, key, user.name if user is not None else None, now)
        return SignIn(ok=False)
    assert user is not None
    token = secrets.token_urlsafe(32)
    with app.db.session() as s, s.begin():
        account = s.get(WebUser, user.id)
        if account is None:  # removed meanwhile
            return SignIn(ok=False)
        if _hasher().check_needs_rehash(account.password_hash):
            account.password_hash = _hasher().hash(password)
        s.execute(delete(WebThrottle).where(WebThrottle.key == key))
        s.execute(
            delete(WebSession).where(
                WebSession.user_id == account.id, WebSession.last_seen_at < now - SESSION_MAX_AGE
            )
        )
        s.add(
            WebSession(
                token_hash=token_hash(token),
                user_id=account.id,
                csrf=secrets.token_urlsafe(32),
                created_at=now,
                last_seen_at=now,
            )
        )
        audit.append(s, "web.signin", at=now, operator=account.name)
        language = account.language
    log.info("web.signin", operator=user.name)
    return SignIn(ok=True, token=token, language=language)


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _failed(app: App, key: str, operator: str | None, now: datetime) -> None:
    with app.db.session() as s, s.begin():
        s.execute(delete(WebThrottle).where(WebThrottle.last_failure_at < now - timedelta(days=1)))
        throttle = s.get(WebThrottle, key)
        if throttle is None:
            throttle = WebThrottle(key=key, failures=0, last_failure_at=now)
            s.add(throttle)
        throttle.failures += 1
        throttle.last_failure_at = now
        over = throttle.failures - FREE_FAILURES
        if over >= 0:
            throttle.locked_until = now + min(FIRST_LOCK * 2 ** min(over, 10), MAX_LOCK)
        audit.append(
            s, "web.signin_failed", at=now, operator=operator or UNKNOWN, failures=throttle.failures
        )
    log.warning("web.signin_failed", operator=operator or UNKNOWN)


# -- sessions -----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Operator:
    """Who is signed in, as the pages see it."""

    user_id: int
    name: str
    language: str | None
    csrf: str
    token_hash: str


def session_for(app: App, token: str | None) -> Operator | None:
    """The operator of a session cookie, or None (unknown, idle too long, or too old)."""
    if not token or len(token) > 100:
        return None
    now = app.clock.now()
    digest = token_hash(token)
    with app.db.session() as s, s.begin():
        row = s.get(WebSession, digest)
        if row is None:
            return None
        idle = now - utc(row.last_seen_at)
        if idle > app.settings.web.idle_timeout or now - utc(row.created_at) > SESSION_MAX_AGE:
            s.delete(row)
            log.info("web.session_expired")
            return None
        if idle > TOUCH_EVERY:
            row.last_seen_at = now
        user = s.get(WebUser, row.user_id)
        if user is None:
            return None
        return Operator(
            user_id=user.id,
            name=user.name,
            language=user.language,
            csrf=row.csrf,
            token_hash=digest,
        )


def sign_out(app: App, operator: Operator) -> None:
    now = app.clock.now()
    with app.db.session() as s, s.begin():
        s.execute(delete(WebSession).where(WebSession.token_hash == operator.token_hash))
        audit.append(s, "web.signout", at=now, operator=operator.name)


def set_language(app: App, operator: Operator, language: str) -> None:
    with app.db.session() as s, s.begin():
        user = s.get(WebUser, operator.user_id)
        if user is not None:
            user.language = language
