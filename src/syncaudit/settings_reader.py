"""Helpers every connector plugin uses to validate its config table, and its secrets.

Kept apart from the contract (which re-exports them, so connectors import one module) because
they are about reading TOML and the environment, not about talking to a system.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from syncaudit.errors import ConfigError, MissingSecret


class SettingsReader:
    """Reads one config table, collecting every problem instead of stopping at the first."""

    def __init__(self, raw: Mapping[str, Any], path: str, env: Mapping[str, str]) -> None:
        self.raw = raw
        self.path = path
        self.env = env
        self.problems: list[str] = []
        self._used: set[str] = set()

    def _get(self, key: str, default: Any) -> Any:
        self._used.add(key)
        return self.raw.get(key, default)

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{self.path}.{key}: {message}")

    def string(self, key: str, default: str | None = None, *, required: bool = False) -> str:
        value = self._get(key, default)
        if value is None or (required and value == ""):
            if required:
                self.problem(key, "is required")
            return default or ""
        if not isinstance(value, str):
            self.problem(key, f"must be a string, got {type(value).__name__}")
            return default or ""
        return value

    def integer(self, key: str, default: int, *, minimum: int | None = None) -> int:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(key, f"must be a whole number, got {value!r}")
            return default
        if minimum is not None and value < minimum:
            self.problem(key, f"must be at least {minimum}, got {value}")
            return default
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            self.problem(key, f"must be true or false, got {value!r}")
            return default
        return value

    def string_list(self, key: str, default: Sequence[str] = ()) -> tuple[str, ...]:
        value = self._get(key, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(key, "must be a list of strings")
            return tuple(default)
        return tuple(value)

    def table(self, key: str) -> dict[str, Any]:
        value = self._get(key, {})
        if not isinstance(value, dict):
            self.problem(key, 'must be a table, e.g. { a = "b" }')
            return {}
        return dict(value)

    def choice(self, key: str, default: str, choices: Sequence[str]) -> str:
        value = self.string(key, default)
        if value not in choices:
            self.problem(key, f"must be one of {', '.join(choices)}, got {value!r}")
            return default
        return value

    def secret(self, key: str, *, required: bool = True) -> Secret:
        """`key` names an environment variable (keys end in `_env`). The variable is read now but
        demanded only when the system is called (`Secret.reveal`), so a command that only reads
        the index needs no system's secret."""
        var = self.string(key, required=required)
        return Secret(
            where=f"{self.path}.{key}",
            var=var,
            required=required and bool(var),
            value=self.env.get(var, "") if var else "",
        )

    def finish(self, *, allowed_extra: Sequence[str] = ()) -> None:
        """Raise ConfigError with every problem; unknown keys are problems too (typos)."""
        known = self._used | set(allowed_extra) | COMMON_SYSTEM_KEYS
        for key in self.raw:
            if key not in known:
                self.problems.append(f"{self.path}.{key}: unknown key (typo?)")
        if self.problems:
            raise ConfigError(self.problems)


@dataclass(frozen=True, kw_only=True)
class Secret:
    """A secret named by an `*_env` key. Its value never shows in a repr, log or error."""

    where: str  # the key path, e.g. "systems[1].api_key_env"
    var: str  # the environment variable it names ("" when the key was not given)
    required: bool = True
    value: str = field(default="", repr=False)

    @classmethod
    def of(cls, value: str, *, where: str = "(given in code)") -> Secret:
        """A secret given directly (tests, embedding), not through the environment."""
        return cls(where=where, var="", required=bool(value), value=value)

    @property
    def missing(self) -> bool:
        return self.required and not self.value

    def reveal(self) -> str:
        """The value, for the call that needs it; MissingSecret naming this variable alone."""
        if self.missing:
            raise MissingSecret(self.where, self.var)
        return self.value


def missing_secrets(settings: object) -> list[Secret]:
    """The required secrets of a plugin's settings (a dataclass) that the environment lacks."""
    if not is_dataclass(settings):
        return []
    found = (getattr(settings, f.name) for f in fields(settings))
    return [value for value in found if isinstance(value, Secret) and value.missing]


# Keys every [[systems]] table takes; the core reads them, plugins ignore them.
COMMON_SYSTEM_KEYS = frozenset(
    {
        "name",
        "type",
        "country",
        "vendor",
        "transfer_mechanism",
        "transfer_reference",
        "transfer_checked",
        "data_categories",
        "sub_processor_countries",
        "sync_interval",
        "enabled",
    }
)
