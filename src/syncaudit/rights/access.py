"""Right of access (Art. 15) and portability (Art. 20): what every system holds, fetched live.

`access_export` finds the person in every system (live look-up plus what the index knows), asks
each record's live fields from the system (capability EXPORT), and writes two files: a readable,
self-contained HTML document and a machine-readable JSON file, with the systems, processors and
transfers outside the EEA that concern the person. Other people who share a record with the
person (attendees of the same meeting, a second buyer on an invoice) are replaced by a
placeholder wherever their address or full name appears (Art. 15(4)).

Evidence: `request.received` (with the earlier access requests of the last twelve months: one a
year is free, a second is flagged to the operator, not refused), `access.exported` (counts and
the SHA-256 of the JSON file), `request.completed`. Pseudonyms only.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from syncaudit import audit
from syncaudit.clock import utc
from syncaudit.context import Context
from syncaudit.contract import Capability, ErasureTarget, RecordRef, SupportsExport
from syncaudit.erasure.refs import merge, ref_key
from syncaudit.erasure.requests import received_time, target_for
from syncaudit.erasure.states import TaskState
from syncaudit.errors import ConnectorError, UsageError
from syncaudit.index import index_refs
from syncaudit.models import ErasureRequest, Record, Subject
from syncaudit.regions import in_eea, safeguard_status
from syncaudit.rights import requests as rq

log = structlog.get_logger("syncaudit.rights")
FORMAT = "syncaudit.access/1"
SOMEONE_ELSE = "[another person]"
LANGUAGES = ("en", "fi")


@dataclass(frozen=True, kw_only=True)
class SystemAccess:
    system: str
    status: str  # found | nothing | manual | error | index_only
    records: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class AccessResult:
    request_id: str
    state: str
    resumed: bool  # an open request of the person was carried on, not a new one
    earlier_within_year: list[str]  # not free: the register offers one request a year
    json_path: Path
    html_path: Path
    json_sha256: str
    systems: list[SystemAccess]

    @property
    def repeat_within_year(self) -> bool:
        return bool(self.earlier_within_year)


def access_export(
    app: Context,
    email: str,
    out_dir: Path,
    *,
    lang: str | None = None,
    received_at: datetime | None = None,
) -> AccessResult:
    language = lang or app.settings.controller.language
    if language not in LANGUAGES:
        raise UsageError(f"unknown language {language!r}", next_step="Use --lang fi or en.")
    target = target_for(app, email)
    received = received_time(app, received_at)
    request_id, resumed, earlier = _open(app, target, received)
    systems = gather(app, target)
    now = app.clock.now()
    with app.db.session() as s:
        request = s.get(ErasureRequest, request_id)
        assert request is not None
        document = build_document(
            app, target=target, request=request, systems=systems, language=language, now=now
        )
    json_path, html_path, digest = write_files(out_dir, request_id, document, language)
    state = _record(app, request_id, target, systems, digest)
    return AccessResult(
        request_id=request_id,
        state=state,
        resumed=resumed,
        earlier_within_year=earlier,
        json_path=json_path,
        html_path=html_path,
        json_sha256=digest,
        systems=systems,
    )


def _open(app: Context, target: ErasureTarget, received: datetime) -> tuple[str, bool, list[str]]:
    with app.db.session() as s, s.begin():
        request = rq.open_request(s, rq.ACCESS, target.pseudonym)
        resumed = request is not None
        if request is None:
            names = [sc.name for sc in app.systems()]
            request = rq.create_request(app, s, rq.ACCESS, target, received=received, systems=names)
        earlier = rq.earlier_requests(s, request)
        if earlier and not resumed:
            audit.append(
                s,
                "access.repeat_within_year",
                at=app.clock.now(),
                subject=target.pseudonym,
                request_id=request.id,
                earlier=earlier,
            )
            log.warning(
                "rights.access_repeat_within_year",
                request=request.id,
                subject=app.pseudo.short(target.pseudonym),
                earlier=earlier,
            )
        return request.id, resumed, earlier


# -- gathering ------------------------------------------------------------------------------------


def gather(app: Context, target: ErasureTarget) -> list[SystemAccess]:
    """Per system: every record the index knows and every one found live, with live fields."""
    with app.db.session() as s:
        rows = _index_rows(s, target.pseudonym)
        hide = _others_pattern(s, rows, target)
    by_system: dict[str, list[Record]] = {}
    for row in rows:
        by_system.setdefault(row.system, []).append(row)
    out = [
        _one_system(app, sc.name, target, by_system.pop(sc.name, []), hide) for sc in app.systems()
    ]
    for name, left in sorted(by_system.items()):  # disabled or removed systems: the index only
        out.append(SystemAccess(system=name, status="index_only", records=_entries(left, {}, hide)))
    return out


def _index_rows(session: Session, pseudonym: str) -> list[Record]:
    return list(
        session.scalars(
            select(Record)
            .join(Subject, Subject.id == Record.subject_id)
            .where(Subject.pseudonym == pseudonym)
            .order_by(Record.system, Record.record_date, Record.id)
        )
    )


def _one_system(
    app: Context,
    name: str,
    target: ErasureTarget,
    rows: list[Record],
    hide: re.Pattern[str] | None,
) -> SystemAccess:
    connector = app.connector(name)
    if Capability.MANUAL in connector.capabilities:
        return SystemAccess(system=name, status="manual", records=_entries(rows, {}, hide))
    exporter = (
        connector
        if Capability.EXPORT in connector.capabilities and isinstance(connector, SupportsExport)
        else None
    )
    try:
        with app.db.session() as s:
            known = index_refs(s, target.pseudonym, name)
        live: dict[str, tuple[RecordRef, Mapping[str, Any] | None]] = {}
        for ref in merge(connector.locate(target), known):
            data = exporter.export(ref, target) if exporter is not None else None
            live[ref_key(ref)] = (ref, data)
    except ConnectorError as exc:
        log.warning("rights.access_system_failed", system=name, error=type(exc).__name__)
        error = f"{exc} — {exc.next_step}"
        return SystemAccess(
            system=name, status="error", error=error, records=_entries(rows, {}, hide)
        )
    entries = _entries(rows, live, hide)
    found = any(e["found_live"] or not e["removed_at"] for e in entries)
    return SystemAccess(system=name, status="found" if found else "nothing", records=entries)


def _entries(
    rows: Sequence[Record],
    live: Mapping[str, tuple[RecordRef, Mapping[str, Any] | None]],
    hide: re.Pattern[str] | None,
) -> list[dict[str, Any]]:
    """Index records and live refs, one entry per (kind, stream, external id)."""
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        key = f"{row.kind}|{row.stream}|{row.external_id}"
        out[key] = {
            "kind": row.kind,
            "id": row.external_id,
            "stream": row.stream,
            "label": _label(row),
            "name": row.name,
            "role": row.role,
            "date": _iso(row.record_date),
            "in_index": True,
            "first_seen": _iso(row.first_seen),
            "last_seen": _iso(row.last_seen),
            "removed_at": _iso(row.removed_at),
            "legal_hold_until": row.legal_hold_until.isoformat() if row.legal_hold_until else None,
            "legal_basis": row.legal_basis,
            "restricted": row.restricted_at is not None,
            "found_live": False,
            "data": None,
        }
    for key, (ref, data) in live.items():
        entry = out.setdefault(key, _live_only(ref))
        entry["found_live"] = bool(data) or data is None
        entry["data"] = scrub(dict(data), hide) if data else None
        entry["label"] = ref.label or entry["label"]
    return list(out.values())


def _live_only(ref: RecordRef) -> dict[str, Any]:
    return {
        "kind": str(ref.kind),
        "id": ref.external_id,
        "stream": ref.stream,
        "label": ref.label,
        "name": None,
        "role": None,
        "date": None,
        "in_index": False,
        "first_seen": None,
        "last_seen": None,
        "removed_at": None,
        "legal_hold_until": None,
        "legal_basis": None,
        "restricted": False,
        "found_live": True,
        "data": None,
    }


def _label(row: Record) -> str:
    invoice = (row.details or {}).get("invoice")
    if invoice:
        return f"invoice {invoice}"
    status = (row.details or {}).get("status")
    when = row.record_date.date().isoformat() if row.record_date else ""
    return " ".join(p for p in (row.kind.replace("_", " "), when, status or "") if p)


def _iso(value: datetime | None) -> str | None:
    return utc(value).isoformat() if value else None


# -- other people ---------------------------------------------------------------------------------


def _others_pattern(
    session: Session, rows: Sequence[Record], target: ErasureTarget
) -> re.Pattern[str] | None:
    """Addresses and full names of everyone else the index knows in the person's items."""
    if not rows:
        return None
    subject_id = rows[0].subject_id
    ids = sorted({r.external_id for r in rows})
    items = {(r.system, r.stream, r.external_id) for r in rows}
    strings: set[str] = set()
    for start in range(0, len(ids), 500):
        for system, stream, ext, name, email, display in session.execute(
            select(
                Record.system,
                Record.stream,
                Record.external_id,
                Record.name,
                Subject.email,
                Subject.display_name,
            )
            .join(Subject, Subject.id == Record.subject_id)
            .where(
                Record.external_id.in_(ids[start : start + 500]), Record.subject_id != subject_id
            )
        ):
            if (system, stream, ext) in items:
                strings.update(s for s in (name, email, display) if s)
    return others_pattern(strings, target)


