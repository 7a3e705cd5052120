"""A real SMTP server on loopback (aiosmtpd), with STARTTLS on a certificate made for the test
and AUTH checked against a fixed user. Shared by tests/mail and tests/cli (loaded by path)."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

USER = "mailer"
PASSWORD = "s3cret-smtp-pw"


class _LoopbackController(Controller):
    """aiosmtpd's Controller probes `self.port` after binding; with port 0 that is the port
    the OS chose, so read it from the bound socket first."""

    def _trigger_server(self) -> None:
        if self.server is not None and self.port == 0:
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@dataclass
class Inbox:
    messages: list[tuple[list[str], Message]] = field(default_factory=list)
    fail_with: str | None = None  # e.g. "451 4.3.0 try later": refuse DATA
    cafile: str | None = None  # the certificate a client must trust (STARTTLS server only)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        if self.fail_with:
            return self.fail_with
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode()
          and auth_data.password == PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


@dataclass
class SmtpServer:
    host: str
    port: int
    inbox: Inbox
    client_context: ssl.SSLContext | None


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def self_signed(folder: Path) -> tuple[Path, Path]:
    return _self_signed(folder)


@contextmanager
def starttls_server(tls_files: tuple[Path, Path]) -> Iterator[SmtpServer]:
    """STARTTLS required before AUTH, AUTH required before mail."""
    cert, key = tls_files
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(cert))
    inbox = Inbox(cafile=str(cert))
    controller = _LoopbackController(
        inbox, hostname="127.0.0.1", port=0, tls_context=server_ctx, require_starttls=True,
        authenticator=_authenticator, auth_required=True, auth_require_tls=True)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", controller.port, inbox, client_ctx)
    finally:
        controller.stop()


@contextmanager
def plain_server() -> Iterator[SmtpServer]:
    """No TLS, no AUTH: a local relay."""
    inbox = Inbox()
    controller = _LoopbackController(inbox, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", controller.port, inbox, None)
    finally:
        controller.stop()
