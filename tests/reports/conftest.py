"""The March 2026 scenario, built once per database backend for all report tests."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from .scenario import Scenario, build

VOLATILE = [
    (re.compile(r"\b[0-9a-f]{64}\b"), "<sha256>"),
    (re.compile(r"(syncaudit[ _]version\W+|syncaudit )\d+\.\d+[^\s\"<]*"), r"\g<1><version>"),
]
REQUEST_ID = re.compile(r"\bE-\d{8}-[0-9a-f]{6}\b")


def normalise(text: str) -> str:
    """Mask what differs between runs: hashes, the version, and random request-id suffixes
    (numbered in order of first appearance, so the same request keeps the same name)."""
    for pattern, replacement in VOLATILE:
        text = pattern.sub(replacement, text)
    seen: dict[str, str] = {}

    def number(match: re.Match[str]) -> str:
        return seen.setdefault(match.group(0), f"{match.group(0)[:11]}<{len(seen) + 1}>")

    return REQUEST_ID.sub(number, text)


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def scenario(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scenario]:
    tmp = tmp_path_factory.mktemp(f"reports-{request.param}")
    if request.param == "sqlite":
        scene = build(f"sqlite:///{tmp / 'index.db'}", tmp / "out")
        yield scene
        scene.close()
        return
    yield from _postgres_scenario(tmp)


def _postgres_scenario(tmp: Path) -> Iterator[Scenario]:
    from conftest import POSTGRES_URL, require_postgres

    require_postgres()
    import psycopg

    schema = "r_" + secrets.token_hex(6)
    dsn = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    scene = build(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}", tmp / "out")
    try:
        yield scene
    finally:
        scene.close()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(scope="session")
def sqlite_scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    """The scenario on SQLite only: for the golden files, the HTML, the PDF."""
    tmp = tmp_path_factory.mktemp("reports-golden")
    scene = build(f"sqlite:///{tmp / 'index.db'}", tmp / "out")
    yield scene
    scene.close()
