"""Config, reauth, reconfigure and options flows against the simulated v1/v2 dashboard.

Every validation starts with the anonymous ``GET /api/v1/setting`` probe; a token
that cannot fit the detected generation is refused before it is sent, so it
never costs the user's IP a WAF strike.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from typing import Any
from unittest.mock import AsyncMock, patch

from homeassistant.config_entries import (
    SOURCE_REAUTH,
    SOURCE_USER,
    ConfigEntryState,
    ConfigFlowResult,
)
from homeassistant.const import CONF_API_TOKEN, CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.nezha.const import CONF_API_GENERATION, CONF_SERVER_GROUP, DOMAIN
from custom_components.nezha.coordinator_v1 import NezhaStreamCoordinator
from nezha_dev.simulator import NezhaSimulator
from tests.conftest import TOKEN, register_secret

PAT = register_secret("nzp_Q1w2E3r4T5y6U7i8O9p0A1s2D3f4G5h6")
NEW_PAT = register_secret("nzp_Z9x8C7v6B5n4M3l2K1j0H9g8F7d6S5a4")
UNKNOWN_PAT = register_secret("nzp_Unkn0wnT0kenUnkn0wnT0kenUnkn0wnX")
INVENTORY, SERVICE, SERVER = (
    "nezha:inventory:read",
    "nezha:service:read",
    "nezha:server:read",
)
PROBE = "/api/v1/setting"
PLACEHOLDERS = {
    "example_url": "https://nezha.example.com",
    "scopes": f"{INVENTORY}, {SERVICE}, {SERVER}",
    # Optional: only the task buttons need them; never checked by the flow.
    "cron_scopes": "nezha:cron:read, nezha:cron:exec",
}

type MakeSim = Callable[..., Awaitable[NezhaSimulator]]


# -- helpers -------------------------------------------------------------------------


def form(url: str, token: str, *, verify_ssl: bool = True) -> dict[str, Any]:
    """Data of the user (and reconfigure) step."""
    return {CONF_URL: url, CONF_API_TOKEN: token, CONF_VERIFY_SSL: verify_ssl}


def v1_data(url: str, token: str = PAT) -> dict[str, Any]:
    """What an entry of a v1 dashboard stores."""
    return {**form(url, token), CONF_API_GENERATION: "v1"}


async def start(hass: HomeAssistant) -> ConfigFlowResult:
    """Open the user step."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    return result


async def submit(
    hass: HomeAssistant, result: ConfigFlowResult, data: dict[str, Any]
) -> ConfigFlowResult:
    """Submit the form of a config flow."""
    return await hass.config_entries.flow.async_configure(result["flow_id"], data)


def assert_error(result: ConfigFlowResult, step: str, error: str) -> None:
    """The form comes back with one base error and the usual placeholders."""
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == step
    assert result["errors"] == {"base": error}
    assert PLACEHOLDERS.items() <= result["description_placeholders"].items()


def sent_with(sim: NezhaSimulator, token: str) -> list[str]:
    """Paths of the requests whose Authorization header carried ``token``."""
    return [r.path for r in sim.requests if token in r.headers.get("Authorization", "")]


def assert_probe_only(sim: NezhaSimulator) -> None:
    """The simulator saw the anonymous probe and nothing else."""
    assert [(r.path, r.headers.get("Authorization")) for r in sim.requests] == [
        (PROBE, None)
    ]


def assert_created_v1(
    result: ConfigFlowResult, sim: NezhaSimulator, token: str
) -> None:
    """The flow created a v1 entry; the token went with every request but the probe."""
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == v1_data(sim.url, token)
    assert sim.requests[0].path == PROBE
    assert "Authorization" not in sim.requests[0].headers
    assert {r.headers.get("Authorization") for r in sim.requests[1:]} == {
        f"Bearer {token}"
    }


# -- fixtures ------------------------------------------------------------------------


@pytest.fixture
def mock_setup_entry() -> Generator[AsyncMock]:
    """Skip the real setup in tests that only exercise the flow."""
    with patch("custom_components.nezha.async_setup_entry", return_value=True) as mock:
        yield mock


