"""The user flow against the simulator, local stand-in servers and a TLS dashboard.

The simulated dashboard answers the happy paths and most errors. Small local
servers stand in for what it cannot be: an HTML site, another JSON API, a v1
dashboard, a redirecting proxy, a dashboard below a sub-path and one with a
self-signed certificate. Only an unexpected exception is mocked.
"""

from __future__ import annotations

from collections.abc import Callable
from unittest.mock import AsyncMock, patch

from aiohttp import web
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_API_TOKEN, CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.nezha.client import NezhaV0Client
from custom_components.nezha.const import DOMAIN
from nezha_dev.simulator import Fault, NezhaSimulator
from tests.config_flow.helpers import (
    LIST_PATH,
    PLACEHOLDERS,
    PROBE_PATH,
    WRONG_TOKEN,
    ConfigResult,
    FakeDashboard,
    Serve,
    TLSDashboard,
    anonymous_probes,
    assert_form_error,
    closed_port_url,
    default,
    entry_data,
    list_requests,
    start_user_flow,
    static_app,
    submit,
    suggested,
    user_input,
)
from tests.conftest import TOKEN

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
    hass: HomeAssistant, tls_dashboard: TLSDashboard
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
