"""One worker per SQLite database: an advisory file lock the kernel drops when the process dies."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from syncaudit.errors import DatabaseError


class WorkerLock:
    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + ".worker.lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise DatabaseError(
                f"another syncaudit worker ({holder}) is already using this SQLite database",
                next_step="Stop the other `syncaudit run`, or use PostgreSQL to run several; "
                "docs/operator-guide.md#another-syncaudit-worker-is-already-using-this-"
                "sqlite-database",
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> WorkerLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
