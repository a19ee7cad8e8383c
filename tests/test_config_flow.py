"""Config, reauth, reconfigure and options flows, against real HTTP on 127.0.0.1.

The simulated dashboard answers the happy paths and most errors. Small local
servers stand in for what it cannot be: an HTML site, another JSON API, a v1
dashboard, a redirecting proxy, a dashboard below a sub-path and one with a
self-signed certificate. Only an unexpected exception is mocked.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import ipaddress
import json
from pathlib import Path
import socket
import ssl
import threading
from typing import Any
from unittest.mock import AsyncMock, patch

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_USER,
    ConfigEntryState,
    ConfigFlowResult,
)
from homeassistant.const import CONF_API_TOKEN, CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.nezha.client import NezhaV0Client
from custom_components.nezha.config_flow import (
    EXAMPLE_URL,
    InvalidUrlError,
    normalize_url,
    title_for,
)
from custom_components.nezha.const import (
    ALL_GROUPS,
    CONF_API_GENERATION,
    CONF_OFFLINE_THRESHOLD,
    CONF_PING_INTERVAL,
    CONF_SCAN_INTERVAL,
    CONF_SERVER_GROUP,
    DOMAIN,
)
from tests.conftest import TOKEN, register_secret
from tests.simulator import Fault, NezhaSimulator

NEW_TOKEN = register_secret("n3wT0kenQ7w9E1r3T5y7U9i1O3p5A7s9")
WRONG_TOKEN = register_secret("wr0ngT0kenZ2x4C6v8B0n2M4l6K8j0H2")
LIST_PATH = "/api/v1/server/list"
# The anonymous generation probe that starts every validation.
PROBE_PATH = "/api/v1/setting"
# What every form shows: the example URL and the scopes a v1 token needs.
PLACEHOLDERS = {
    "example_url": EXAMPLE_URL,
    "scopes": "nezha:inventory:read, nezha:service:read, nezha:server:read",
}

type ConfigResult = ConfigFlowResult
type Serve = Callable[[web.Application], Awaitable[str]]


# --------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------


def user_input(
    url: str, token: str = TOKEN, *, verify_ssl: bool = True
) -> dict[str, Any]:
    """Form data of the user step."""
    return {CONF_URL: url, CONF_API_TOKEN: token, CONF_VERIFY_SSL: verify_ssl}


def entry_data(
    url: str, token: str = TOKEN, *, verify_ssl: bool = True
) -> dict[str, Any]:
    """What a config entry stores for a v0 dashboard."""
    return {**user_input(url, token, verify_ssl=verify_ssl), CONF_API_GENERATION: "v0"}


async def start_user_flow(hass: HomeAssistant) -> ConfigResult:
    """Open the user step and check it starts clean."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    return result


async def submit(
    hass: HomeAssistant, result: ConfigResult, data: dict[str, Any]
) -> ConfigResult:
    """Submit a config-flow form."""
    return await hass.config_entries.flow.async_configure(result["flow_id"], data)


def assert_form_error(result: ConfigResult, step_id: str, error: str) -> None:
    """The form is shown again with one base error."""
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == step_id
    assert result["errors"] == {"base": error}


def schema_field(result: ConfigResult, key: str) -> Any:
    """Return the schema marker of ``key`` in a form result."""
    for marker in result["data_schema"].schema:
        if marker == key:
            return marker
    raise AssertionError(f"{key} not in the form")


def suggested(result: ConfigResult, key: str) -> Any:
    """The suggested value of a form field (None when there is none)."""
    return (schema_field(result, key).description or {}).get("suggested_value")


def default(result: ConfigResult, key: str) -> Any:
    """The default value of a form field."""
    return schema_field(result, key).default()


def select_options(result: ConfigResult, key: str) -> list[str]:
    """The values a select selector offers."""
    selector = result["data_schema"].schema[schema_field(result, key)]
    return [option["value"] for option in selector.config["options"]]


def anonymous_probes(simulator: NezhaSimulator) -> int:
    """Count the probe requests; fails if any of them carried a credential."""
    probes = [r for r in simulator.requests if r.path == PROBE_PATH]
    assert all("Authorization" not in r.headers for r in probes)
    return len(probes)