def others_pattern(strings: Iterable[str], target: ErasureTarget) -> re.Pattern[str] | None:
    """A pattern for other people's addresses and full names (two words or more); names the
    person shares (the same name, or part of theirs) are left alone."""
    own = [n.casefold() for n in target.names] + [target.email]
    parts: set[str] = set()
    for text in strings:
        cleaned = " ".join(text.split())
        folded = cleaned.casefold()
        if "@" not in cleaned and len(cleaned.split()) < 2:
            continue
        if any(folded in mine for mine in own):
            continue
        parts.add(cleaned)
    if not parts:
        return None
    alternatives = [
        r"(?<!\w)" + r"\s+".join(re.escape(w) for w in p.split()) + r"(?!\w)"
        for p in sorted(parts, key=lambda p: (-len(p), p))
    ]
    return re.compile("|".join(alternatives), re.IGNORECASE)


def scrub(value: Any, pattern: re.Pattern[str] | None) -> Any:
    if pattern is None:
        return value
    if isinstance(value, str):
        return pattern.sub(SOMEONE_ELSE, value)
    if isinstance(value, Mapping):
        return {k: scrub(v, pattern) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v, pattern) for v in value]
    return value


# -- the document ---------------------------------------------------------------------------------


def build_document(
    app: Context,
    *,
    target: ErasureTarget,
    request: ErasureRequest,
    systems: Sequence[SystemAccess],
    language: str,
    now: datetime,
) -> dict[str, Any]:
    """The machine-readable answer (the HTML is rendered from it)."""
    configured = {sc.name: sc for sc in app.settings.systems}
    involved = [s for s in systems if s.status in ("found", "index_only") and s.records]
    c = app.settings.controller
    return {
        "format": FORMAT,
        "language": language,
        "generated_at": now.isoformat(),
        "request": {
            "id": request.id,
            "received_at": utc(request.received_at).isoformat(),
            "deadline": utc(request.deadline).isoformat(),
        },
        "controller": {
            "name": c.name,
            "business_id": c.business_id,
            "address": c.address,
            "email": c.email,
            "phone": c.phone,
            "dpo": c.dpo,
            "representative": c.representative,
        },
        "subject": {"email": target.email, "names": list(target.names)},
        "systems": [_system_view(s, configured.get(s.system)) for s in systems],
        "processors": [
            _processor(configured[s.system]) for s in involved if s.system in configured
        ],
        "transfers": [
            t
            for s in involved
            if s.system in configured
            if (t := _transfer(configured[s.system], now))
        ],
        "counts": {
            "records": sum(len(s.records) for s in systems),
            "systems_with_data": len(involved),
        },
    }


