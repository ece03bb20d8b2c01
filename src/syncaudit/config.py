"""Configuration: one TOML file, validated once at load, every problem reported together.

Found by `--config`, then $SYNCAUDIT_CONFIG, then ./syncaudit.toml, then the user config dir.
Secrets are never in the file: `*_env` keys name environment variables.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from syncaudit.contract import SettingsReader, SystemProfile, TransferMechanism
from syncaudit.errors import ConfigError
from syncaudit.identity import MIN_KEY_BYTES, key_from_text
from syncaudit.reports.settings import ReportsSettings, parse_reports
from syncaudit.requester.settings import IntakeSettings, parse_intake
from syncaudit.rights.settings import RetentionSettings, parse_retention
from syncaudit.web.settings import WebSettings, parse_web

CONFIG_ENV = "SYNCAUDIT_CONFIG"
DEFAULT_KEY_ENV = "SYNCAUDIT_PSEUDONYM_KEY"


def user_config_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("syncaudit")) / "syncaudit.toml"


def default_database_url() -> str:
    from platformdirs import user_data_dir

    return "sqlite:///" + str(Path(user_data_dir("syncaudit")) / "syncaudit.db")


def find_config(explicit: Path | None, env: Mapping[str, str]) -> Path:
    candidates: list[tuple[str, Path]] = []
    if explicit is not None:
        candidates.append(("--config", explicit))
    elif env.get(CONFIG_ENV):
        candidates.append((f"${CONFIG_ENV}", Path(env[CONFIG_ENV])))
    else:
        candidates += [("./syncaudit.toml", Path("syncaudit.toml")), ("", user_config_path())]
    for _, path in candidates:
        if path.is_file():
            return path
    where = ", ".join(str(p) for _, p in candidates)
    raise ConfigError(
        [f"no configuration file found (looked at {where})"], source="configuration"
    ) from None


@dataclass(frozen=True, kw_only=True)
class ErasureSettings:
    deadline_hours: int = 48
    on_resurrection: str = "erase"  # "erase" queues a new erasure; "alert" only records it
    job_attempts: int = 12  # transient failures retried before the task is shown as failed
    lease_seconds: int = 300


@dataclass(frozen=True, kw_only=True)
class ServiceSettings:
    sync_interval: timedelta = timedelta(hours=1)
    worker_poll_seconds: float = 30.0
    report_dir: Path = Path("reports")
    report_day: int = 1
    report_hour: int = 6
    notify: str = "none"  # none | command | email
    notify_command: tuple[str, ...] = ()
    notify_system: str = ""  # the msgraph system whose mailbox sends notification email
    notify_to: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ControllerSettings:
    name: str = ""
    business_id: str = ""
    address: str = ""
    email: str = ""
    phone: str = ""
    dpo: str = ""
    representative: str = ""
    language: str = "en"


@dataclass(frozen=True, kw_only=True)
class SystemConfig:
    name: str
    type: str
    profile: SystemProfile
    settings: object  # the plugin's own frozen dataclass, opaque to the core
    sync_interval: timedelta | None = None
    enabled: bool = True


@dataclass(frozen=True, kw_only=True)
class Settings:
    source: Path | None
    database_url: str
    identity_key: bytes
    identity_key_env: str
    erasure: ErasureSettings = field(default_factory=ErasureSettings)
    service: ServiceSettings = field(default_factory=ServiceSettings)
    controller: ControllerSettings = field(default_factory=ControllerSettings)
    systems: tuple[SystemConfig, ...] = ()
    web: WebSettings = field(default_factory=WebSettings)
    # Parsed by their areas' own modules (syncaudit.rights.settings, syncaudit.reports.settings).
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    reports: ReportsSettings = field(default_factory=ReportsSettings)
    intake: IntakeSettings | None = None  # syncaudit.requester.settings; None: no intake
    raw: Mapping[str, Any] = field(default_factory=dict)

    def system(self, name: str) -> SystemConfig:
        for system in self.systems:
            if system.name == name:
                return system
        known = ", ".join(s.name for s in self.systems) or "none"
        raise ConfigError([f"no system named {name!r} (configured: {known})"])


def parse_duration(text: str) -> timedelta:
    """'90s', '30m', '1h', '7d' → timedelta."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = text.strip()
    if len(text) < 2 or text[-1] not in units or not text[:-1].replace(".", "", 1).isdigit():
        raise ValueError('use a number with s, m, h or d, e.g. "1h"')
    return timedelta(seconds=float(text[:-1]) * units[text[-1]])


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    environment = dict(os.environ if env is None else env)
    source = find_config(path, environment)
    try:
        raw = tomllib.loads(source.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"not valid TOML: {exc}"], source=str(source)) from None
    except UnicodeDecodeError:
        raise ConfigError(["the file is not UTF-8 text"], source=str(source)) from None
    return parse_config(raw, environment, source=source)