def list_requests(simulator: NezhaSimulator) -> list[str | None]:
    """Authorization headers of the server-list requests the simulator received."""
    return [
        r.headers.get("Authorization")
        for r in simulator.requests
        if r.path == LIST_PATH
    ]


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@dataclass
class FakeDashboard:
    """A minimal v0 list endpoint (optionally below a sub-path); records requests."""

    prefix: str = ""
    token: str = TOKEN
    seen: list[tuple[str, str | None]] = field(default_factory=list)

    def app(self) -> web.Application:
        """Build the aiohttp app."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        self.seen.append((request.path, request.headers.get("Authorization")))
        if request.path != self.prefix + LIST_PATH:
            return web.Response(status=404, text="404 page not found")
        if request.headers.get("Authorization") != self.token:
            return web.json_response({"code": 403, "message": "访问此接口需要认证"})
        return web.json_response(
            {
                "code": 0,
                "message": "success",
                "result": [{"id": 1, "name": "a", "tag": ""}],
            }
        )


def static_app(response: Callable[[], web.StreamResponse]) -> web.Application:
    """An app answering every request with ``response()``."""

    async def handle(request: web.Request) -> web.StreamResponse:
        return response()

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


def self_signed_context(directory: Path) -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file = directory / "cert.pem"
    key_file = directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


class _TLSDashboardHandler(BaseHTTPRequestHandler):
    """The v0 list endpoint over HTTPS (HTTP/1.0: one request per connection)."""

    server: _TLSDashboard

    def do_GET(self) -> None:
        token = self.headers.get("Authorization")
        self.server.seen.append((self.path, token))
        answer = (
            {"code": 0, "message": "success", "result": []}
            if token == TOKEN
            else {"code": 403, "message": "访问此接口需要认证"}
        )
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Keep the test output quiet."""


class _TLSDashboard(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins the request threads
    seen: list[tuple[str, str | None]]


# --------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------


@pytest.fixture
def mock_setup_entry() -> Generator[AsyncMock]:
    """Skip the real setup in tests that only exercise the flow."""
    with patch("custom_components.nezha.async_setup_entry", return_value=True) as mock:
        yield mock


@pytest.fixture
async def serve(socket_enabled: None) -> AsyncGenerator[Serve]:
    """Start aiohttp apps on 127.0.0.1; all are stopped after the test."""
    runners: list[web.AppRunner] = []

    async def start(app: web.Application) -> str:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        runners.append(runner)
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return f"http://127.0.0.1:{runner.addresses[0][1]}"

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
def tls_dashboard(socket_enabled: None, tmp_path: Path) -> Generator[_TLSDashboard]:
    """A dashboard with a self-signed certificate, served from its own thread.

    A failed handshake is then the server thread's business and does not reach
    Home Assistant's event loop (which fails the test on any loop error).
    """
    server = _TLSDashboard(("127.0.0.1", 0), _TLSDashboardHandler)
    server.seen = []
    server.socket = self_signed_context(tmp_path).wrap_socket(
        server.socket, server_side=True
    )
    thread = threading.Thread(target=server.serve_forever, name="tls-dashboard")
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


# --------------------------------------------------------------------------------
# URL normalisation
# --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected", "title"),
    [
        ("http://nezha.example.com", "http://nezha.example.com", "nezha.example.com"),
        (
            "https://nezha.example.com/",
            "https://nezha.example.com",
            "nezha.example.com",
        ),
        ("https://Nezha.EXAMPLE.com", "https://nezha.example.com", "nezha.example.com"),
        ("HTTPS://nezha.example.com", "https://nezha.example.com", "nezha.example.com"),
        (
            "https://nezha.example.com:443",
            "https://nezha.example.com",
            "nezha.example.com",
        ),
        (
            "http://nezha.example.com:80/",
            "http://nezha.example.com",
            "nezha.example.com",
        ),
        (
            "http://nezha.example.com:443",
            "http://nezha.example.com:443",
            "nezha.example.com:443",
        ),
        ("http://10.0.0.5:8008/", "http://10.0.0.5:8008", "10.0.0.5:8008"),
        ("https://example.com/nezha/", "https://example.com/nezha", "example.com"),
        (
            "https://EXAMPLE.com/Nezha/Panel//",
            "https://example.com/Nezha/Panel",
            "example.com",
        ),
        (
            "https://example.com/nezha?x=1#top",
            "https://example.com/nezha",
            "example.com",
        ),
        ("  https://example.com/  ", "https://example.com", "example.com"),
        ("http://[::1]:8008/", "http://[::1]:8008", "[::1]:8008"),
    ],
)
def test_normalize_url(raw: str, expected: str, title: str) -> None:
    """Canonical URL and the entry title derived from it."""
    assert normalize_url(raw) == expected
    assert normalize_url(expected) == expected  # idempotent
    assert title_for(expected) == title


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "nezha.example.com",
        "nezha.example.com:8008",
        "/nezha",
        "ftp://nezha.example.com",
        "mailto:admin@example.com",
        "http://",
        "http:///path",
        "http://user:pw@nezha.example.com",
        "http://user@nezha.example.com",
        "http://nezha example.com",
        "http://nezha.example.com/my dashboard",
        "http://nezha.example.com:abc",
        "http://nezha.example.com:99999",
        "http://nezha.example.com:0",
        "http://[::1",
        "http://nezha<example.com",
    ],
)
def test_normalize_url_rejects(raw: str) -> None:
    """Anything that is not an http(s) URL with a host is refused."""
    with pytest.raises(InvalidUrlError):
        normalize_url(raw)


