"""`syncaudit init`: a pseudonym key and a starter configuration."""

from __future__ import annotations

import os
from pathlib import Path

from syncaudit.config import DEFAULT_KEY_ENV, default_database_url
from syncaudit.errors import UsageError
from syncaudit.identity import generate_key

STARTER = """\
# syncaudit configuration. Every key is documented in config.example.toml.
# Secrets are never written here: *_env keys name environment variables.

[database]
url = "{database}"

[identity]
key_env = "{key_env}"

[erasure]
deadline_hours = 48

[controller]
name = "Your company Oy"
email = "privacy@example.fi"

# One table per system. Start with the manual ones; add msgraph, mailchimp and
# accounting_export systems as in config.example.toml.
[[systems]]
name = "paper"
type = "manual"
instructions = "Remove the person's contract copies from the locked cabinet."
"""


def init_project(path: Path, *, key_file: Path | None, force: bool) -> list[str]:
    if path.exists() and not force:
        raise UsageError(
            f"{path} exists already",
            next_step="Use --force to overwrite it, or --path to write elsewhere.",
        )
    key = generate_key()
    path.write_text(
        STARTER.format(database=default_database_url(), key_env=DEFAULT_KEY_ENV), encoding="utf-8"
    )
    lines = [f"wrote {path}"]
    if key_file is not None:
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(key + "\n")
        lines.append(
            f"wrote the pseudonym key to {key_file} (mode 0600); set "
            f'[identity] key_file = "{key_file}" or export it as {DEFAULT_KEY_ENV}'
        )
    lines += [
        "",
        "Your pseudonym key (keep it secret, keep a backup: without it tombstones cannot be "
        "matched and erased people could come back):",
        f"  export {DEFAULT_KEY_ENV}={key}",
        "Put that line in the service's environment file (mode 0600), not in the config.",
        "Next: edit the config, then run `syncaudit check`.",
    ]
    return lines
