"""The user step (and reconfigure, which validates alike) and URL normalisation.

Stand-ins are what the simulator cannot be; only an unexpected exception is mocked.
On v1 every refused token is a WAF strike, so a token that cannot fit is never sent.
"""

import asyncio
from collections.abc import Callable
from pathlib import Path
import socket
from typing import Any, NamedTuple
from unittest.mock import AsyncMock, patch

from aiohttp import web
from homeassistant.config_entries import ConfigEntryState, ConfigFlowResult
from homeassistant.const import CONF_API_TOKEN, CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.nezha import async_setup_entry
from custom_components.nezha.client import NezhaV0Client
from custom_components.nezha.const import DOMAIN
from custom_components.nezha.coordinator import NezhaCoordinator
from custom_components.nezha.coordinator_v1 import NezhaStreamCoordinator
from custom_components.nezha.validation import InvalidUrlError, normalize_url, title_for
from nezha_dev.simulator import Fault, NezhaSimulator
from tests.config_flow.helpers import (
    LIST_PATH,
    MISFIT,
    PLACEHOLDERS,
    PROBE_PATH,
    SCOPES,
    TOKENS,
    UNKNOWN_PAT,
    WRONG_TOKEN,
    FakeDashboard,
    MakeSim,
    Serve,
    add_entry,
    anonymous_probes,
    assert_aborted,
    assert_form_error,
    assert_probe_only,
    auth,
    authed,
    default,
    entry_data,
    sent_with,
    start_user_flow,
    static_app,
    submit,
    suggested,
    user_input,
)
from tests.helpers import PAT, TOKEN, register_secret
from tests.tls import tls_server

pytestmark = pytest.mark.usefixtures("mock_setup_entry")
H = "nezha.example.com"
COORDINATOR = {"v0": NezhaCoordinator, "v1": NezhaStreamCoordinator}
# What the validation asks, in order: the anonymous probe, then with the token.
VALIDATION = {
    "v0": [PROBE_PATH, LIST_PATH],
    "v1": [PROBE_PATH, "/api/v1/server", "/api/v1/server-group", "/api/v1/service"],
}


async def recover(
    hass: HomeAssistant, result: ConfigFlowResult, sim: NezhaSimulator, gen: str = "v0"
) -> None:
    """Corrected, the same flow creates the entry; the token goes with all but the probe."""
    sim.reset_requests()
    result = await submit(hass, result, user_input(sim.url, TOKENS[gen]))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == entry_data(sim.url, TOKENS[gen], gen)
    assert [r.path for r in sim.requests] == VALIDATION[gen]
    assert authed(sim) == {auth(gen, TOKENS[gen])}


async def start(
    hass: HomeAssistant, step: str, url: str
) -> tuple[ConfigFlowResult, MockConfigEntry | None]:
    """Open the user step, or the reconfigure step of a new entry for ``url``."""
    if step == "user":
        return await start_user_flow(hass), None
    entry = add_entry(hass, url, title=title_for(url))
    return await entry.start_reconfigure_flow(hass), entry


async def test_user_flow_creates_working_entry(
    hass: HomeAssistant, mock_setup_entry: AsyncMock, gen: str, sims: dict
) -> None:
    """The other generation's token is refused after the probe; the right one sets up."""
    mock_setup_entry.side_effect = async_setup_entry  # the real setup, this once
    sim, token = sims[gen], TOKENS[gen]
    result = await start_user_flow(hass)
    assert default(result, CONF_VERIFY_SSL) is True
    assert result["description_placeholders"] == PLACEHOLDERS
    other, error = MISFIT[gen]
    result = await submit(hass, result, user_input(sim.url, TOKENS[other]))
    assert_form_error(result, "user", error)
    assert_probe_only(sim)

    sim.reset_requests()
    raw_url = " " + sim.url.replace("http://", "HTTP://") + "/ "
    result = await submit(hass, result, user_input(raw_url, f" {token} "))
    await hass.async_block_till_done(wait_background_tasks=gen == "v0")
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == sim.url.removeprefix("http://")
    assert result["data"] == entry_data(sim.url, token, gen)
    assert [r.path for r in sim.requests[: len(VALIDATION[gen])]] == VALIDATION[gen]
    assert anonymous_probes(sim) == 1
    assert authed(sim) == {auth(gen, token)}
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    assert type(entry.runtime_data) is COORDINATOR[gen]
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert len(devices) == 6  # five servers and the dashboard
    if gen == "v1":
        assert sim.waf_strikes() == 0