# --------------------------------------------------------------------------------
# User step
# --------------------------------------------------------------------------------


async def test_user_flow_creates_working_entry(
    hass: HomeAssistant, simulator: NezhaSimulator
) -> None:
    """The happy path stores the normalised URL and really sets up the entry."""
    result = await start_user_flow(hass)
    assert default(result, CONF_VERIFY_SSL) is True
    assert result["description_placeholders"] == PLACEHOLDERS

    raw_url = " " + simulator.url.replace("http://", "HTTP://") + "/ "
    result = await submit(hass, result, user_input(raw_url, f" {TOKEN} "))
    await hass.async_block_till_done(wait_background_tasks=True)

    assert result["type"] is FlowResultType.CREATE_ENTRY
    port = simulator.url.rsplit(":", 1)[1]
    assert result["title"] == f"127.0.0.1:{port}"
    assert result["data"] == entry_data(simulator.url)
    # Detected anonymously first, then tested with the raw token as Authorization.
    assert simulator.requests[0].path == PROBE_PATH
    assert anonymous_probes(simulator) == 1
    assert simulator.requests[1].path == LIST_PATH
    assert list_requests(simulator)[0] == TOKEN
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert len(devices) == 6  # five servers and the dashboard


async def test_user_flow_keeps_sub_path(
    hass: HomeAssistant, serve: Serve, mock_setup_entry: AsyncMock
) -> None:
    """A dashboard served below a sub-path is tested and stored with it."""
    dashboard = FakeDashboard(prefix="/nezha")
    base = await serve(dashboard.app())

    result = await start_user_flow(hass)
    result = await submit(hass, result, user_input(f"{base}/nezha/"))

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_URL] == f"{base}/nezha"
    # The probe goes below the sub-path too, without a token.
    assert dashboard.seen == [
        (f"/nezha{PROBE_PATH}", None),
        (f"/nezha{LIST_PATH}", TOKEN),
    ]
    assert len(mock_setup_entry.mock_calls) == 1


async def _recover(
    hass: HomeAssistant, result: ConfigResult, simulator: NezhaSimulator
) -> None:
    """Fix the input and finish the same flow."""
    result = await submit(hass, result, user_input(simulator.url))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == entry_data(simulator.url)