_TOP_KEYS = {
    "database",
    "identity",
    "erasure",
    "service",
    "controller",
    "systems",
    "reports",
    "retention",
    "activities",
    "web",
    "intake",
}


def parse_config(
    raw: Mapping[str, Any], env: Mapping[str, str], *, source: Path | None
) -> Settings:
    problems: list[str] = [f"{key}: unknown section (typo?)" for key in raw if key not in _TOP_KEYS]

    def section(name: str) -> SettingsReader:
        value = raw.get(name, {})
        if not isinstance(value, dict):
            problems.append(f"{name}: must be a table ([{name}])")
            value = {}
        return SettingsReader(value, name, env)

    database = section("database")
    url = database.string("url", "") or default_database_url()
    if not (url.startswith("sqlite:") or url.startswith("postgresql")):
        database.problem("url", "must start with sqlite:/// or postgresql://")

    key, key_env = _identity(section("identity"), problems)
    erasure = _erasure(section("erasure"), problems)
    service = _service(section("service"), problems)
    controller = _controller(section("controller"), problems)
    _collect(database, problems)
    systems = _systems(raw.get("systems", []), env, problems)
    retention = parse_retention(raw, env, problems)
    reports = parse_reports(raw, env, problems)
    web = parse_web(raw, env, problems, parse_duration)
    intake = parse_intake(raw, env, problems, parse_duration)
    if problems:
        raise ConfigError(problems, source=str(source) if source else "configuration")
    return Settings(
        source=source,
        database_url=url,
        identity_key=key,
        identity_key_env=key_env,
        erasure=erasure,
        service=service,
        controller=controller,
        systems=tuple(systems),
        retention=retention,
        reports=reports,
        web=web,
        intake=intake,
        raw=raw,
    )


def _collect(reader: SettingsReader, problems: list[str]) -> None:
    try:
        reader.finish()
    except ConfigError as exc:
        problems.extend(exc.problems)


def _identity(reader: SettingsReader, problems: list[str]) -> tuple[bytes, str]:
    var = reader.string("key_env", DEFAULT_KEY_ENV)
    key_file = reader.string("key_file", "")
    text = ""
    if key_file:
        try:
            text = Path(key_file).read_text(encoding="utf-8")
        except OSError as exc:
            reader.problem("key_file", f"cannot read {key_file}: {exc.strerror}")
    else:
        text = reader.env.get(var, "")
        if not text:
            reader.problem(
                "key_env",
                f"environment variable {var} is not set; run `syncaudit init` to create a key",
            )
    key = key_from_text(text) if text else b""
    if text and len(key) < MIN_KEY_BYTES:
        reader.problem("key_env", f"the key is shorter than {MIN_KEY_BYTES} bytes")
    _collect(reader, problems)
    return key, var


def _erasure(reader: SettingsReader, problems: list[str]) -> ErasureSettings:
    settings = ErasureSettings(
        deadline_hours=reader.integer("deadline_hours", 48, minimum=1),
        on_resurrection=reader.choice("on_resurrection", "erase", ["erase", "alert"]),
        job_attempts=reader.integer("job_attempts", 12, minimum=1),
        lease_seconds=reader.integer("lease_seconds", 300, minimum=10),
    )
    _collect(reader, problems)
    return settings


def _duration(reader: SettingsReader, key: str, default: str) -> timedelta:
    text = reader.string(key, default)
    try:
        return parse_duration(text)
    except ValueError as exc:
        reader.problem(key, str(exc))
        return parse_duration(default)


