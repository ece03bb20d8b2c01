"""Config section owned by the requester side: [intake] (requests taken from a mailbox).

```toml
[intake]
system = "outlook"              # an msgraph system (Mail.Read + Mail.Send on the mailbox)
mailbox = "privacy@example.fi"  # default: the system's first mailbox
folder = "Inbox"                # display name ("Inbox/Requests") or well-known name
languages = ["fi", "sv", "en"]  # the languages requests are recognised and answered in
verify = "reply"                # "reply": a reply to the verification mail; "none": no check
access_delivery = "attachment"  # the access document goes to the verified requester, or
                                # "operator": left for the operator to deliver
receipt = true                  # a receipt letter when a request arrives
access_dir = "access"           # where access documents are written
interval = "15m"                # how often the daemon runs intake
max_age_days = 35               # older messages are not taken as new requests (first run)
templates = ""                  # a folder of <language>/<kind>.txt overriding the built-in ones
authority = "Tietosuojavaltuutetun toimisto, PL 800, 00531 Helsinki, tietosuoja.fi"
```
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from syncaudit.contract import SettingsReader
from syncaudit.errors import ConfigError
from syncaudit.rights.settings import graph_mailbox, systems_by_name

LANGUAGES = ("fi", "sv", "en")
# The supervisory authority in Finland (requests-and-replies.md: verify; kept in config).
AUTHORITY = (
    "Tietosuojavaltuutetun toimisto / Dataombudsmannens byrå / Office of the Data Protection "
    "Ombudsman, PL 800, 00531 Helsinki, tietosuoja@om.fi, https://tietosuoja.fi"
)


@dataclass(frozen=True, kw_only=True)
class IntakeSettings:
    system: str
    mailbox: str
    folder: str = "Inbox"
    languages: tuple[str, ...] = LANGUAGES
    verify: str = "reply"  # reply | none
    access_delivery: str = "attachment"  # attachment | operator
    receipt: bool = True
    access_dir: Path = Path("access")
    authority: str = AUTHORITY
    templates: str = ""  # the operator's own letter templates (override the built-in ones)
    interval: timedelta = timedelta(minutes=15)  # the daemon's intake job
    max_age_days: int = 35  # a first run does not turn years of old mail into requests

    @property
    def default_language(self) -> str:
        """Finnish by default (the first configured language when fi is not among them)."""
        return "fi" if "fi" in self.languages else self.languages[0]


def parse_intake(
    raw: Mapping[str, Any],
    env: Mapping[str, str],
    problems: list[str],
    parse_duration: Callable[[str], timedelta],
) -> IntakeSettings | None:
    """Validate [intake] (absent: no intake); append every problem with its key path.
    `parse_duration` is config's (passed in: config imports this module)."""
    if "intake" not in raw:
        return None
    value = raw["intake"]
    if not isinstance(value, dict):
        problems.append("intake: must be a table ([intake])")
        return None
    reader = SettingsReader(value, "intake", env)
    system, mailbox = graph_mailbox(reader, systems_by_name(raw.get("systems")))
    folder = reader.string("folder", "Inbox")
    if not folder.strip():
        reader.problem("folder", "name a mail folder")
    languages = reader.string_list("languages") if "languages" in value else LANGUAGES
    for index, language in enumerate(languages):
        if language not in LANGUAGES:
            reader.problem(f"languages[{index}]", f"must be one of {', '.join(LANGUAGES)}")
    if not languages:
        reader.problem("languages", "list at least one language")
    verify = reader.choice("verify", "reply", ["reply", "none"])
    delivery = reader.choice("access_delivery", "attachment", ["attachment", "operator"])
    receipt = reader.boolean("receipt", True)
    access_dir = Path(reader.string("access_dir", "access"))
    authority = reader.string("authority", AUTHORITY)
    templates = reader.string("templates", "")
    max_age = reader.integer("max_age_days", 35, minimum=1)
    interval = timedelta(minutes=15)
    try:
        interval = parse_duration(reader.string("interval", "15m"))
    except ValueError as exc:
        reader.problem("interval", str(exc))
    if templates and not Path(templates).is_dir():
        reader.problem("templates", "no such folder")
    try:
        reader.finish()
    except ConfigError as exc:
        problems.extend(exc.problems)
    if not system:
        return None
    return IntakeSettings(
        system=system,
        mailbox=mailbox,
        folder=folder,
        languages=tuple(x for x in languages if x in LANGUAGES) or LANGUAGES,
        verify=verify,
        access_delivery=delivery,
        receipt=receipt,
        access_dir=access_dir,
        authority=authority,
        templates=templates,
        interval=interval,
        max_age_days=max_age,
    )
