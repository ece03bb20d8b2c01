"""Child process for the kill -9 test: a real sync from the simulator into an SQLite index."""

from __future__ import annotations

import os
import sys

from syncaudit.clock import SystemClock
from syncaudit.db import Database
from syncaudit.identity import Pseudonymizer
from syncaudit.sync import run_sync
from syncaudit_procountor.connector import ProcountorConnector
from syncaudit_procountor.plugin import PLUGIN

if __name__ == "__main__":
    url, base_url, client_id = sys.argv[1:4]
    table = {
        "client_id": client_id,
        "client_secret_env": "CHILD_SECRET",
        "api_key_env": "CHILD_KEY",
        "base_url": base_url,
        "max_requests_per_second": 100,
    }
    settings = PLUGIN.parse_settings(table, path="systems[0]", env=os.environ)
    connector = ProcountorConnector(
        "procountor", settings, PLUGIN.default_profile(settings), clock=SystemClock(), page_size=50
    )
    db = Database(url)
    run_sync(db, connector, pseudonymizer=Pseudonymizer(b"k" * 32), clock=SystemClock())
    print("DONE")