def _service(reader: SettingsReader, problems: list[str]) -> ServiceSettings:
    notify = reader.choice("notify", "none", ["none", "command", "email"])
    command = reader.string_list("notify_command")
    notify_system = reader.string("notify_system", "")
    if notify == "command" and not command:
        reader.problem("notify_command", 'is required with notify = "command"')
    if notify == "email" and not notify_system:
        reader.problem("notify_system", 'is required with notify = "email" (an msgraph system)')
    settings = ServiceSettings(
        sync_interval=_duration(reader, "sync_interval", "1h"),
        worker_poll_seconds=float(reader.integer("worker_poll_seconds", 30, minimum=1)),
        report_dir=Path(reader.string("report_dir", "reports")),
        report_day=reader.integer("report_day", 1, minimum=1),
        report_hour=reader.integer("report_hour", 6, minimum=0),
        notify=notify,
        notify_command=command,
        notify_system=notify_system,
        notify_to=reader.string_list("notify_to"),
    )
    if settings.report_day > 28:
        reader.problem("report_day", "must be 1..28 so that every month has it")
    if settings.report_hour > 23:
        reader.problem("report_hour", "must be 0..23")
    _collect(reader, problems)
    return settings


def _controller(reader: SettingsReader, problems: list[str]) -> ControllerSettings:
    settings = ControllerSettings(
        name=reader.string("name", ""),
        business_id=reader.string("business_id", ""),
        address=reader.string("address", ""),
        email=reader.string("email", ""),
        phone=reader.string("phone", ""),
        dpo=reader.string("dpo", ""),
        representative=reader.string("representative", ""),
        language=reader.choice("language", "en", ["en", "fi"]),
    )
    _collect(reader, problems)
    return settings


def _systems(value: Any, env: Mapping[str, str], problems: list[str]) -> list[SystemConfig]:
    from syncaudit import registry

    if not isinstance(value, list):
        problems.append("systems: must be an array of tables ([[systems]])")
        return []
    out: list[SystemConfig] = []
    seen: set[str] = set()
    for index, table in enumerate(value):
        path = f"systems[{index}]"
        if not isinstance(table, dict):
            problems.append(f"{path}: must be a table")
            continue
        name, kind = table.get("name"), table.get("type")
        if not isinstance(name, str) or not name.strip():
            problems.append(f'{path}.name: is required (a short name such as "outlook")')
            name = f"system{index}"
        elif name in seen:
            problems.append(f"{path}.name: {name!r} is used by two systems")
        seen.add(name)
        if not isinstance(kind, str):
            problems.append(f"{path}.type: is required ({', '.join(registry.available_kinds())})")
            continue
        try:
            plugin = registry.plugin_for(kind)
        except ConfigError as exc:
            problems.extend(f"{path}.type: {p}" for p in exc.problems)
            continue
        try:
            settings = plugin.parse_settings(table, path=path, env=env)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        common = SettingsReader(table, path, env)
        profile = _profile(common, plugin.default_profile(settings))
        interval_text = common.string("sync_interval", "")
        interval = None
        if interval_text:
            try:
                interval = parse_duration(interval_text)
            except ValueError as exc:
                common.problem("sync_interval", str(exc))
        enabled = common.boolean("enabled", True)
        problems.extend(common.problems)
        out.append(
            SystemConfig(
                name=name,
                type=kind,
                profile=profile,
                settings=settings,
                sync_interval=interval,
                enabled=enabled,
            )
        )
    return out


def _profile(reader: SettingsReader, default: SystemProfile) -> SystemProfile:
    country = reader.string("country", default.country).upper()
    if len(country) != 2 or not country.isalpha():
        reader.problem("country", "must be a two-letter country code such as FI or US")
    mechanism_text = reader.string("transfer_mechanism", str(default.transfer_mechanism))
    try:
        mechanism = TransferMechanism(mechanism_text)
    except ValueError:
        allowed = ", ".join(m.value for m in TransferMechanism)
        reader.problem("transfer_mechanism", f"must be one of {allowed}")
        mechanism = TransferMechanism.UNKNOWN
    checked_text = reader.string("transfer_checked", "")
    checked = default.transfer_checked
    if checked_text:
        try:
            checked = date.fromisoformat(checked_text)
        except ValueError:
            reader.problem("transfer_checked", "must be a date YYYY-MM-DD")
    return SystemProfile(
        vendor=reader.string("vendor", default.vendor),
        country=country,
        transfer_mechanism=mechanism,
        transfer_reference=reader.string("transfer_reference", default.transfer_reference),
        transfer_checked=checked,
        data_categories=reader.string_list("data_categories", default.data_categories),
        sub_processor_countries=reader.string_list(
            "sub_processor_countries", default.sub_processor_countries
        ),
        role=default.role,
    )