def _system_view(access: SystemAccess, config: Any) -> dict[str, Any]:
    profile = config.profile if config is not None else None
    return {
        "system": access.system,
        "type": config.type if config is not None else None,
        "vendor": profile.vendor if profile else None,
        "country": profile.country if profile else None,
        "status": access.status,
        "error": access.error,
        "records": access.records,
    }


def _processor(config: Any) -> dict[str, Any]:
    p = config.profile
    return {
        "system": config.name,
        "vendor": p.vendor,
        "role": p.role,
        "country": p.country,
        "sub_processor_countries": list(p.sub_processor_countries),
        "data_categories": list(p.data_categories),
    }


def _transfer(config: Any, now: datetime) -> dict[str, Any] | None:
    p = config.profile
    countries = sorted({p.country.upper(), *(c.upper() for c in p.sub_processor_countries)})
    outside = [c for c in countries if not in_eea(c)]
    if not outside:
        return None
    return {
        "system": config.name,
        "vendor": p.vendor,
        "countries": outside,
        "mechanism": str(p.transfer_mechanism),
        "reference": p.transfer_reference,
        "checked": p.transfer_checked.isoformat() if p.transfer_checked else None,
        "safeguard": safeguard_status(p, now.date()),
    }


def write_files(
    out_dir: Path, request_id: str, document: dict[str, Any], language: str
) -> tuple[Path, Path, str]:
    """JSON and HTML, readable by the owner only (they hold the person's data)."""
    from syncaudit.rights.document import render_html

    out_dir.mkdir(parents=True, exist_ok=True)
    data = json.dumps(document, indent=2, ensure_ascii=False, default=str).encode("utf-8")
    json_path = out_dir / f"access-{request_id}.json"
    html_path = out_dir / f"access-{request_id}.html"
    _write_private(json_path, data)
    _write_private(html_path, render_html(document, language).encode("utf-8"))
    return json_path, html_path, hashlib.sha256(data).hexdigest()


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, path)


