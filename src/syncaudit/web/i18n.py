"""The console's languages: Finnish and English, from the catalog beside this module.

English is the source language. Texts in templates and code are marked with `_()` / `N_()`;
the Finnish catalog is `locale/fi/LC_MESSAGES/messages.po`, read at run time like the reports'
(no compile step). The state words the core stores (`awaiting_manual`, `retained`...) are shown
through `LABELS`, so no raw English word reaches a Finnish page.
"""

from __future__ import annotations

import functools
import gettext
from pathlib import Path

from syncaudit.reports.i18n import load_catalog

LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGES = ("fi", "en")


def N_(message: str) -> str:
    """Mark a text for translation where it is defined; it is translated where it is shown."""
    return message


def catalog_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"


@functools.cache
def translations(lang: str) -> gettext.NullTranslations:
    return load_catalog(catalog_path(lang), lang)


def language_or_none(value: str | None) -> str | None:
    return value if value in LANGUAGES else None


LABELS: dict[str, str] = {
    # request kinds
    "erasure": N_("erasure"),
    "access": N_("access"),
    "objection": N_("objection"),
    "rectification": N_("rectification"),
    # request states
    "received": N_("received"),
    "planned": N_("planned"),
    "in_progress": N_("in progress"),
    "completed": N_("completed"),
    "overdue": N_("overdue"),
    # task states and one-word results
    "pending": N_("waiting for the worker"),
    "running": N_("running"),
    "awaiting_manual": N_("awaiting your confirmation"),
    "failed": N_("failed"),
    "verified": N_("done"),
    "erased": N_("erased"),
    "already_absent": N_("nothing to erase"),
    "retained": N_("retained by law"),
    "confirmed": N_("confirmed by you"),
    "unsubscribed": N_("unsubscribed"),
    "no marketing": N_("no marketing"),
    "nothing found": N_("nothing found"),
    "rectified": N_("corrected"),
    "already_correct": N_("already correct"),
    # planned actions (contract.Action)
    "delete": N_("delete"),
    "redact": N_("redact"),
    "retain": N_("retain"),
    "manual": N_("manual step"),
    "unsubscribe": N_("unsubscribe"),
    "none": N_("nothing"),
    "update": N_("correct"),
    # letters to the requester (syncaudit.requester.letters) and their states
    "receipt": N_("receipt"),
    "verification": N_("verification request"),
    "completion": N_("completion letter"),
    "refusal": N_("refusal"),
    "extension": N_("extension notice"),
    "intended": N_("not sent yet"),
    "sending": N_("being sent"),
    "sent": N_("sent"),
    "not_required": N_("not required"),
    "unverified": N_("not verified yet"),
    # origins
    "operator": N_("by you"),
    "resurrection": N_("came back"),
    "review": N_("retention review"),
    # record kinds (contract.RecordKind)
    "contact": N_("contact"),
    "event_attendee": N_("calendar attendee"),
    "event_organizer": N_("calendar organiser"),
    "event_mention": N_("calendar mention"),
    "audience_member": N_("newsletter subscriber"),
    "invoice_buyer": N_("invoice buyer"),
    "invoice_recipient": N_("invoice recipient"),
    "business_partner": N_("accounting partner register entry"),
    # systems' safeguards (regions.safeguard_status)
    "eea": N_("in the EEA"),
    "adequacy": N_("adequacy decision"),
    "dpf": N_("EU-US Data Privacy Framework"),
    "scc": N_("standard contractual clauses"),
    "bcr": N_("binding corporate rules"),
    "art49": N_("Art. 49 derogation"),
    "dpf-stale": N_("certification check out of date"),
    "missing": N_("safeguard missing"),
    "unknown": N_("unknown"),
}
