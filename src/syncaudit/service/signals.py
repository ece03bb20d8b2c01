"""SIGTERM/SIGINT for the service: the first asks for a graceful stop, a second exits at once.

Exiting at once is safe: every step of the work is committed before its side effect, erasure
tasks are held with leases (a dead worker's lease is released at start or expires), and an
interrupted periodic tick is run again by the next start.

The handler takes no lock (no logging, no Event.set): a handler runs in the main thread between
two bytecodes, possibly while that thread holds the very lock it would need, e.g. the log
stream's while a line is being written. It records the request; the main thread acts on it.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopRequest:
    """Set by the handler, read by the main thread's supervision loop."""

    def __init__(self) -> None:
        self.signal: str | None = None  # the first signal's name, once one arrived
        self._count = 0

    def handle(self, signum: int, _frame: FrameType | None) -> None:
        self._count += 1
        name = signal.Signals(signum).name
        if self._count > 1:
            os.write(2, f"syncaudit: second {name}, exiting at once\n".encode())
            os._exit(128 + signum)
        self.signal = name


@contextlib.contextmanager
def stop_on_signals() -> Iterator[StopRequest]:
    """Install the handlers (main thread only) for the duration; restore the old ones after."""
    request = StopRequest()
    previous = {sig: signal.signal(sig, request.handle) for sig in STOP_SIGNALS}
    try:
        yield request
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
