"""The real azure-identity credentials against the simulator's TLS token endpoint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syncaudit.clock import SystemClock
from syncaudit_msgraph.connector import MsGraphConnector
from syncaudit_msgraph.plugin import PLUGIN
from syncaudit_msgraph.simulator import GraphSimulator

from .support import MAILBOXES, SDK_WARNINGS

pytestmark = SDK_WARNINGS


def client_certificate(directory: Path) -> tuple[Path, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "syncaudit test app")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path = directory / "app.pem"
    path.write_bytes(key_pem + cert_pem)
    return path, cert_pem


def connector_for(sim: GraphSimulator, env: dict[str, str], **table: object) -> MsGraphConnector:
    settings = PLUGIN.parse_settings(
        sim.settings(list(MAILBOXES), **table), path="systems[0]", env=env
    )
    return MsGraphConnector(
        "outlook", settings, PLUGIN.default_profile(settings), clock=SystemClock()
    )


def test_certificate_credential(sim: GraphSimulator, tmp_path: Path) -> None:
    path, cert_pem = client_certificate(tmp_path)
    sim.register_certificate(cert_pem)
    connector = connector_for(sim, {}, client_secret_env=None, client_certificate_path=str(path))
    table = sim.settings()
    assert "client_secret_env" in table
    try:
        assert "2 mailbox(es) reachable" in connector.check()
    finally:
        connector.close()
    (token,) = sim.select("token")
    assert token.query["auth"] == "assertion"
    assert token.status == 200


def test_unknown_certificate_is_refused(sim: GraphSimulator, tmp_path: Path) -> None:
    from syncaudit.errors import AuthError

    path, _ = client_certificate(tmp_path)  # never registered
    connector = connector_for(sim, {}, client_secret_env=None, client_certificate_path=str(path))
    try:
        with pytest.raises(AuthError):
            connector.check()
    finally:
        connector.close()


def test_trust_from_the_environment_without_ca_file(
    sim: GraphSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Operators behind a TLS-inspecting proxy set REQUESTS_CA_BUNDLE; nothing is pinned."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sim.ca_file)
    connector = connector_for(sim, {"SIM_GRAPH_SECRET": sim.client_secret}, ca_file="")
    try:
        assert "reachable" in connector.check()
    finally:
        connector.close()
