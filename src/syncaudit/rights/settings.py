"""Config section owned by rights: [retention] (and its table [retention.summaries]).

```toml
[retention]
inactive_years = 5                 # no calendar entry, invoice or audience change for this long
marketing_systems = ["mailmunch"]  # manual systems that send marketing (objection = a task)

[retention.summaries]              # coaching summaries in Outlook (needs Mail.ReadWrite)
system = "outlook"                 # an msgraph system
mailbox = ""                       # default: the system's first mailbox
folders = ["Coaching summaries"]   # display names, "Inbox/Clients" for a child folder
sent_subject_prefixes = []         # also Sent Items messages whose subject starts so
keep_years = 2                     # after the client's last activity
delete = false                     # true: the daemon deletes what an earlier run listed
```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from syncaudit.contract import SettingsReader
from syncaudit.errors import ConfigError
from syncaudit.identity import try_normalize_email

# The register description promises a review of inactive customers at least every 5 years.
MAX_INACTIVE_YEARS = 5


@dataclass(frozen=True, kw_only=True)
class SummarySettings:
    system: str
    mailbox: str
    folders: tuple[str, ...] = ()
    sent_subject_prefixes: tuple[str, ...] = ()
    keep_years: int = 2
    delete: bool = False

    def sources(self) -> list[tuple[str, tuple[str, ...]]]:
        """(folder, subject prefixes) to read: each folder whole, Sent Items by prefix."""
        out: list[tuple[str, tuple[str, ...]]] = [(f, ()) for f in self.folders]
        if self.sent_subject_prefixes:
            out.append(("sentitems", self.sent_subject_prefixes))
        return out


@dataclass(frozen=True, kw_only=True)
class RetentionSettings:
    inactive_years: int = MAX_INACTIVE_YEARS
    marketing_systems: tuple[str, ...] = ()
    summaries: SummarySettings | None = None


def parse_retention(
    raw: Mapping[str, Any], env: Mapping[str, str], problems: list[str]
) -> RetentionSettings:
    """Validate [retention]; append every problem with its key path."""
    value = raw.get("retention", {})
    if not isinstance(value, dict):
        problems.append("retention: must be a table ([retention])")
        return RetentionSettings()
    systems = systems_by_name(raw.get("systems"))
    reader = SettingsReader(value, "retention", env)
    years = reader.integer("inactive_years", MAX_INACTIVE_YEARS, minimum=1)
    if years > MAX_INACTIVE_YEARS:
        reader.problem(
            "inactive_years",
            f"must be at most {MAX_INACTIVE_YEARS}: the register promises a review of inactive "
            "customers at least every 5 years",
        )
    marketing = reader.string_list("marketing_systems")
    for index, name in enumerate(marketing):
        if name not in systems:
            reader.problem(f"marketing_systems[{index}]", f"no system named {name!r}")
    summaries = None
    if "summaries" in value:
        summaries = _summaries(reader.table("summaries"), systems, env, problems)
    _collect(reader, problems)
    return RetentionSettings(
        inactive_years=min(years, MAX_INACTIVE_YEARS),
        marketing_systems=marketing,
        summaries=summaries,
    )


def systems_by_name(value: Any) -> dict[str, Mapping[str, Any]]:
    """Configured systems by name (raw tables; [[systems]] is validated by config.py)."""
    if not isinstance(value, list):
        return {}
    return {t["name"]: t for t in value if isinstance(t, dict) and isinstance(t.get("name"), str)}


def _summaries(
    table: dict[str, Any],
    systems: Mapping[str, Mapping[str, Any]],
    env: Mapping[str, str],
    problems: list[str],
) -> SummarySettings | None:
    reader = SettingsReader(table, "retention.summaries", env)
    system, mailbox = graph_mailbox(reader, systems)
    folders = reader.string_list("folders")
    prefixes = reader.string_list("sent_subject_prefixes")
    if not folders and not prefixes:
        reader.problem("folders", "name at least one mail folder (or sent_subject_prefixes)")
    if any(not f.strip() for f in folders):
        reader.problem("folders", "a folder name is empty")
    if any(not p.strip() for p in prefixes):
        reader.problem("sent_subject_prefixes", "a prefix is empty (it would match every message)")
    keep = reader.integer("keep_years", 2, minimum=1)
    delete = reader.boolean("delete", False)
    _collect(reader, problems)
    if not system:
        return None
    return SummarySettings(
        system=system,
        mailbox=mailbox,
        folders=folders,
        sent_subject_prefixes=prefixes,
        keep_years=keep,
        delete=delete,
    )


def graph_mailbox(
    reader: SettingsReader, systems: Mapping[str, Mapping[str, Any]]
) -> tuple[str, str]:
    """The table's `system` (an msgraph system) and `mailbox` (one of that system's mailboxes,
    as the system's table writes it; default its first). Also read by [intake]."""
    system = reader.string("system", required=True)
    mailboxes: list[str] = []
    if system and system not in systems:
        reader.problem("system", f"no system named {system!r}")
    elif system and systems[system].get("type") != "msgraph":
        reader.problem("system", 'must be a Microsoft Graph (type = "msgraph") system')
    elif system:
        listed = systems[system].get("mailboxes")
        mailboxes = [m for m in listed if isinstance(m, str)] if isinstance(listed, list) else []
    mailbox = reader.string("mailbox", "")
    if mailbox:  # the connector knows its mailboxes as written in the system's table
        same = [m for m in mailboxes if try_normalize_email(m) == try_normalize_email(mailbox)]
        if system in systems and not same:
            reader.problem("mailbox", f"is not one of the mailboxes of system {system!r}")
        mailbox = same[0] if same else mailbox
    return system, mailbox or (mailboxes[0] if mailboxes else "")


def _collect(reader: SettingsReader, problems: list[str]) -> None:
    try:
        reader.finish()
    except ConfigError as exc:
        problems.extend(exc.problems)
