"""One exception tree, grouped by what the caller must do.

    SyncauditError                 -- base; every error carries `next_step` for the operator
    ├── ConfigError                -- fix the configuration file or environment (exit 2)
    │   └── MissingSecret          -- a system about to be called lacks its secret variable
    ├── UsageError                 -- fix the command line (exit 2)
    ├── InvalidEmail               -- the given address cannot be an email address (exit 2)
    ├── InputFileError             -- an untrusted input file was rejected; others go on
    ├── DatabaseError              -- the database cannot be opened, locked, or is too new
    ├── SystemPackageMissing       -- an operating-system package is not installed (named)
    └── ConnectorError             -- raised by connectors; the engine decides from the subclass
        ├── TransientError         -- retry later (429, 5xx, timeouts); may carry retry_after
        ├── PermanentError         -- retrying will not help; surface to the operator
        └── AuthError              -- credentials rejected/expired: system unhealthy, nothing done

Messages never contain plaintext personal data: name people by pseudonym.
"""

from __future__ import annotations


class SyncauditError(Exception):
    """Base of every error syncaudit raises on purpose."""

    exit_code = 1
    default_next_step = (
        "Run with -v for details; see docs/operator-guide.md#12-troubleshooting-by-error-message."
    )

    def __init__(self, message: str, *, next_step: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.next_step = next_step or self.default_next_step

    def __str__(self) -> str:
        return self.message


class ConfigError(SyncauditError):
    """The configuration is invalid; `problems` lists every problem found, with its key path."""

    exit_code = 2
    default_next_step = (
        "Fix the configuration file (every key: config.example.toml; "
        "docs/operator-guide.md#3-the-configuration-file-and-the-key)."
    )

    def __init__(self, problems: list[str], *, source: str = "configuration") -> None:
        self.problems = list(problems)
        text = f"{source}: {len(self.problems)} problem(s):\n" + "\n".join(
            f"  - {p}" for p in self.problems
        )
        super().__init__(text)


class MissingSecret(ConfigError):
    """A command is about to call a system whose `*_env` variable is not set. Only the systems a
    command calls need their secrets, so the message names this one variable alone."""

    def __init__(self, where: str, var: str) -> None:
        problem = f"{where}: environment variable {var} is not set"
        super().__init__([problem])
        self.message = problem  # one line: the only problem there is
        self.where = where
        self.var = var
        self.next_step = (
            f"Set {var} in this shell or in the service's environment file "
            "(docs/operations.md); commands that only read the index need no system secrets."
        )


class UsageError(SyncauditError):
    exit_code = 2
    default_next_step = "See `syncaudit --help`."


class InvalidEmail(SyncauditError, ValueError):
    """An address failed normalisation; `reason` says why (never echoes the address)."""

    exit_code = 2
    default_next_step = "Check the address for typos; it must look like name@domain.tld."

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid email address: {reason}")
        self.reason = reason


class InputFileError(SyncauditError):
    """An input file was rejected. Other files are still processed; nothing stored is lost."""

    default_next_step = (
        "Ask the sender for a corrected export; the other files were processed "
        "(docs/operator-guide.md#a-file-of-the-accounting-export-was-rejected)."
    )

    def __init__(self, file: str, reason: str, *, where: str | None = None) -> None:
        location = f" ({where})" if where else ""
        super().__init__(f"{file}{location}: {reason}")
        self.file = file
        self.reason = reason
        self.where = where


class DatabaseError(SyncauditError):
    default_next_step = "Check [database].url and that the database is reachable."


class SystemPackageMissing(SyncauditError):
    """A feature needs operating-system packages that are not installed; the message names them
    and `next_step` is the command that installs them (`syncaudit.sysdeps` has the list)."""


class ConnectorError(SyncauditError):
    """Raised by connectors. `system` is the configured system name, filled in by the core."""

    def __init__(
        self, message: str, *, next_step: str | None = None, system: str | None = None
    ) -> None:
        super().__init__(message, next_step=next_step)
        self.system = system


class TransientError(ConnectorError):
    """Worth retrying: throttling, 5xx, timeouts. `retry_after` is the server's hint in seconds."""

    default_next_step = "Nothing to do: syncaudit retries with backoff."

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        next_step: str | None = None,
        system: str | None = None,
    ) -> None:
        super().__init__(message, next_step=next_step, system=system)
        self.retry_after = retry_after


class PermanentError(ConnectorError):
    default_next_step = "Look at the system named in the message; retrying will not help."


class AuthError(ConnectorError):
    default_next_step = (
        "Renew this system's credentials (the *_env keys in the config), run `syncaudit check`; "
        "see docs/operator-guide.md#autherror-credentials-rejected"
    )
