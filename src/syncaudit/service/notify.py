"""Notifications from the service: deadline warnings and breaches, failing systems, failed tasks,
ended legal holds and the monthly report; by email (Graph sendMail), to a command, or nowhere.

Messages name people by request id and pseudonym only. Every subject and body also goes through
a last redaction that turns anything shaped like an email address into its keyed pseudonym, so
even an error text quoting an address cannot carry it out. A notification that cannot be sent is
logged and dropped: the service keeps running, and `syncaudit status` shows the same facts.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import structlog

from syncaudit import registry
from syncaudit.context import Context
from syncaudit.errors import ConfigError, SyncauditError
from syncaudit.identity import Pseudonymizer, try_normalize_email
from syncaudit.logging import EMAIL_RE

if TYPE_CHECKING:
    from syncaudit.contract import Connector
    from syncaudit.erasure.deadlines import DeadlineEvent

log = structlog.get_logger("syncaudit.service.notify")
COMMAND_TIMEOUT = 30.0
PREFIX = "[syncaudit] "


@dataclass(frozen=True, kw_only=True)
class Message:
    kind: str  # deadline_warning | deadline_breach | system_failing | ... (stable, for filters)
    subject: str
    body: str


@runtime_checkable
class SupportsSendMail(Protocol):
    """A connector that can send mail from its mailbox (msgraph: Graph `sendMail`)."""

    def send_mail(self, to: Sequence[str], subject: str, body: str) -> None: ...


class Backend(Protocol):
    def send(self, message: Message) -> None: ...


class NoBackend:
    def send(self, message: Message) -> None:
        return None


class CommandBackend:
    """Runs the command with the message on standard input (subject line, blank line, body)."""

    def __init__(self, command: Sequence[str], timeout: float = COMMAND_TIMEOUT) -> None:
        self.command = list(command)
        self.timeout = timeout

    def send(self, message: Message) -> None:
        text = f"Subject: {message.subject}\n\n{message.body}\n"
        env_extra = {"SYNCAUDIT_NOTIFY_KIND": message.kind}
        done = subprocess.run(
            self.command,
            input=text.encode("utf-8"),
            capture_output=True,
            timeout=self.timeout,
            env={**os.environ, **env_extra},
            check=False,
        )
        if done.returncode != 0:
            raise SyncauditError(
                f"notify_command exited with {done.returncode}",
                next_step="Run the command by hand with a message on stdin to see why.",
            )


class EmailBackend:
    """Mail through a connector's mailbox; one message at a time (the connector is shared)."""

    def __init__(self, connector: SupportsSendMail, to: Sequence[str]) -> None:
        self.connector = connector
        self.to = list(to)
        self._lock = threading.Lock()

    def send(self, message: Message) -> None:
        with self._lock:
            self.connector.send_mail(self.to, message.subject, message.body)


class Notifier:
    """The service's notifications: texts, redaction, and failures kept from the caller."""

    def __init__(self, backend: Backend, pseudo: Pseudonymizer) -> None:
        self.backend = backend
        self.pseudo = pseudo
        self.sent: list[Message] = []  # what went out (after redaction), for `run --once`

    def redact(self, text: str) -> str:
        def replace(match: re.Match[str]) -> str:
            normalized = try_normalize_email(match.group(0))
            if normalized is None:
                return "<email>"
            return self.pseudo.short(self.pseudo.of_normalized(normalized))

        return EMAIL_RE.sub(replace, text) if "@" in text else text

    def send(self, kind: str, subject: str, body: str) -> bool:
        message = Message(
            kind=kind, subject=self.redact(PREFIX + subject), body=self.redact(body.strip())
        )
        try:
            self.backend.send(message)
        except Exception as exc:  # a notification must never stop the service
            log.error("notify.failed", kind=kind, error=self.redact(f"{type(exc).__name__}: {exc}"))
            return False
        self.sent.append(message)
        log.info("notify.sent", kind=kind)
        return True

    # -- the messages ----------------------------------------------------------------------------

    def deadline(self, event: DeadlineEvent, pseudonym_short: str) -> None:
        request = event.request_id
        if event.kind == "breach":
            subject = f"DEADLINE BREACHED: erasure request {request}"
            lead = f"The erasure deadline of request {request} has passed with work left."
        else:
            share = "three quarters" if event.kind == "warning_three_quarters" else "half"
            subject = f"Erasure request {request}: {event.hours_left} h left"
            lead = (
                f"Request {request} has used {share} of its deadline; "
                f"{event.hours_left} hours are left."
            )
        self.send(
            "deadline_breach" if event.kind == "breach" else "deadline_warning",
            subject,
            f"{lead}\nPerson: {pseudonym_short} (pseudonym)\n\n"
            f"See: syncaudit erasure show {request}",
        )

    def system_failing(self, system: str, what: str, error: str, next_step: str) -> None:
        self.send(
            "system_failing",
            f"System {system} is failing ({what})",
            f"{what} of system {system} failed:\n  {error}\n\nNext step: {next_step}\n\n"
            "You are told again only after it has recovered and failed again.",
        )

    def system_recovered(self, system: str, what: str) -> None:
        self.send("system_recovered", f"System {system} works again", f"{what} of {system}: ok.")

    def task_failed(self, request_id: str, system: str, error: str) -> None:
        self.send(
            "task_failed",
            f"Erasure request {request_id}: {system} needs you",
            f"The erasure in {system} for request {request_id} gave up:\n  {error}\n\n"
            f"Fix the cause, then: syncaudit erasure retry {request_id} {system}",
        )

    def hold_ended(self, request_id: str, system: str, records: int) -> None:
        self.send(
            "legal_hold_ended",
            f"Legal hold ended: request {request_id} ({system})",
            f"The statutory retention of {records} record(s) in {system} has ended. Their "
            f"entries were removed from the index; the source must delete them now.\n\n"
            f"The notice to send: syncaudit erasure show {request_id}\n"
            f"When done: syncaudit erasure confirm {request_id} {system}",
        )

    def monthly_report(self, month: str, path: str) -> None:
        self.send(
            "monthly_report",
            f"Monthly compliance report {month}",
            f"The monthly report for {month} was written to:\n  {path}",
        )


def build_notifier(app: Context) -> tuple[Notifier, Connector | None]:
    """The configured notifier, checked at start; returns the connector it owns (to close)."""
    service = app.settings.service
    if service.notify == "command":
        return Notifier(CommandBackend(service.notify_command), app.pseudo), None
    if service.notify != "email":
        return Notifier(NoBackend(), app.pseudo), None
    if not service.notify_to:
        raise ConfigError(['service.notify_to: is required with notify = "email"'])
    system = app.settings.system(service.notify_system)
    connector = registry.plugin_for(system.type).create(
        system.name, system.settings, system.profile, clock=app.clock
    )
    if not isinstance(connector, SupportsSendMail):
        connector.close()
        raise ConfigError(
            [
                f"service.notify_system: {system.name!r} is of type {system.type}, which cannot "
                "send email; name an msgraph system"
            ]
        )
    return Notifier(EmailBackend(connector, service.notify_to), app.pseudo), connector
