"""The `msgraph` plugin: Outlook contacts and calendars through Microsoft Graph (app-only).

Cheap to import: msgraph-sdk and azure-identity are imported only when a Graph call is made.

```toml
[[systems]]
name = "outlook"
type = "msgraph"
tenant_id = "..."
client_id = "..."
client_secret_env = "SYNCAUDIT_GRAPH_SECRET"      # or: client_certificate_path = "/etc/app.pem"
mailboxes = ["coach@example.fi"]
authority = "https://login.microsoftonline.com"   # national clouds / testing
base_url = "https://graph.microsoft.com/v1.0"
calendar_past_days = 2190
calendar_future_days = 365
calendar_policy = "redact"                        # or "delete"
# optional:
# client_certificate_password_env = "SYNCAUDIT_GRAPH_CERT_PASSWORD"
# ca_file = "/etc/ssl/proxy-ca.pem"   # trust for the login authority and Graph (default: system
#                                     # trust, REQUESTS_CA_BUNDLE / SSL_CERT_FILE)
# locate_scans_calendar = true        # erase look-ups also scan the calendar window
```
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from syncaudit.clock import Clock
from syncaudit.contract import (
    Capability,
    Connector,
    DemoPerson,
    DemoSystem,
    SystemProfile,
    TransferMechanism,
)

from .connector import MsGraphConnector
from .settings import CAPABILITIES, KIND, MsGraphSettings, parse_settings

__all__ = ["KIND", "PLUGIN", "MsGraphPlugin", "MsGraphSettings", "parse_settings"]


class MsGraphPlugin:
    kind = KIND

    def parse_settings(
        self, raw: Mapping[str, Any], *, path: str, env: Mapping[str, str]
    ) -> MsGraphSettings:
        return parse_settings(raw, path=path, env=env)

    def create(
        self, name: str, settings: Any, profile: SystemProfile, *, clock: Clock
    ) -> Connector:
        return MsGraphConnector(name, settings, profile, clock=clock)

    def capabilities(self, settings: Any) -> frozenset[Capability]:
        return CAPABILITIES

    def default_profile(self, settings: Any) -> SystemProfile:
        host = urlsplit(getattr(settings, "base_url", "")).hostname or ""
        if host.endswith(".us"):
            return SystemProfile(
                vendor="Microsoft Corporation (US Government cloud)",
                country="US",
                transfer_mechanism=TransferMechanism.DPF,
                data_categories=("contact details", "calendar entries"),
            )
        return SystemProfile(
            vendor="Microsoft Ireland Operations Ltd",
            country="IE",
            transfer_mechanism=TransferMechanism.DPF,
            transfer_reference=(
                "Microsoft Products and Services DPA (EU Data Boundary); sub-processing by "
                "Microsoft Corporation under the EU-US Data Privacy Framework and SCCs"
            ),
            data_categories=("contact details", "calendar entries"),
            sub_processor_countries=("US",),
        )

    def start_demo(self, name: str, workdir: Any, people: Sequence[DemoPerson]) -> DemoSystem:
        """Start this system's simulator seeded with the demo's people (`syncaudit demo`)."""
        from syncaudit_msgraph.demo import start

        return start(name, workdir, people)


PLUGIN = MsGraphPlugin()
