"""Entry point `syncaudit_mailchimp.plugin:PLUGIN`. Cheap to import: the SDK loads in `create`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from syncaudit.clock import Clock
from syncaudit.contract import (
    Capability,
    Connector,
    DemoPerson,
    DemoSystem,
    SystemProfile,
    TransferMechanism,
)
from syncaudit_mailchimp.settings import CAPABILITIES, MailchimpSettings, parse_settings

VENDOR = "The Rocket Science Group LLC d/b/a Mailchimp (Intuit Inc.)"
TRANSFER_REFERENCE = (
    "EU-US Data Privacy Framework: Intuit Inc. certification covering Mailchimp "
    "(Decision 2023/1795); Mailchimp's DPA applies SCCs 2021/914 if the DPF falls"
)
DATA_CATEGORIES = (
    "email address",
    "name",
    "subscription status and consent (sign-up / opt-in time and IP)",
    "merge fields (as configured: address, phone, birthday)",
    "tags",
    "campaign activity (opens, clicks)",
    "approximate location",
)


class MailchimpPlugin:
    kind = "mailchimp"

    def parse_settings(
        self, raw: Mapping[str, Any], *, path: str, env: Mapping[str, str]
    ) -> MailchimpSettings:
        return parse_settings(raw, path=path, env=env)

    def create(
        self, name: str, settings: Any, profile: SystemProfile, *, clock: Clock
    ) -> Connector:
        from syncaudit_mailchimp.connector import MailchimpConnector

        return MailchimpConnector(name, settings, profile, clock=clock)

    def capabilities(self, settings: Any) -> frozenset[Capability]:
        return CAPABILITIES

    def default_profile(self, settings: Any) -> SystemProfile:
        # Every Mailchimp data centre (usN) is in the USA; there is no EU data centre.
        return SystemProfile(
            vendor=VENDOR,
            country="US",
            transfer_mechanism=TransferMechanism.DPF,
            transfer_reference=TRANSFER_REFERENCE,
            data_categories=DATA_CATEGORIES,
            sub_processor_countries=("US",),
        )

    def start_demo(self, name: str, workdir: Any, people: Sequence[DemoPerson]) -> DemoSystem:
        """Start this system's simulator seeded with the demo's people (`syncaudit demo`)."""
        from syncaudit_mailchimp.demo import start

        return start(name, workdir, people)


PLUGIN = MailchimpPlugin()
