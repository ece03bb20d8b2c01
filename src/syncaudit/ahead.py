"""Runs an iterator in a thread, a few items ahead of its reader: network and work overlap.

The sync runner reads a connector's changes this way (`syncaudit.sync.Prefetch`), and a
connector may page its API this way (the Procountor reader). A bounded queue keeps memory flat;
an error of the iterator is raised in the reader's thread, in order; leaving the `with` block
stops the thread (an item being produced is finished, not used; after `STOP_WAIT` seconds it
is left as a daemon thread).
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Iterator
from types import TracebackType
from typing import Generic, Self, TypeVar

T = TypeVar("T")
STOP_WAIT = 5.0  # seconds a stopped iterator may take to notice


class _End:
    def __init__(self, exc: BaseException | None = None) -> None:
        self.exc = exc


class ReadAhead(Generic[T]):
    def __init__(self, items: Iterator[T], *, depth: int, name: str) -> None:
        self._items = items
        self._queue: queue.Queue[T | _End] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._held: _End | None = None  # the end, met by `ready` and kept for `__iter__`

    def start(self) -> Self:
        """Start reading ahead; `close` (or leaving a `with` block) stops it."""
        self._thread.start()
        return self

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        deadline = time.monotonic() + STOP_WAIT
        while self._thread.is_alive() and time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):  # unblock a producer waiting on a full queue
                self._queue.get(timeout=0.05)

    def join(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the thread to end; whether it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _put(self, value: T | _End) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        items = self._items
        try:
            for item in items:
                if not self._put(item):
                    return
            self._put(_End())
        except BaseException as exc:  # handed to the reader's thread
            self._put(_End(exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    def __iter__(self) -> Iterator[T]:
        while True:
            got = self._held or self._queue.get()
            if isinstance(got, _End):
                self._held = got
                if got.exc is not None:
                    raise got.exc
                return
            yield got

    def waiting(self) -> bool:
        """Whether an item is already waiting (the reader is behind the iterator)."""
        return self._held is None and not self._queue.empty()

    def ready(self) -> T | None:
        """The next item if it is already waiting; None if none is (or the iterator ended:
        the end, or its error, then comes from `__iter__`)."""
        if self._held is not None:
            return None
        try:
            got = self._queue.get_nowait()
        except queue.Empty:
            return None
        if isinstance(got, _End):
            self._held = got
            return None
        return got
