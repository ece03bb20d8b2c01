"""The login service of one tenant: OpenID discovery and the client-credentials token endpoint
(client secret or certificate assertion), over TLS with a self-signed certificate."""

from __future__ import annotations

import base64
import json
import secrets
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from ._common import _now
from ._handler import _BaseHandler


class _LoginHandler(_BaseHandler):
    """OpenID discovery and the client-credentials token endpoint of one tenant."""

    def do_GET(self) -> None:
        started = time.monotonic()
        path = urlsplit(self.path).path
        tenant = self.sim.tenant_id
        base = self.sim.authority
        if path == f"/{tenant}/v2.0/.well-known/openid-configuration":
            doc = {
                "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
                "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/devicecode",
                "issuer": f"{base}/{tenant}/v2.0",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "response_types_supported": ["code", "id_token", "code id_token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "tenant_region_scope": "EU",
            }
            self._send(200, doc)
            status = 200
        else:
            self._send(404, {"error": "invalid_tenant", "error_description": "AADSTS90002"})
            status = 404
        self._log(started, status, "openid", None, {})

    def do_POST(self) -> None:
        started = time.monotonic()
        form = {k: v[0] for k, v in parse_qs(self._read_body().decode()).items()}
        fault = self._take_fault("token")
        status = self._answer_fault(fault) if fault else None
        if status is None:
            status = self._token(form)
        safe = {k: v for k, v in form.items() if k in {"grant_type", "client_id", "scope"}}
        safe["auth"] = "assertion" if "client_assertion" in form else "secret"
        self._log(started, status, "token", None, safe)

    def _token(self, form: dict[str, str]) -> int:
        path = urlsplit(self.path).path
        if path != f"/{self.sim.tenant_id}/oauth2/v2.0/token":
            self._send(400, {"error": "invalid_request", "error_description": "AADSTS90002"})
            return 400
        if form.get("grant_type") != "client_credentials" or form.get("client_id") != (
            self.sim.client_id
        ):
            self._send(400, {"error": "unauthorized_client", "error_description": "AADSTS700016"})
            return 400
        if not self._client_authenticated(form):
            self._send(
                401,
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided.",
                    "error_codes": [7000215],
                },
            )
            return 401
        token = self.sim.issue_token()
        self._send(
            200,
            {
                "token_type": "Bearer",
                "expires_in": self.sim.token_lifetime,
                "ext_expires_in": self.sim.token_lifetime,
                "access_token": token,
            },
            {"Cache-Control": "no-store"},
        )
        return 200

    def _client_authenticated(self, form: dict[str, str]) -> bool:
        if "client_secret" in form:
            return secrets.compare_digest(form["client_secret"], self.sim.client_secret)
        assertion = form.get("client_assertion", "")
        if not assertion or form.get("client_assertion_type", "").find("jwt-bearer") < 0:
            return False
        try:
            head_b64, claims_b64, _sig = assertion.split(".")
            header = json.loads(base64.urlsafe_b64decode(head_b64 + "=" * (-len(head_b64) % 4)))
            claims = json.loads(base64.urlsafe_b64decode(claims_b64 + "=" * (-len(claims_b64) % 4)))
        except (ValueError, json.JSONDecodeError):
            return False
        thumb = str(header.get("x5t#S256") or header.get("x5t") or "").rstrip("=")
        der = self.sim._cert_thumbprints.get(thumb)
        return (
            der is not None
            and claims.get("iss") == self.sim.client_id
            and claims.get("sub") == self.sim.client_id
            and float(claims.get("exp", 0)) > time.time()
            and _signature_valid(assertion, der, str(header.get("alg")))
        )


def _signature_valid(assertion: str, der: bytes, alg: str) -> bool:
    """RS256 / PS256 signature of a client assertion by the registered certificate's key."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    signed, _, signature_b64 = assertion.rpartition(".")
    signature = base64.urlsafe_b64decode(signature_b64 + "=" * (-len(signature_b64) % 4))
    key = x509.load_der_x509_certificate(der).public_key()
    if not isinstance(key, rsa.RSAPublicKey) or alg not in {"RS256", "PS256"}:
        return False
    pad: padding.AsymmetricPadding = (
        padding.PKCS1v15()
        if alg == "RS256"
        else padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    )
    try:
        key.verify(signature, signed.encode("ascii"), pad, hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def _self_signed_certificate(directory: str) -> tuple[str, str]:
    """A certificate for 127.0.0.1 / localhost, valid a day; returns (cert path, key path)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "syncaudit graph simulator")])
    now = _now()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_path = f"{directory}/simulator-ca.pem"
    key_path = f"{directory}/simulator-key.pem"
    with open(cert_path, "wb") as fh:
        fh.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as fh:
        fh.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return cert_path, key_path