async def test_user_flow_keeps_sub_path(
    hass: HomeAssistant, serve: Serve, mock_setup_entry: AsyncMock
) -> None:
    """A dashboard below a sub-path is probed (anonymously), tested and stored with it."""
    dashboard = FakeDashboard(prefix="/nezha")
    base = await serve(dashboard.app())
    add_entry(hass, f"{base}/nezha/other")  # another sub-path: another dashboard
    result = await submit(
        hass, await start_user_flow(hass), user_input(f"{base}/nezha/")
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_URL] == f"{base}/nezha"
    sent = [(f"/nezha{PROBE_PATH}", None), (f"/nezha{LIST_PATH}", TOKEN)]
    assert dashboard.seen == sent
    # Another entry, not a duplicate; the first setup sets up both, once each.
    entries = hass.config_entries.async_entries(DOMAIN)
    assert len(entries) == len(mock_setup_entry.mock_calls) == 2
    assert {c.args[1] for c in mock_setup_entry.mock_calls} == set(entries)


HTML = "<!DOCTYPE html><html><body><h1>My blog</h1></body></html>"
FAULTS = {
    "not_nezha": (
        Fault.HTML_200,
        Fault.NOT_JSON,
        Fault.EMPTY_200,
        Fault.TRUNCATED_JSON,
    ),
    "cannot_connect": (Fault.HTML_502, Fault.SERVER_500_EMPTY, Fault.RESET),
}


@pytest.mark.parametrize(
    ("where", "error"),
    [
        *(
            pytest.param(url, "invalid_url", id=url)
            for url in (
                "nezha.example.com",
                "ftp://nezha.example.com",
                "http://user:pw@nezha.example.com",
                "http://nezha example.com",
            )
        ),
        pytest.param("closed", "cannot_connect", id="nothing_listens"),
        # v0 refuses a wrong token with HTTP 200 and code 403.
        pytest.param("wrong_token", "invalid_auth", id="wrong_token"),
        # What a proxy, an SSO portal or a crashing dashboard answers.
        *(pytest.param(f, e, id=f.name) for e, fs in FAULTS.items() for f in fs),
        pytest.param(
            lambda: web.Response(text=HTML, content_type="text/html"),
            "not_nezha",
            id="html_site",
        ),
        pytest.param(
            lambda: web.json_response({"status": "ok", "servers": []}),
            "not_nezha",
            id="other_json_api",
        ),
        # v1's answer to an unknown API route, here for every path, the probe too:
        # it looks like v1 but is no dashboard the probe recognises.
        pytest.param(
            lambda: web.json_response({"error": "404 Not Found"}, status=404),
            "unsupported_version",
            id="v1_style_404s",
        ),
    ],
)
@pytest.mark.parametrize("step", ["user", "reconfigure"])
async def test_error_then_recovery(
    hass: HomeAssistant,
    simulator: NezhaSimulator,
    serve: Serve,
    *,
    mock_setup_entry: AsyncMock,
    step: str,
    where: Any,
    error: str,
) -> None:
    """The form shows the error, keeps what was typed but the token; corrected, it works."""
    url, token, seen = simulator.url, TOKEN, []  # what the simulator gets
    if isinstance(where, Fault):
        # Until cleared: aiohttp retries a GET once when the connection is reset.
        simulator.inject_fault(where, count=None, path=LIST_PATH)
        seen = None
    elif callable(where):
        url = await serve(static_app(where))
    elif where == "closed":
        with socket.socket() as sock:  # bound, never listening: refused
            sock.bind(("127.0.0.1", 0))
            url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    elif where == "wrong_token":
        token = WRONG_TOKEN
        seen = [(PROBE_PATH, None), (LIST_PATH, WRONG_TOKEN)]
    else:
        url = where
    result, entry = await start(hass, step, simulator.url)
    result = await submit(hass, result, user_input(url, token, verify_ssl=False))
    assert_form_error(result, step, error)
    assert suggested(result, CONF_URL) == url
    assert suggested(result, CONF_VERIFY_SSL) is False
    assert suggested(result, CONF_API_TOKEN) is None
    if seen is not None:
        requests = [
            (r.path, r.headers.get("Authorization")) for r in simulator.requests
        ]
        assert requests == seen
    simulator.clear_faults()
    if entry is None:
        await recover(hass, result, simulator)
        return
    assert entry.data == entry_data(simulator.url)
    # Corrected; an empty token field keeps the stored token.
    typed = {CONF_URL: simulator.url, CONF_VERIFY_SSL: True}
    assert_aborted(await submit(hass, result, typed), "reconfigure_successful")
    assert entry.data == entry_data(simulator.url)
    assert len(mock_setup_entry.mock_calls) == 1  # reloaded once, after success