@pytest.mark.parametrize(
    ("url", "placeholders"),
    [
        ("nezha.example.com", PLACEHOLDERS),
        ("ftp://nezha.example.com", PLACEHOLDERS),
        ("http://user:pw@nezha.example.com", PLACEHOLDERS),
        ("http://nezha example.com", PLACEHOLDERS),
    ],
)
@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_flow_invalid_url(
    hass: HomeAssistant,
    simulator: NezhaSimulator,
    url: str,
    placeholders: dict[str, str],
) -> None:
    """An unusable URL is refused without any request, then corrected."""
    result = await start_user_flow(hass)
    result = await submit(hass, result, user_input(url))
    assert_form_error(result, "user", "invalid_url")
    assert result["description_placeholders"] == placeholders
    # The form keeps what the user typed, except the token.
    assert suggested(result, CONF_URL) == url
    assert suggested(result, CONF_API_TOKEN) is None
    assert simulator.requests == []
    await _recover(hass, result, simulator)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_flow_cannot_connect(
    hass: HomeAssistant, simulator: NezhaSimulator
) -> None:
    """Nothing listening on the port."""
    result = await start_user_flow(hass)
    result = await submit(hass, result, user_input(closed_port_url()))
    assert_form_error(result, "user", "cannot_connect")
    await _recover(hass, result, simulator)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_flow_invalid_auth(
    hass: HomeAssistant, simulator: NezhaSimulator
) -> None:
    """A wrong token: the dashboard answers HTTP 200 with code 403."""
    result = await start_user_flow(hass)
    result = await submit(hass, result, user_input(simulator.url, WRONG_TOKEN))
    assert_form_error(result, "user", "invalid_auth")
    assert list_requests(simulator) == [WRONG_TOKEN]
    assert anonymous_probes(simulator) == 1
    await _recover(hass, result, simulator)


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.HTML_200, "not_nezha"),
        (Fault.NOT_JSON, "not_nezha"),
        (Fault.EMPTY_200, "not_nezha"),
        (Fault.TRUNCATED_JSON, "not_nezha"),
        (Fault.HTML_502, "cannot_connect"),
        (Fault.SERVER_500_EMPTY, "cannot_connect"),
        (Fault.RESET, "cannot_connect"),
    ],
)
@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_flow_dashboard_faults(
    hass: HomeAssistant,
    simulator: NezhaSimulator,
    fault: Fault,
    error: str,
) -> None:
    """What a proxy, an SSO portal or a crashing dashboard answers."""
    # Until cleared: aiohttp retries a GET once when the connection is reset.
    simulator.inject_fault(fault, count=None, path=LIST_PATH)
    result = await start_user_flow(hass)
    result = await submit(hass, result, user_input(simulator.url))
    assert_form_error(result, "user", error)
    simulator.clear_faults()
    await _recover(hass, result, simulator)


def _html_page() -> web.Response:
    return web.Response(
        text="<!DOCTYPE html><html><body><h1>My blog</h1></body></html>",
        content_type="text/html",
    )


def _v1_not_found() -> web.Response:
    # v1's answer to an unknown API route, here for every path, the probe too: it
    # looks like v1 but is no dashboard the probe recognises.
    return web.json_response({"error": "404 Not Found"}, status=404)


def _json_not_nezha() -> web.Response:
    return web.json_response({"status": "ok", "servers": []})


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (_html_page, "not_nezha"),
        (_json_not_nezha, "not_nezha"),
        (_v1_not_found, "unsupported_version"),
    ],
    ids=["html_site", "other_json_api", "v1_style_404s"],
)
@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_flow_not_a_v0_dashboard(
    hass: HomeAssistant,
    simulator: NezhaSimulator,
    serve: Serve,
    response: Callable[[], web.Response],
    error: str,
) -> None:
    """Another web site, another JSON API or a v1 dashboard."""
    other = await serve(static_app(response))
    result = await start_user_flow(hass)
    result = await submit(hass, result, user_input(other))
    assert_form_error(result, "user", error)
    await _recover(hass, result, simulator)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_flow_redirect_is_not_followed(
    hass: HomeAssistant,
    simulator: NezhaSimulator,
    serve: Serve,
) -> None:
    """A redirect to another origin is reported; the token never goes there."""
    elsewhere = FakeDashboard()
    target = await serve(elsewhere.app())
    proxy = await serve(
        static_app(
            lambda: web.Response(
                status=301, headers={"Location": f"{target}{LIST_PATH}?a=1"}
            )
        )
    )

    result = await start_user_flow(hass)
    result = await submit(hass, result, user_input(proxy))
    assert_form_error(result, "user", "redirected")
    # Already the anonymous probe is redirected: nothing follows it, not even
    # the authenticated request to the proxy itself.
    assert result["description_placeholders"] == {
        **PLACEHOLDERS,
        "location": f"{target}{LIST_PATH}",
    }
    assert elsewhere.seen == []
    await _recover(hass, result, simulator)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_flow_tls_verification_failed(
    hass: HomeAssistant, tls_dashboard: _TLSDashboard
) -> None:
    """A self-signed certificate fails verification; turning it off works."""
    url = f"https://127.0.0.1:{tls_dashboard.server_address[1]}"

    result = await start_user_flow(hass)
    result = await submit(hass, result, user_input(url))
    assert_form_error(result, "user", "tls_failed")
    assert tls_dashboard.seen == []  # the handshake failed before any request

    result = await submit(hass, result, user_input(url, verify_ssl=False))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == entry_data(url, verify_ssl=False)
    assert tls_dashboard.seen == [(PROBE_PATH, None), (LIST_PATH, TOKEN)]


