"""The `[[systems]]` table of a Mailchimp system, validated once (standard library only).

```toml
[[systems]]
name = "newsletter"
type = "mailchimp"
api_key_env = "SYNCAUDIT_MAILCHIMP_KEY"   # data centre taken from the key's suffix
audiences = []                            # empty: every audience in the account
base_url = ""                             # optional override, e.g. a proxy or the simulator
country = "US"
transfer_mechanism = "DPF"
# optional, with their defaults:
reconcile_days = 7        # full re-read of every audience at least this often (finds hard deletes)
lag_seconds = 300         # incremental reads start this long before the previous sync began
timeout_seconds = 30      # read timeout of one request (connect timeout: at most 10 s)
max_connections = 4       # simultaneous requests (Mailchimp allows 10 per user, all apps included)
reuse_connections = true  # keep-alive session instead of the client's one-connection-per-call
```
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from syncaudit.contract import Capability, Secret, SettingsReader

# What a connector of this kind can do (declared, so it is known without building one).
CAPABILITIES = frozenset(
    {Capability.PULL, Capability.ERASE, Capability.OBJECT, Capability.EXPORT, Capability.RECTIFY}
)

MAX_CONNECTIONS = 10  # Mailchimp's documented limit of simultaneous connections per user
_LIST_ID = re.compile(r"^[0-9a-zA-Z]{1,32}$")
_DATA_CENTRE = re.compile(r"^[a-z]+[0-9]+$")


@dataclass(frozen=True, kw_only=True)
class MailchimpSettings:
    api_key: Secret
    audiences: tuple[str, ...] = ()
    base_url: str = ""
    reconcile_days: int = 7
    lag_seconds: int = 300
    timeout_seconds: int = 30
    max_connections: int = 4
    reuse_connections: bool = True

    @property
    def data_centre(self) -> str:
        return self.api_key.reveal().rpartition("-")[2]


def parse_settings(
    raw: Mapping[str, Any], *, path: str, env: Mapping[str, str]
) -> MailchimpSettings:
    reader = SettingsReader(raw, path, env)
    api_key = reader.secret("api_key_env")
    audiences = reader.string_list("audiences")
    base_url = reader.string("base_url", "").strip()
    settings = MailchimpSettings(
        api_key=api_key,
        audiences=audiences,
        base_url=base_url.rstrip("/"),
        reconcile_days=reader.integer("reconcile_days", 7, minimum=1),
        lag_seconds=reader.integer("lag_seconds", 300, minimum=0),
        timeout_seconds=reader.integer("timeout_seconds", 30, minimum=1),
        max_connections=reader.integer("max_connections", 4, minimum=1),
        reuse_connections=reader.boolean("reuse_connections", True),
    )
    if api_key.value and not base_url and not _DATA_CENTRE.match(settings.data_centre):
        # Never echo the key: say only what is wrong with its shape.
        reader.problem("api_key_env", "the key must end in its data centre, e.g. ...-us6")
    for list_id in audiences:
        if not _LIST_ID.match(list_id):
            reader.problem("audiences", f"{list_id!r} is not an audience id (e.g. 'a1b2c3d4e5')")
    if len(set(audiences)) != len(audiences):
        reader.problem("audiences", "lists an audience twice")
    if base_url and not base_url.startswith(("http://", "https://")):
        reader.problem("base_url", "must start with http:// or https://")
    if settings.max_connections > MAX_CONNECTIONS:
        reader.problem(
            "max_connections",
            f"Mailchimp allows at most {MAX_CONNECTIONS} simultaneous connections",
        )
    reader.finish()
    return settings