@pytest.mark.parametrize(
    ("status", "location", "shown"),
    [
        (301, "{target}/api/v1/server/list?a=1", "{target}/api/v1/server/list"),
        # Not "cannot connect", and the payload is not echoed.
        (302, "javascript:alert(document.cookie)", "javascript:…"),
        (302, "data:text/html,<script>x()</script>", "data:…"),
        (302, "mailto:admin@example.com", "mailto:…"),
    ],
)
async def test_user_flow_redirect_is_not_followed(
    hass: HomeAssistant,
    simulator: NezhaSimulator,
    serve: Serve,
    *,
    status: int,
    location: str,
    shown: str,
) -> None:
    """A redirect, even to a script, is reported; the token never goes there."""
    elsewhere = FakeDashboard()
    target = await serve(elsewhere.app())
    location, shown = location.format(target=target), shown.format(target=target)
    redirect = {"status": status, "headers": {"Location": location}}
    proxy = await serve(static_app(lambda: web.Response(**redirect)))
    result = await submit(hass, await start_user_flow(hass), user_input(proxy))
    # Already the anonymous probe is redirected: nothing follows it.
    assert_form_error(result, "user", "redirected", location=shown)
    assert elsewhere.seen == []
    await recover(hass, result, simulator)


async def test_user_flow_tls_verification_failed(
    hass: HomeAssistant, socket_enabled: None, tmp_path: Path
) -> None:
    """A self-signed certificate fails verification; turning it off works."""
    dashboard = FakeDashboard()
    async with tls_server(tmp_path, dashboard.app()) as (url, aborted):
        result = await submit(hass, await start_user_flow(hass), user_input(url))
        assert_form_error(result, "user", "tls_failed")
        await asyncio.wait_for(aborted.wait(), 5)  # the flow hung up on it
        assert dashboard.seen == []  # the handshake failed before any request

        result = await submit(hass, result, user_input(url, verify_ssl=False))
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"] == entry_data(url, verify_ssl=False)
        assert dashboard.seen == [(PROBE_PATH, None), (LIST_PATH, TOKEN)]