@pytest.fixture
async def make_sim(socket_enabled: None) -> AsyncGenerator[MakeSim]:
    """Start v1 simulators (main token ``PAT``); all are stopped after the test."""
    started: list[NezhaSimulator] = []

    async def make(**kwargs: Any) -> NezhaSimulator:
        sim = NezhaSimulator(generation="v1", servers=5, seed=1, token=PAT, **kwargs)
        sim.ws_interval = 0.2
        await sim.start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        await sim.stop()


@pytest.fixture
async def v1(make_sim: MakeSim) -> NezhaSimulator:
    """A current (2.3.7) v1 dashboard."""
    return await make_sim()


# -- user step -----------------------------------------------------------------------


async def test_detects_v1_and_sets_up(hass: HomeAssistant, v1: NezhaSimulator) -> None:
    """A personal token on a v2.3 dashboard: detected, stored as v1, streaming."""
    result = await start(hass)
    assert result["description_placeholders"] == PLACEHOLDERS
    result = await submit(hass, result, form(v1.url + "/", PAT))
    assert_created_v1(result, v1, PAT)
    assert [r.path for r in v1.requests[:4]] == [
        PROBE,
        "/api/v1/server",
        "/api/v1/server-group",
        "/api/v1/service",
    ]
    assert v1.waf_strikes() == 0
    await hass.async_block_till_done()

    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    assert isinstance(entry.runtime_data, NezhaStreamCoordinator)
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert len(devices) == 6  # five servers and the dashboard
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


@pytest.mark.usefixtures("mock_setup_entry")
async def test_v0_token_on_v1_is_never_sent(
    hass: HomeAssistant, v1: NezhaSimulator
) -> None:
    """A v0-style token would cost a WAF strike: refused after the probe alone."""
    result = await submit(hass, await start(hass), form(v1.url, TOKEN))
    assert_error(result, "user", "token_not_personal")
    assert_probe_only(v1)
    assert sent_with(v1, TOKEN) == []
    assert v1.waf_strikes() == 0

    v1.reset_requests()
    result = await submit(hass, result, form(v1.url, PAT))
    assert_created_v1(result, v1, PAT)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_personal_token_on_v0_is_never_sent(
    hass: HomeAssistant, simulator: NezhaSimulator
) -> None:
    """An nzp_ token on a v0 dashboard is refused after the probe (HTML 404)."""
    result = await submit(hass, await start(hass), form(simulator.url, PAT))
    assert_error(result, "user", "personal_token_on_v0")
    assert_probe_only(simulator)

    result = await submit(hass, result, form(simulator.url, TOKEN))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {**form(simulator.url, TOKEN), CONF_API_GENERATION: "v0"}
    assert sent_with(simulator, PAT) == []


@pytest.mark.parametrize(
    ("version", "sent"),
    [
        ("1.14.14", []),  # no tsdb_enabled in /setting: refused without a request
        ("2.0.5", ["/api/v1/server"]),  # the JWT middleware's 200 ApiErrorUnauthorized
    ],
)
@pytest.mark.usefixtures("mock_setup_entry")
async def test_dashboard_too_old(
    hass: HomeAssistant, make_sim: MakeSim, version: str, sent: list[str]
) -> None:
    """Dashboards before v2.1.0 have no personal tokens; after an update it works."""
    old = await make_sim(version=version)
    result = await submit(hass, await start(hass), form(old.url, PAT))
    assert_error(result, "user", "dashboard_too_old")
    assert [r.path for r in old.requests] == [PROBE, *sent]
    assert sent_with(old, PAT) == sent
    assert old.waf_strikes() == 0

    updated = await make_sim()
    result = await submit(hass, result, form(updated.url, PAT))
    assert_created_v1(result, updated, PAT)


@pytest.mark.parametrize(
    ("granted", "missing", "paths"),
    [
        ((INVENTORY, SERVER), SERVICE, ["/server", "/server-group", "/service"]),
        ((SERVICE, SERVER), INVENTORY, ["/server"]),
    ],
)
@pytest.mark.usefixtures("mock_setup_entry")
async def test_missing_scope(
    hass: HomeAssistant,
    v1: NezhaSimulator,
    granted: tuple[str, ...],
    missing: str,
    paths: list[str],
) -> None:
    """A 403 "lacks scope" names the scope; it is no strike; a full token works."""
    narrow = register_secret(v1.add_token(scopes=granted))
    result = await submit(hass, await start(hass), form(v1.url, narrow))
    assert_error(result, "user", "missing_scope")
    assert result["description_placeholders"]["scope"] == missing
    assert sent_with(v1, narrow) == [f"/api/v1{path}" for path in paths]
    assert v1.waf_strikes() == 0

    v1.reset_requests()
    result = await submit(hass, result, form(v1.url, PAT))
    assert_created_v1(result, v1, PAT)


