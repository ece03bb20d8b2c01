"""The composition root: App = Context + sync, checks and look-ups. Only front ends (the CLI,
the service, the console, the demo) import it; every area works on `syncaudit.context.Context`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from syncaudit.clock import Clock, utc
from syncaudit.config import Settings
from syncaudit.context import Context
from syncaudit.contract import Capability
from syncaudit.erasure.rectified import check_after_sync as check_rectified
from syncaudit.erasure.resurrection import ResurrectionGuard
from syncaudit.errors import ConfigError, ConnectorError, InvalidEmail
from syncaudit.identity import normalize_email
from syncaudit.index import subject_view
from syncaudit.models import Record, SyncRun
from syncaudit.regions import safeguard_status
from syncaudit.rights.objection import check_after_sync
from syncaudit.sync import SyncReport, run_sync


@dataclass(frozen=True, kw_only=True)
class CheckResult:
    system: str
    ok: bool
    message: str
    next_step: str = ""


class App(Context):
    """The composition root the CLI, the daemon and the console call: a Context plus sync (with
    the resurrection guard and the objection check), connection checks and index look-ups."""

    def __init__(self, settings: Settings, *, clock: Clock | None = None) -> None:
        super().__init__(settings, clock=clock)
        self.last_objection_alerts: list[Any] = []  # re-subscriptions of objectors, last sync

    def check(self) -> list[CheckResult]:
        results = []
        for system in self.systems():
            try:
                message = self.connector(system.name).check()
                results.append(CheckResult(system=system.name, ok=True, message=message))
            except (ConnectorError, ConfigError) as exc:
                results.append(
                    CheckResult(
                        system=system.name, ok=False, message=str(exc), next_step=exc.next_step
                    )
                )
        return results

    def sync(
        self,
        names: Iterable[str] = (),
        *,
        full: bool = False,
        progress: Callable[[str, int], None] | None = None,
    ) -> list[SyncReport]:
        guard = ResurrectionGuard(self)
        # Every system's connector (and secret) first: a missing one stops the sync before any
        # system was pulled, naming only what is missing.
        pulled = [
            s.name for s in self.systems(names) if Capability.PULL in self.capabilities(s.name)
        ]
        connectors = [self.connector(name) for name in pulled]
        reports = []
        for connector in connectors:
            report = run_sync(
                self.db,
                connector,
                pseudonymizer=self.pseudo,
                clock=self.clock,
                full=full,
                on_resurrection=guard,
                progress=_bind(progress, connector.name),
            )
            reports.append(report)
        self.last_objection_alerts = check_after_sync(self)  # recorded as evidence by itself
        check_rectified(self)  # a corrected address met again: recorded and logged by itself
        return reports

    def systems_overview(self) -> list[dict[str, Any]]:
        out = []
        with self.db.session() as s:
            for system in self.settings.systems:
                last_ok = s.scalar(
                    select(func.max(SyncRun.finished_at)).where(
                        SyncRun.system == system.name, SyncRun.status.in_(["ok", "partial"])
                    )
                )
                subjects = s.scalar(
                    select(func.count(func.distinct(Record.subject_id))).where(
                        Record.system == system.name, Record.removed_at.is_(None)
                    )
                )
                p = system.profile
                out.append(
                    {
                        "name": system.name,
                        "type": system.type,
                        "vendor": p.vendor,
                        "country": p.country,
                        "safeguard": safeguard_status(p),
                        "mechanism": str(p.transfer_mechanism),
                        "last_sync": utc(last_ok).isoformat() if last_ok else None,
                        "subjects": subjects or 0,
                        "enabled": system.enabled,
                    }
                )
        return out

    # -- subjects ---------------------------------------------------------------------------

    def subject(self, email: str) -> dict[str, Any]:
        """Where a person appears: per system and record (from the index, no network)."""
        return subject_view(self, email)


def _bind(progress: Callable[[str, int], None] | None, system: str) -> Callable[[int], None] | None:
    if progress is None:
        return None
    return lambda count: progress(system, count)


def valid_email_or_none(text: str) -> str | None:
    try:
        return normalize_email(text)
    except InvalidEmail:
        return None
