"""The context every area works on: settings, clock, pseudonyms, database, connectors.

It sits below erasure, rights, reports and the service; `syncaudit.app.App` builds on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from typing import Self

from syncaudit import registry
from syncaudit.clock import Clock, default_clock
from syncaudit.config import Settings, SystemConfig
from syncaudit.contract import Capability, Connector, missing_secrets
from syncaudit.db import Database
from syncaudit.identity import Pseudonymizer, normalize_email


class Context:
    """Settings, one clock, the pseudonymiser, the database and the systems' connectors.

    Every area (erasure, rights, reports, the service's jobs) works on a Context; `App` in
    app.py adds the composition on top (sync with its resurrection guard and objection check)."""

    def __init__(self, settings: Settings, *, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or default_clock()
        self.pseudo = Pseudonymizer(settings.identity_key)
        self._connectors: dict[str, Connector] = {}

    @cached_property
    def db(self) -> Database:
        return Database(self.settings.database_url)

    def close(self) -> None:
        for connector in self._connectors.values():
            connector.close()
        self._connectors.clear()
        if "db" in self.__dict__:
            self.db.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- systems ----------------------------------------------------------------------------

    def connector(self, name: str) -> Connector:
        """The system's connector. Its secrets are demanded here, when it is about to be called:
        MissingSecret names that system's variable alone."""
        if name not in self._connectors:
            system = self.settings.system(name)
            for secret in missing_secrets(system.settings):
                secret.reveal()
            plugin = registry.plugin_for(system.type)
            self._connectors[name] = plugin.create(
                system.name, system.settings, system.profile, clock=self.clock
            )
        return self._connectors[name]

    def capabilities(self, name: str) -> frozenset[Capability]:
        """What the system can do, from its plugin: no connector is built, no secret demanded."""
        system = self.settings.system(name)
        return registry.plugin_for(system.type).capabilities(system.settings)

    def systems(self, names: Iterable[str] = ()) -> list[SystemConfig]:
        wanted = list(names)
        if wanted:
            return [self.settings.system(n) for n in wanted]
        return [s for s in self.settings.systems if s.enabled]

    def pseudonym_of(self, email: str) -> tuple[str, str]:
        normalized = normalize_email(email)
        return normalized, self.pseudo.of_normalized(normalized)