@pytest.mark.parametrize("expired", [False, True])
@pytest.mark.usefixtures("mock_setup_entry")
async def test_invalid_token_costs_one_strike(
    hass: HomeAssistant, v1: NezhaSimulator, expired: bool
) -> None:
    """One request with the bad token, one strike; the 3 s ban is explained."""
    bad = UNKNOWN_PAT
    if expired:
        bad = register_secret(v1.add_token(expires_in=60))
        v1.shift_clock(61)
    result = await submit(hass, await start(hass), form(v1.url, bad))
    assert_error(result, "user", "invalid_auth")
    assert sent_with(v1, bad) == ["/api/v1/server"]
    assert v1.waf_strikes() == 1

    # Retried at once, even with the right token: the IP is banned for 3 s. The
    # probe sees the block page, so the token is not sent and no strike is added.
    v1.reset_requests()
    result = await submit(hass, result, form(v1.url, PAT))
    assert_error(result, "user", "waf_blocked")
    assert_probe_only(v1)
    assert v1.waf_strikes() == 1

    v1.shift_clock(4)  # the ban of max(3, 1**4) s is over
    v1.reset_requests()
    result = await submit(hass, result, form(v1.url, PAT))
    assert_created_v1(result, v1, PAT)
    assert v1.waf_strikes() == 0  # a valid token clears the token strikes


@pytest.mark.usefixtures("mock_setup_entry")
async def test_waf_blocked_ip(hass: HomeAssistant, v1: NezhaSimulator) -> None:
    """An admin's manual block: explained, nothing sent; works once cleared."""
    v1.block_ip()
    result = await submit(hass, await start(hass), form(v1.url, PAT))
    assert_error(result, "user", "waf_blocked")
    assert_probe_only(v1)

    v1.clear_waf()
    v1.reset_requests()
    result = await submit(hass, result, form(v1.url, PAT))
    assert_created_v1(result, v1, PAT)


@pytest.mark.usefixtures("mock_setup_entry")
async def test_real_ip_header_missing(hass: HomeAssistant, v1: NezhaSimulator) -> None:
    """A dashboard that expects a proxy header answers even the probe with an error."""
    v1.real_ip_header = "X-Real-IP"
    result = await submit(hass, await start(hass), form(v1.url, PAT))
    assert_error(result, "user", "real_ip_header")
    assert_probe_only(v1)

    v1.waf_enabled = True  # back to the peer address
    v1.reset_requests()
    result = await submit(hass, result, form(v1.url, PAT))
    assert_created_v1(result, v1, PAT)


# -- reauth --------------------------------------------------------------------------


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reauth_on_v1(hass: HomeAssistant, v1: NezhaSimulator) -> None:
    """Each refusal is explained; a v0 token is not sent; the new PAT is stored."""
    v1.revoke_token()
    entry = MockConfigEntry(domain=DOMAIN, data=v1_data(v1.url))
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    assert result["errors"] == {}
    assert v1.requests == []

    result = await submit(hass, result, {CONF_API_TOKEN: TOKEN})
    assert_error(result, "reauth_confirm", "token_not_personal")
    assert_probe_only(v1)

    result = await submit(hass, result, {CONF_API_TOKEN: PAT})  # the revoked one
    assert_error(result, "reauth_confirm", "invalid_auth")
    assert sent_with(v1, PAT) == ["/api/v1/server"]
    assert v1.waf_strikes() == 1

    v1.shift_clock(4)
    new = register_secret(v1.add_token(token=NEW_PAT))
    result = await submit(hass, result, {CONF_API_TOKEN: f" {new} "})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data == v1_data(v1.url, NEW_PAT)


