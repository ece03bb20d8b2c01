"""Helpers of the console tests: the form token, signing in."""

from __future__ import annotations

import re
from typing import Any

from starlette.testclient import TestClient

PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no form token on the page"
    return match.group(1).strip("\ue000\ue001")  # test_i18n fences every value


def sign_in(client: TestClient, name: str = "owner", password: str = PASSWORD) -> Any:
    token = csrf_of(client.get("/signin").text)
    return client.post("/signin", data={"name": name, "password": password, "csrf": token})
