"""A self-signed certificate, and an HTTPS test server on 127.0.0.1 that uses it."""

import asyncio
from collections.abc import AsyncIterator
import contextlib
from datetime import UTC, datetime, timedelta
import ipaddress
from pathlib import Path
import ssl
from typing import Any

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.client.common import serve


def self_signed_context(directory: Path) -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    loopback = x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([loopback]), critical=False)
        .sign(key, hashes.SHA256())
    )
    encoding = serialization.Encoding.PEM
    private = key.private_bytes(
        encoding, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    pem = directory / "server.pem"  # the certificate, then its key
    pem.write_bytes(cert.public_bytes(encoding) + private)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pem)
    return context


HANDSHAKE_FAILED = "Error on transport creation for incoming connection"


@contextlib.asynccontextmanager
async def tls_server(
    directory: Path, app: web.Application
) -> AsyncIterator[tuple[str, asyncio.Event]]:
    """Serve ``app`` over HTTPS (self-signed); yield its URL and "a client aborted"."""
    # asyncio reports that abort to the loop's exception handler, which the hass
    # fixture turns into a test error: swallow only it (the test awaits the event).
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    aborted = asyncio.Event()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") == HANDSHAKE_FAILED:
            aborted.set()
            return
        if previous is None:
            loop.default_exception_handler(context)
        else:
            previous(loop, context)

    loop.set_exception_handler(handler)
    # asyncio reports a failed server-side handshake only in debug mode, which not
    # every pytest-homeassistant-custom-component release turns on.
    debug = loop.get_debug()
    loop.set_debug(True)
    try:
        async with serve(app, self_signed_context(directory)) as url:
            yield url, aborted
    finally:
        loop.set_exception_handler(previous)
        loop.set_debug(debug)