@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_flow_unknown_error(
    hass: HomeAssistant,
    simulator: NezhaSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An unexpected exception is shown as "unknown" and logged with its traceback."""
    result = await start_user_flow(hass)
    with patch.object(
        NezhaV0Client, "async_list_servers", side_effect=RuntimeError("boom")
    ):
        result = await submit(hass, result, user_input(simulator.url))
    assert_form_error(result, "user", "unknown")
    assert "Unexpected error while validating the dashboard" in caplog.text
    assert "RuntimeError: boom" in caplog.text
    await _recover(hass, result, simulator)


@pytest.mark.parametrize(
    "typed",
    [
        "https://nezha.example.com",
        "https://nezha.example.com/",
        "HTTPS://Nezha.Example.COM",
        "https://nezha.example.com:443/",
    ],
)
@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_flow_already_configured(hass: HomeAssistant, typed: str) -> None:
    """The same dashboard, however it is spelled, aborts before any request."""
    MockConfigEntry(
        domain=DOMAIN, data=entry_data("https://nezha.example.com")
    ).add_to_hass(hass)
    result = await start_user_flow(hass)
    with patch.object(NezhaV0Client, "async_list_servers") as list_servers:
        result = await submit(hass, result, user_input(typed))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    list_servers.assert_not_called()


@pytest.mark.usefixtures("mock_setup_entry")
async def test_user_flow_other_dashboard_is_not_a_duplicate(
    hass: HomeAssistant, simulator: NezhaSimulator
) -> None:
    """Another sub-path on the same host is another dashboard."""
    MockConfigEntry(
        domain=DOMAIN, data=entry_data(f"{simulator.url}/other")
    ).add_to_hass(hass)
    result = await start_user_flow(hass)
    result = await submit(hass, result, user_input(simulator.url))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert len(hass.config_entries.async_entries(DOMAIN)) == 2


# --------------------------------------------------------------------------------
# Reauth
# --------------------------------------------------------------------------------


async def test_reauth_after_token_rotation(
    hass: HomeAssistant, simulator: NezhaSimulator, init_integration: MockConfigEntry
) -> None:
    """A rejected token starts reauth; a wrong token is refused, the new one reloads."""
    entry = init_integration
    old_coordinator = entry.runtime_data
    simulator.set_token(NEW_TOKEN)
    await old_coordinator.async_refresh()
    await hass.async_block_till_done(wait_background_tasks=True)

    flows = list(entry.async_get_active_flows(hass, {SOURCE_REAUTH}))
    assert len(flows) == 1
    flow_id = flows[0]["flow_id"]
    simulator.reset_requests()

    # Still the old token: refused, and asked for again.
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_API_TOKEN: TOKEN}
    )
    assert_form_error(result, "reauth_confirm", "invalid_auth")
    assert result["description_placeholders"]["name"] == entry.title

    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_API_TOKEN: NEW_TOKEN}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done(wait_background_tasks=True)

    assert entry.data == entry_data(simulator.url, NEW_TOKEN)
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data is not old_coordinator  # reloaded
    assert entry.runtime_data.last_update_success
    details = [r for r in simulator.requests if r.path == "/api/v1/server/details"]
    assert details
    assert {r.headers["Authorization"] for r in details} == {NEW_TOKEN}


async def test_reauth_form_sends_nothing_until_submitted(
    hass: HomeAssistant, simulator: NezhaSimulator, init_integration: MockConfigEntry
) -> None:
    """The reauth form asks for the token only and names the entry."""
    simulator.reset_requests()
    result = await init_integration.start_reauth_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert result["description_placeholders"] == {
        **PLACEHOLDERS,
        "name": init_integration.title,
    }
    assert [str(marker) for marker in result["data_schema"].schema] == [CONF_API_TOKEN]
    assert simulator.requests == []


@pytest.mark.parametrize(
    ("fault", "error"),
    [(Fault.RESET, "cannot_connect"), (Fault.HTML_200, "not_nezha")],
)
@pytest.mark.usefixtures("mock_setup_entry")
async def test_reauth_errors_then_recovery(
    hass: HomeAssistant,
    simulator: NezhaSimulator,
    fault: Fault,
    error: str,
) -> None:
    """Reauth maps dashboard failures to errors and succeeds afterwards."""
    entry = MockConfigEntry(domain=DOMAIN, data=entry_data(simulator.url, WRONG_TOKEN))
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    simulator.inject_fault(fault, count=None, path=LIST_PATH)

    result = await submit(hass, result, {CONF_API_TOKEN: TOKEN})
    assert_form_error(result, "reauth_confirm", error)
    simulator.clear_faults()

    result = await submit(hass, result, {CONF_API_TOKEN: TOKEN})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_API_TOKEN] == TOKEN
    assert set(list_requests(simulator)) == {TOKEN}


# --------------------------------------------------------------------------------
# Reconfigure
# --------------------------------------------------------------------------------


async def test_reconfigure_to_another_dashboard(
    hass: HomeAssistant, simulator: NezhaSimulator, init_integration: MockConfigEntry
) -> None:
    """New URL and token; the entry reloads against the new dashboard, entities stay."""
    entry = init_integration
    hass.config_entries.async_update_entry(entry, title=title_for(simulator.url))
    registry = er.async_get(hass)
    unique_ids = {
        e.unique_id for e in er.async_entries_for_config_entry(registry, entry.entry_id)
    }

    async with NezhaSimulator(servers=5, token=NEW_TOKEN, seed=1) as moved:
        result = await entry.start_reconfigure_flow(hass)
        assert result["type"] is FlowResultType.FORM
        assert result["step_id"] == "reconfigure"
        assert suggested(result, CONF_URL) == simulator.url
        assert suggested(result, CONF_VERIFY_SSL) is True
        assert suggested(result, CONF_API_TOKEN) is None  # never echoed

        result = await submit(hass, result, user_input(moved.url + "/", NEW_TOKEN))
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done(wait_background_tasks=True)

        assert entry.data == entry_data(moved.url, NEW_TOKEN)
        assert entry.title == title_for(moved.url)
        assert entry.state is ConfigEntryState.LOADED
        assert entry.runtime_data.client.base_url == moved.url
        # Re-detected anonymously; the token only went with the real requests.
        assert moved.requests[0].path == PROBE_PATH
        assert anonymous_probes(moved) == 1
        assert {
            r.headers.get("Authorization")
            for r in moved.requests
            if r.path != PROBE_PATH
        } == {NEW_TOKEN}
        assert unique_ids == {
            e.unique_id
            for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        }
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_keeps_token_and_custom_title(
    hass: HomeAssistant, simulator: NezhaSimulator, init_integration: MockConfigEntry
) -> None:
    """An empty token field keeps the stored token; the same URL is no duplicate."""
    entry = init_integration
    custom_title = entry.title
    assert custom_title != title_for(simulator.url)

    for token_field in ({}, {CONF_API_TOKEN: ""}, {CONF_API_TOKEN: "   "}):
        old_coordinator = entry.runtime_data
        result = await entry.start_reconfigure_flow(hass)
        result = await submit(
            hass,
            result,
            {CONF_URL: simulator.url, CONF_VERIFY_SSL: False, **token_field},
        )
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done(wait_background_tasks=True)

        assert entry.data == entry_data(simulator.url, TOKEN, verify_ssl=False)
        assert entry.title == custom_title
        assert entry.state is ConfigEntryState.LOADED
        assert entry.runtime_data is not old_coordinator
    assert set(list_requests(simulator)) == {TOKEN}
    assert anonymous_probes(simulator) == 3  # re-detected on every reconfigure


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reconfigure_to_url_of_another_entry(
    hass: HomeAssistant, simulator: NezhaSimulator
) -> None:
    """Pointing an entry at a dashboard another entry has aborts."""
    MockConfigEntry(
        domain=DOMAIN, data=entry_data("https://nezha.example.com")
    ).add_to_hass(hass)
    entry = MockConfigEntry(domain=DOMAIN, data=entry_data(simulator.url))
    entry.add_to_hass(hass)

    result = await entry.start_reconfigure_flow(hass)
    result = await submit(hass, result, user_input("HTTPS://Nezha.example.com/"))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data[CONF_URL] == simulator.url
    assert simulator.requests == []


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        (lambda sim: user_input("nezha.example.com", verify_ssl=False), "invalid_url"),
        (lambda sim: user_input(closed_port_url(), verify_ssl=False), "cannot_connect"),
        (
            lambda sim: user_input(sim.url, WRONG_TOKEN, verify_ssl=False),
            "invalid_auth",
        ),
    ],
    ids=["invalid_url", "cannot_connect", "invalid_auth"],
)
async def test_reconfigure_error_then_recovery(
    hass: HomeAssistant,
    simulator: NezhaSimulator,
    mock_setup_entry: AsyncMock,
    typed: Callable[[NezhaSimulator], dict[str, Any]],
    error: str,
) -> None:
    """The form comes back with the typed values (not the token), then succeeds."""
    entry = MockConfigEntry(
        domain=DOMAIN, title=title_for(simulator.url), data=entry_data(simulator.url)
    )
    entry.add_to_hass(hass)
    data = typed(simulator)

    result = await entry.start_reconfigure_flow(hass)
    result = await submit(hass, result, data)
    assert_form_error(result, "reconfigure", error)
    assert suggested(result, CONF_URL) == data[CONF_URL]
    assert suggested(result, CONF_VERIFY_SSL) is False
    assert suggested(result, CONF_API_TOKEN) is None
    assert result["description_placeholders"] == PLACEHOLDERS
    assert entry.data == entry_data(simulator.url)

    result = await submit(
        hass, result, {CONF_URL: simulator.url, CONF_VERIFY_SSL: True}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == entry_data(simulator.url)
    assert len(mock_setup_entry.mock_calls) == 1  # reloaded once, after success


# --------------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------------


async def test_options_flow_defaults_and_groups(
    hass: HomeAssistant, simulator: NezhaSimulator, init_integration: MockConfigEntry
) -> None:
    """Defaults are shown and the group dropdown lists the dashboard's tags."""
    simulator.reset_requests()
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    assert default(result, CONF_SCAN_INTERVAL) == 30
    assert default(result, CONF_OFFLINE_THRESHOLD) == 60
    assert default(result, CONF_PING_INTERVAL) == 300
    assert default(result, CONF_SERVER_GROUP) == ALL_GROUPS
    assert select_options(result, CONF_SERVER_GROUP) == [
        ALL_GROUPS,
        "tag:Lab",
        "tag:Production",
    ]
    assert list_requests(simulator) == [TOKEN]


async def test_options_flow_saves_and_reloads(
    hass: HomeAssistant, simulator: NezhaSimulator, init_integration: MockConfigEntry
) -> None:
    """New options reload the entry; the coordinator polls with them."""
    entry = init_integration
    old_coordinator = entry.runtime_data
    result = await hass.config_entries.options.async_init(entry.entry_id)
    simulator.reset_requests()
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_SCAN_INTERVAL: 15.0,
            CONF_OFFLINE_THRESHOLD: 120.0,
            CONF_PING_INTERVAL: 600.0,
            CONF_SERVER_GROUP: "tag:Lab",
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    expected = {
        CONF_SCAN_INTERVAL: 15,
        CONF_OFFLINE_THRESHOLD: 120,
        CONF_PING_INTERVAL: 600,
        CONF_SERVER_GROUP: "tag:Lab",
    }
    assert result["data"] == expected
    await hass.async_block_till_done(wait_background_tasks=True)

    assert entry.options == expected
    coordinator = entry.runtime_data
    assert coordinator is not old_coordinator
    assert coordinator.update_interval == timedelta(seconds=15)
    assert coordinator.offline_threshold == 120
    assert coordinator.ping_interval == 600
    assert coordinator.tag == "Lab"
    assert [
        r.query for r in simulator.requests if r.path == "/api/v1/server/details"
    ] == [{"tag": "Lab"}]
    assert set(coordinator.data.servers) == {3}  # gpu-box is the only Lab server

    # The next options form preselects the stored values.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert default(result, CONF_SCAN_INTERVAL) == 15
    assert default(result, CONF_SERVER_GROUP) == "tag:Lab"
    assert select_options(result, CONF_SERVER_GROUP) == [
        ALL_GROUPS,
        "tag:Lab",
        "tag:Production",
    ]


async def test_options_flow_unchanged_does_not_reload(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Saving the options again as they are keeps the running coordinator."""
    entry = init_integration
    options = {
        CONF_SCAN_INTERVAL: 30,
        CONF_OFFLINE_THRESHOLD: 60,
        CONF_PING_INTERVAL: 300,
        CONF_SERVER_GROUP: ALL_GROUPS,
    }
    coordinators = [entry.runtime_data]
    for _ in range(2):
        result = await hass.config_entries.options.async_init(entry.entry_id)
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], options
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done(wait_background_tasks=True)
        assert entry.state is ConfigEntryState.LOADED
        coordinators.append(entry.runtime_data)
    assert entry.options == options
    # The first save stored explicit values (a change from none): one reload.
    assert coordinators[1] is not coordinators[0]
    assert coordinators[2] is coordinators[1]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (CONF_SCAN_INTERVAL, 5),
        (CONF_OFFLINE_THRESHOLD, 5),
        (CONF_PING_INTERVAL, 30),
        (CONF_SERVER_GROUP, "tag:Nonexistent"),
    ],
)
async def test_options_flow_rejects_out_of_range(
    hass: HomeAssistant, init_integration: MockConfigEntry, key: str, value: Any
) -> None:
    """Values below the minimum or groups not offered are refused by the schema."""
    result = await hass.config_entries.options.async_init(init_integration.entry_id)
    data = {
        CONF_SCAN_INTERVAL: 30,
        CONF_OFFLINE_THRESHOLD: 60,
        CONF_PING_INTERVAL: 300,
        CONF_SERVER_GROUP: ALL_GROUPS,
        key: value,
    }
    with pytest.raises(InvalidData):
        await hass.config_entries.options.async_configure(result["flow_id"], data)
    assert init_integration.options == {}


@pytest.mark.parametrize(
    ("options", "offered"),
    [
        ({}, [ALL_GROUPS]),
        ({CONF_SERVER_GROUP: "tag:Lab"}, [ALL_GROUPS, "tag:Lab"]),
    ],
)
async def test_options_flow_entry_not_loaded(
    hass: HomeAssistant,
    simulator: NezhaSimulator,
    options: dict[str, str],
    offered: list[str],
) -> None:
    """Without a loaded entry no request is made: only "all" and the current group."""
    entry = MockConfigEntry(
        domain=DOMAIN, data=entry_data(simulator.url), options=options
    )
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert select_options(result, CONF_SERVER_GROUP) == offered
    assert default(result, CONF_SERVER_GROUP) == offered[-1]
    assert simulator.requests == []


@pytest.mark.parametrize("fault", [Fault.RESET, Fault.HTML_502, Fault.HTML_200])
async def test_options_flow_dashboard_unreachable(
    hass: HomeAssistant,
    simulator: NezhaSimulator,
    init_integration: MockConfigEntry,
    fault: Fault,
) -> None:
    """Groups cannot be listed: "all" and the current group are still offered."""
    entry = init_integration
    hass.config_entries.async_update_entry(
        entry, options={CONF_SERVER_GROUP: "tag:Gone"}
    )
    simulator.inject_fault(fault, count=None, path=LIST_PATH)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert select_options(result, CONF_SERVER_GROUP) == [ALL_GROUPS, "tag:Gone"]
    assert default(result, CONF_SERVER_GROUP) == "tag:Gone"