# -- evidence -------------------------------------------------------------------------------------


def _record(
    app: Context,
    request_id: str,
    target: ErasureTarget,
    systems: Sequence[SystemAccess],
    digest: str,
) -> str:
    now = app.clock.now()
    with app.db.session() as s, s.begin():
        request = s.get(ErasureRequest, request_id)
        assert request is not None
        for access in systems:
            if access.status == "index_only":
                continue
            _task(s, request, access, now)
        audit.append(
            s,
            "access.exported",
            at=now,
            subject=target.pseudonym,
            request_id=request_id,
            systems={a.system: a.status for a in systems},
            records=sum(len(a.records) for a in systems),
            json_sha256=digest,
        )
        rq.finish_if_done(s, request, now)
        state = str(request.state)
    log.info("rights.access_exported", request=request_id, state=state)
    return state


def _task(s: Session, request: ErasureRequest, access: SystemAccess, now: datetime) -> None:
    existing = rq.task_of(s, request.id, access.system)
    if access.status == "manual":
        if existing is not None and existing.state == TaskState.VERIFIED:
            return  # confirmed by the operator earlier
        rq.set_task(
            s,
            request,
            access.system,
            TaskState.AWAITING_MANUAL,
            now,
            outcomes=[{"status": "manual"}],
            instructions=(
                f"{access.system} cannot be searched automatically: look the person up there and "
                "add what you find to the access reply, then confirm."
            ),
        )
    elif access.status == "error":
        rq.set_task(s, request, access.system, TaskState.FAILED, now, error=access.error)
    else:
        outcomes = [{"status": "exported", "records": len(access.records)}]
        rq.set_task(s, request, access.system, TaskState.VERIFIED, now, outcomes=outcomes)
