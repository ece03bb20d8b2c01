"""Settings of an `msgraph` system: its [[systems]] table, validated once at load."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from syncaudit.contract import Capability, Secret, SettingsReader
from syncaudit.identity import try_normalize_email

# What a connector of this kind can do (declared, so it is known without building one).
CAPABILITIES = frozenset(
    {
        Capability.PULL,
        Capability.ERASE,
        Capability.EXPORT,
        Capability.MAIL,
        Capability.MAILBOX,
        Capability.RECTIFY,
    }
)

KIND = "msgraph"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True, kw_only=True)
class MsGraphSettings:
    tenant_id: str
    client_id: str
    client_secret: Secret = field(default_factory=lambda: Secret.of(""))
    client_certificate_path: str = ""
    client_certificate_password: Secret = field(default_factory=lambda: Secret.of(""))
    mailboxes: tuple[str, ...]
    authority: str = "https://login.microsoftonline.com"
    base_url: str = "https://graph.microsoft.com/v1.0"
    calendar_past_days: int = 2190
    calendar_future_days: int = 365
    calendar_policy: str = "redact"
    ca_file: str = ""
    locate_scans_calendar: bool = True
    timeout_seconds: int = 100  # read timeout of one request (the SDK's default)


def parse_settings(raw: Mapping[str, Any], *, path: str, env: Mapping[str, str]) -> MsGraphSettings:
    reader = SettingsReader(raw, path, env)
    tenant_id = reader.string("tenant_id", required=True)
    client_id = reader.string("client_id", required=True)
    has_secret = bool(raw.get("client_secret_env"))
    cert_path = reader.string("client_certificate_path", "")
    if has_secret and cert_path:
        reader.problem("client_secret_env", "give client_secret_env or client_certificate_path")
    secret = reader.secret("client_secret_env", required=not cert_path)
    cert_password = reader.secret("client_certificate_password_env", required=False)
    if cert_path and not os.path.isfile(cert_path):
        reader.problem("client_certificate_path", "no such file (a PEM with key and certificate)")
    mailboxes = reader.string_list("mailboxes")
    if not mailboxes:
        reader.problem("mailboxes", "list at least one mailbox")
    for index, mailbox in enumerate(mailboxes):
        if try_normalize_email(mailbox) is None:
            reader.problem(f"mailboxes[{index}]", "is not an email address")
    authority = reader.string("authority", "https://login.microsoftonline.com").rstrip("/")
    if urlsplit(authority).scheme != "https":
        reader.problem("authority", "must be an https:// URL (the login service refuses http)")
    base_url = reader.string("base_url", "https://graph.microsoft.com/v1.0").rstrip("/")
    parts = urlsplit(base_url)
    if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in LOOPBACK):
        reader.problem("base_url", "must be an https:// URL (http only on loopback)")
    past = reader.integer("calendar_past_days", 2190, minimum=0)
    future = reader.integer("calendar_future_days", 365, minimum=1)
    policy = reader.choice("calendar_policy", "redact", ["redact", "delete"])
    ca_file = reader.string("ca_file", "")
    if ca_file and not os.path.isfile(ca_file):
        reader.problem("ca_file", "no such file")
    scan = reader.boolean("locate_scans_calendar", True)
    timeout = reader.integer("timeout_seconds", 100, minimum=1)
    reader.finish()
    return MsGraphSettings(
        tenant_id=tenant_id,
        client_id=client_id,
        client_secret=secret,
        client_certificate_path=cert_path,
        client_certificate_password=cert_password,
        mailboxes=tuple(mailboxes),
        authority=authority,
        base_url=base_url,
        calendar_past_days=past,
        calendar_future_days=future,
        calendar_policy=policy,
        ca_file=ca_file,
        locate_scans_calendar=scan,
        timeout_seconds=timeout,
    )