async def test_reauth_after_waf_ban_explains_it(
    hass: HomeAssistant, v1: NezhaSimulator
) -> None:
    """Set up while banned: one refused request, then a reauth form naming the ban."""
    v1.block_ip()
    entry = MockConfigEntry(domain=DOMAIN, data=v1_data(v1.url))
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert [r.path for r in v1.requests] == ["/api/v1/server"]

    flows = list(entry.async_get_active_flows(hass, {SOURCE_REAUTH}))
    assert len(flows) == 1
    result = await hass.config_entries.flow.async_configure(flows[0]["flow_id"])
    assert_error(result, "reauth_confirm", "waf_blocked")
    assert len(v1.requests) == 1  # showing the form sent nothing

    v1.clear_waf()
    result = await submit(hass, result, {CONF_API_TOKEN: PAT})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


# -- reconfigure ---------------------------------------------------------------------


async def test_reconfigure_from_v0_to_v1(
    hass: HomeAssistant, simulator: NezhaSimulator, v1: NezhaSimulator
) -> None:
    """Moving an entry to a v1 dashboard re-detects: the stored v0 token is not sent."""
    entry = MockConfigEntry(
        domain=DOMAIN, data={**form(simulator.url, TOKEN), CONF_API_GENERATION: "v0"}
    )
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    # The token field left empty keeps the stored v0 token, which cannot fit.
    result = await submit(hass, result, {CONF_URL: v1.url, CONF_VERIFY_SSL: True})
    assert_error(result, "reconfigure", "token_not_personal")
    assert_probe_only(v1)

    v1.reset_requests()
    result = await submit(hass, result, form(v1.url, PAT))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.data == v1_data(v1.url)
    assert entry.state is ConfigEntryState.LOADED
    assert isinstance(entry.runtime_data, NezhaStreamCoordinator)
    assert simulator.requests == []
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reconfigure_from_v1_to_v0(
    hass: HomeAssistant, simulator: NezhaSimulator, v1: NezhaSimulator
) -> None:
    """And back: the nzp_ token is refused by the v0 dashboard's probe, TOKEN works."""
    entry = MockConfigEntry(domain=DOMAIN, data=v1_data(v1.url))
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    result = await submit(
        hass, result, {CONF_URL: simulator.url, CONF_VERIFY_SSL: True}
    )
    assert_error(result, "reconfigure", "personal_token_on_v0")
    assert_probe_only(simulator)

    result = await submit(hass, result, form(simulator.url, TOKEN))
    assert result["type"] is FlowResultType.ABORT
    assert entry.data == {**form(simulator.url, TOKEN), CONF_API_GENERATION: "v0"}
    assert v1.requests == []


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reconfigure_v1_keeps_stored_pat(
    hass: HomeAssistant, v1: NezhaSimulator
) -> None:
    """Same dashboard, empty token field: re-detected as v1, the stored PAT is used."""
    entry = MockConfigEntry(domain=DOMAIN, data=v1_data(v1.url))
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    result = await submit(hass, result, {CONF_URL: v1.url, CONF_VERIFY_SSL: False})
    assert result["reason"] == "reconfigure_successful"
    assert entry.data == {**v1_data(v1.url), CONF_VERIFY_SSL: False}
    assert sent_with(v1, PAT) == [
        "/api/v1/server",
        "/api/v1/server-group",
        "/api/v1/service",
    ]


# -- options -------------------------------------------------------------------------


async def test_options_groups_from_v1(hass: HomeAssistant, v1: NezhaSimulator) -> None:
    """The group dropdown lists the v1 server groups; a choice filters the fleet."""
    entry = MockConfigEntry(domain=DOMAIN, data=v1_data(v1.url))
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    result = await hass.config_entries.options.async_init(entry.entry_id)
    selector = next(
        value
        for key, value in result["data_schema"].schema.items()
        if key == CONF_SERVER_GROUP
    )
    assert [o["value"] for o in selector.config["options"]] == [
        "all",
        "tag:Lab",
        "tag:Production",
    ]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "scan_interval": 10,
            "offline_threshold": 60,
            "ping_interval": 300,
            CONF_SERVER_GROUP: "tag:Production",
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert set(entry.runtime_data.data.servers) == {1, 2, 5}
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
