"""Connector plugins, found through the entry-point group `syncaudit.connectors`."""

from __future__ import annotations

from importlib.metadata import entry_points

from syncaudit.contract import ConnectorPlugin
from syncaudit.errors import ConfigError

GROUP = "syncaudit.connectors"
_extra: dict[str, ConnectorPlugin] = {}


def register(plugin: ConnectorPlugin) -> None:
    """Register a plugin in-process (tests, embedding); entry points are the normal way."""
    _extra[plugin.kind] = plugin


def available_kinds() -> list[str]:
    return sorted({ep.name for ep in entry_points(group=GROUP)} | set(_extra))


def plugin_for(kind: str) -> ConnectorPlugin:
    if kind in _extra:
        return _extra[kind]
    for ep in entry_points(group=GROUP, name=kind):
        try:
            plugin: ConnectorPlugin = ep.load()
        except ImportError as exc:
            raise ConfigError(
                [
                    f"connector type {kind!r} is installed but cannot be loaded ({exc}); "
                    "reinstall syncaudit"
                ]
            ) from None
        return plugin
    raise ConfigError(
        [f"no connector of type {kind!r}; installed types: {', '.join(available_kinds())}"]
    )
