"""`syncaudit run` as a child process, with its JSON log read as it comes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from syncaudit.testing import CONTRACT_KEY

MAIN = "from syncaudit.cli import main; main()"
KEY_ENV = {"SYNCAUDIT_PSEUDONYM_KEY": CONTRACT_KEY.hex()}


def cli(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-c", MAIN, "--config", str(config), "--log-format", "json", *args]


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, **KEY_ENV}
    env.pop("SYNCAUDIT_CONFIG", None)
    env.pop("NOTIFY_SOCKET", None)
    return {**env, **(extra or {})}


class Daemon:
    """A running `syncaudit run`; `wait_for` blocks (bounded) until a log event matches."""

    def __init__(self, config: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            cli(config, "run", *args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_env(env),
            text=True,
        )
        self.events: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            try:
                event = json.loads(line)
            except ValueError:
                event = {"event": "text", "line": line}
            with self._cond:
                self.events.append(event)
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def seen(self, event: str, **fields: Any) -> list[dict[str, Any]]:
        with self._cond:
            return [
                e
                for e in self.events
                if e.get("event") == event and all(e.get(k) == v for k, v in fields.items())
            ]

    def wait_for(
        self, event: str, *, count: int = 1, timeout: float = 30.0, **fields: Any
    ) -> list[dict[str, Any]]:
        end = time.monotonic() + timeout
        with self._cond:
            while True:
                found = self.seen(event, **fields)
                if len(found) >= count:
                    return found
                if self.proc.poll() is not None and not self._reader.is_alive():
                    raise AssertionError(
                        f"exited {self.proc.returncode} before {event}: {self.log}"
                    )
                remaining = end - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {count} x {event} {fields} in time: {self.log}")
                self._cond.wait(remaining)

    @property
    def log(self) -> str:
        with self._cond:
            return "\n".join(json.dumps(e) for e in self.events[-40:])

    def signal(self, sig: int = signal.SIGTERM) -> None:
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and the exit code; the child is killed if it overruns `timeout`."""
        if self.proc.poll() is None:
            self.signal()
        return self.wait(timeout)

    def wait(self, timeout: float = 30.0) -> int:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"did not exit within {timeout} s: {self.log}") from None
        self._reader.join(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return code


def until(check: Callable[[], Any], *, timeout: float = 30.0, what: str = "") -> Any:
    """Poll `check` (e.g. a database query) until it returns something truthy."""
    end = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"not reached in {timeout} s: {what}")
        time.sleep(0.1)


def config_text(
    tmp: Path,
    *,
    exports: Path,
    mailchimp_url: str | None = None,
    service: Sequence[str] = (),
) -> str:
    lines = [
        "[database]",
        f'url = "sqlite:///{tmp / "index.db"}"',
        "[service]",
        f'report_dir = "{tmp / "reports"}"',
        *service,
        "[[systems]]",
        'name = "books"',
        'type = "accounting_export"',
        f'path = "{exports}"',
        "[[systems]]",
        'name = "paper"',
        'type = "manual"',
        'instructions = "Shred the card."',
    ]
    if mailchimp_url:
        lines += [
            "[[systems]]",
            'name = "newsletter"',
            'type = "mailchimp"',
            'api_key_env = "TEST_MAILCHIMP_KEY"',
            f'base_url = "{mailchimp_url}"',
        ]
    return "\n".join(lines) + "\n"