async def test_user_flow_unknown_error(
    hass: HomeAssistant, simulator: NezhaSimulator, caplog: pytest.LogCaptureFixture
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
    await recover(hass, result, simulator)


@pytest.mark.parametrize("step", ["user", "reconfigure"])
@pytest.mark.parametrize(
    "typed",
    [
        "https://nezha.example.com",
        "https://nezha.example.com/",
        "HTTPS://Nezha.Example.COM",
        "HTTPS://Nezha.example.com/",
        "https://nezha.example.com:443/",
    ],
)
async def test_already_configured(
    hass: HomeAssistant, simulator: NezhaSimulator, step: str, typed: str
) -> None:
    """Another entry's dashboard, however it is spelled, aborts before any request."""
    add_entry(hass, "https://nezha.example.com")
    result, entry = await start(hass, step, simulator.url)
    with patch.object(NezhaV0Client, "async_list_servers") as list_servers:
        result = await submit(hass, result, user_input(typed))
    assert_aborted(result, "already_configured")
    list_servers.assert_not_called()
    assert simulator.requests == []
    if entry is not None:
        assert entry.data[CONF_URL] == simulator.url


# -- v1 only: the WAF, personal-token support and scopes -----------------------------


class Refusal(NamedTuple):
    """A v1 refusal that costs no strike: what the dashboard is, what the form shows."""

    error: str
    sent: list[str]  # what went with the token, below /api/v1
    sim: dict[str, Any] | None = None
    then: Callable[[NezhaSimulator], None] | None = None
    missing: str | None = None  # the scope the form names


@pytest.mark.parametrize(
    "case",
    [
        # No tsdb_enabled in /setting: refused without a request.
        Refusal("dashboard_too_old", [], {"version": "1.14.14"}),
        # The JWT middleware's 200 ApiErrorUnauthorized.
        Refusal("dashboard_too_old", ["/server"], {"version": "2.0.5"}),
        Refusal(
            "missing_scope",
            ["/server", "/server-group", "/service"],
            {"scopes": SCOPES[::2]},
            missing=SCOPES[1],
        ),
        Refusal(
            "missing_scope", ["/server"], {"scopes": SCOPES[1:]}, missing=SCOPES[0]
        ),
        Refusal("waf_blocked", [], then=NezhaSimulator.block_ip),  # an admin's block
        # A dashboard expecting its proxy's header answers even the probe with an error.
        Refusal(
            "real_ip_header",
            [],
            then=lambda s: setattr(s, "real_ip_header", "X-Real-IP"),
        ),
    ],
    ids=["1.14.14", "2.0.5", "no_service_scope", "no_inventory_scope", "ip", "proxy"],
)
async def test_v1_refusal_without_strike(
    hass: HomeAssistant, make_sim: MakeSim, case: Refusal
) -> None:
    """Explained on the form, no WAF strike; a current dashboard and token then work."""
    sim = await make_sim(**(case.sim or {}))
    if case.then:
        case.then(sim)
    result = await submit(hass, await start_user_flow(hass), user_input(sim.url, PAT))
    named = {"scope": case.missing} if case.missing else {}
    assert_form_error(result, "user", case.error, **named)
    assert [r.path for r in sim.requests] == [PROBE_PATH, *sent_with(sim, PAT)]
    assert sent_with(sim, PAT) == [f"/api/v1{path}" for path in case.sent]
    # None added (a manual block counts as 99999 strikes).
    assert sim.waf_strikes() == (99999 if case.error == "waf_blocked" else 0)
    await recover(hass, result, await make_sim(), "v1")


@pytest.mark.parametrize("expired", [False, True])
async def test_invalid_token_costs_one_strike(
    hass: HomeAssistant, v1: NezhaSimulator, expired: bool
) -> None:
    """One request with the bad token, one strike; the 3 s ban is explained."""
    bad = UNKNOWN_PAT
    if expired:
        bad = register_secret(v1.add_token(expires_in=60))
        v1.shift_clock(61)
    result = await submit(hass, await start_user_flow(hass), user_input(v1.url, bad))
    assert_form_error(result, "user", "invalid_auth")
    assert sent_with(v1, bad) == ["/api/v1/server"]
    assert v1.waf_strikes() == 1

    # Retried at once, even with the right token: the IP is banned for 3 s. The
    # probe sees the block page, so the token is not sent and no strike is added.
    v1.reset_requests()
    result = await submit(hass, result, user_input(v1.url, PAT))
    assert_form_error(result, "user", "waf_blocked")
    assert_probe_only(v1)
    assert v1.waf_strikes() == 1

    v1.shift_clock(4)  # the ban of max(3, 1**4) s is over
    await recover(hass, result, v1, "v1")
    assert v1.waf_strikes() == 0  # a valid token clears the token strikes


# -- URL normalisation: what the form accepts, and the entry title it gives ---------


@pytest.mark.parametrize(
    ("raw", "expected", "title"),
    [
        (f"http://{H}", f"http://{H}", H),
        (f"https://{H}/", f"https://{H}", H),
        ("https://Nezha.EXAMPLE.com", f"https://{H}", H),
        (f"HTTPS://{H}", f"https://{H}", H),
        (f"https://{H}:443", f"https://{H}", H),
        (f"http://{H}:80/", f"http://{H}", H),
        (f"http://{H}:443", f"http://{H}:443", f"{H}:443"),
        ("http://10.0.0.5:8008/", "http://10.0.0.5:8008", "10.0.0.5:8008"),
        ("https://example.com/nezha/", "https://example.com/nezha", "example.com"),
        ("https://EXAMPLE.com/Nezha/Panel//", "https://example.com/Nezha/Panel", "example.com"),
        ("https://example.com/nezha?x=1#top", "https://example.com/nezha", "example.com"),
        ("  https://example.com/  ", "https://example.com", "example.com"),
        ("http://[::1]:8008/", "http://[::1]:8008", "[::1]:8008"),
    ],
)  # fmt: skip
def test_normalize_url(raw: str, expected: str, title: str) -> None:
    """Canonical URL and the entry title derived from it."""
    assert normalize_url(raw) == expected
    assert normalize_url(expected) == expected  # idempotent
    assert title_for(expected) == title


@pytest.mark.parametrize(
    "raw",
    [
        "", "   ", H, f"{H}:8008", "/nezha", f"ftp://{H}", "mailto:admin@example.com",
        "http://", "http:///path", f"http://user:pw@{H}", f"http://user@{H}",
        "http://nezha example.com", f"http://{H}/my dashboard", f"http://{H}:abc",
        f"http://{H}:99999", f"http://{H}:0", "http://[::1", "http://nezha<example.com",
    ],
)  # fmt: skip
def test_normalize_url_rejects(raw: str) -> None:
    """Anything that is not an http(s) URL with a host is refused."""
    with pytest.raises(InvalidUrlError):
        normalize_url(raw)
