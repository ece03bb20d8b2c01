"""Config section owned by the web console: [web]. A leaf module: config.py imports it.

```toml
[web]
enabled = false                 # true: `syncaudit run` serves the console too
host = "127.0.0.1"              # loopback; for remote use put a TLS reverse proxy in front
port = 8080
trusted_proxies = []            # proxy addresses whose X-Forwarded-Proto/-For are believed
idle_timeout = "30m"            # a session unused this long is signed out
export_dir = "exports"          # access exports written from the console
export_keep_days = 30           # then they are deleted (the person has had their copy)
```
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from syncaudit.contract import SettingsReader
from syncaudit.errors import ConfigError

MIN_IDLE = timedelta(minutes=1)
MAX_IDLE = timedelta(hours=12)


@dataclass(frozen=True, kw_only=True)
class WebSettings:
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 8080
    trusted_proxies: tuple[str, ...] = ()
    idle_timeout: timedelta = timedelta(minutes=30)
    export_dir: Path = Path("exports")
    export_keep_days: int = 30


def parse_web(
    raw: Mapping[str, Any],
    env: Mapping[str, str],
    problems: list[str],
    duration: Callable[[str], timedelta],
) -> WebSettings:
    """Validate [web]; `duration` is config.parse_duration (passed in: config imports us)."""
    table = raw.get("web", {})
    if not isinstance(table, dict):
        problems.append("web: must be a table ([web])")
        return WebSettings()
    reader = SettingsReader(table, "web", env)
    port = reader.integer("port", 8080, minimum=0)  # 0: any free port (`web.serving` says)
    if port > 65535:
        reader.problem("port", "must be 0..65535")
    proxies = reader.string_list("trusted_proxies")
    for index, address in enumerate(proxies):
        try:
            ipaddress.ip_address(address)
        except ValueError:
            reader.problem(f"trusted_proxies[{index}]", f"{address!r} is not an IP address")
    idle = timedelta(minutes=30)
    idle_text = reader.string("idle_timeout", "30m")
    try:
        idle = duration(idle_text)
    except ValueError as exc:
        reader.problem("idle_timeout", str(exc))
    if not MIN_IDLE <= idle <= MAX_IDLE:
        reader.problem("idle_timeout", "must be between 1m and 12h")
    settings = WebSettings(
        enabled=reader.boolean("enabled", False),
        host=reader.string("host", "127.0.0.1"),
        port=port,
        trusted_proxies=proxies,
        idle_timeout=idle,
        export_dir=Path(reader.string("export_dir", "exports")),
        export_keep_days=reader.integer("export_keep_days", 30, minimum=1),
    )
    try:
        reader.finish()
    except ConfigError as exc:
        problems.extend(exc.problems)
    return settings
