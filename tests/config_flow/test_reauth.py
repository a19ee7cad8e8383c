"""The reauth flow: a new token for the same dashboard."""

from __future__ import annotations

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import CONF_API_TOKEN
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.nezha.const import DOMAIN
from nezha_dev.simulator import Fault, NezhaSimulator
from tests.config_flow.helpers import (
    LIST_PATH,
    MISFIT,
    NEW_PAT,
    NEW_TOKEN,
    PLACEHOLDERS,
    TOKENS,
    WRONG_TOKEN,
    assert_aborted,
    assert_form_error,
    assert_probe_only,
    authed,
    entry_data,
    submit,
)
from tests.helpers import PAT, TOKEN

NEW = {"v0": NEW_TOKEN, "v1": NEW_PAT}
FIRST = {"v0": LIST_PATH, "v1": "/api/v1/server"}


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reauth_refusals_then_new_token(
    hass: HomeAssistant, gen: str, sims: dict[str, NezhaSimulator]
) -> None:
    """The form names the entry; each refusal is explained; the new token is stored."""
    sim, old = sims[gen], TOKENS[gen]
    if gen == "v0":
        sim.set_token(NEW[gen])
    else:
        sim.revoke_token()
        sim.add_token(token=NEW[gen])
    entry = MockConfigEntry(
        domain=DOMAIN, title="Home", data=entry_data(sim.url, old, gen)
    )
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    assert result["errors"] == {}
    assert result["description_placeholders"] == {**PLACEHOLDERS, "name": "Home"}
    assert [str(marker) for marker in result["data_schema"].schema] == [CONF_API_TOKEN]
    assert sim.requests == []  # nothing is sent until submitted

    # A token of the other generation is not even sent.
    other, error = MISFIT[gen]
    result = await submit(hass, result, {CONF_API_TOKEN: TOKENS[other]})
    assert_form_error(result, "reauth_confirm", error, name="Home")
    assert_probe_only(sim)

    result = await submit(hass, result, {CONF_API_TOKEN: old})  # the refused one
    assert_form_error(result, "reauth_confirm", "invalid_auth", name="Home")
    assert [r.path for r in sim.requests if r.headers.get("Authorization")] == [
        FIRST[gen]
    ]
    if gen == "v1":
        assert sim.waf_strikes() == 1
        sim.shift_clock(4)  # past the ban of the one strike

    result = await submit(hass, result, {CONF_API_TOKEN: f" {NEW[gen]} "})
    assert_aborted(result, "reauth_successful")
    assert entry.data == entry_data(sim.url, NEW[gen], gen)


async def test_reauth_after_token_rotation(
    hass: HomeAssistant, simulator: NezhaSimulator, init_integration: MockConfigEntry
) -> None:
    """A rejected token starts reauth; the new one reloads the entry, which polls with it."""
    entry = init_integration
    old_coordinator = entry.runtime_data
    simulator.set_token(NEW_TOKEN)
    await old_coordinator.async_refresh()
    await hass.async_block_till_done(wait_background_tasks=True)

    flows = list(entry.async_get_active_flows(hass, {SOURCE_REAUTH}))
    assert len(flows) == 1
    simulator.reset_requests()
    result = await submit(hass, flows[0], {CONF_API_TOKEN: NEW_TOKEN})
    assert_aborted(result, "reauth_successful")
    await hass.async_block_till_done(wait_background_tasks=True)

    assert entry.data == entry_data(simulator.url, NEW_TOKEN)
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data is not old_coordinator  # reloaded
    assert entry.runtime_data.last_update_success
    details = [r for r in simulator.requests if r.path == "/api/v1/server/details"]
    assert details
    assert {r.headers["Authorization"] for r in details} == {NEW_TOKEN}


async def test_reauth_after_waf_ban_explains_it(
    hass: HomeAssistant, v1: NezhaSimulator
) -> None:
    """Set up while banned: one refused request, then a reauth form naming the ban."""
    v1.block_ip()
    entry = MockConfigEntry(domain=DOMAIN, data=entry_data(v1.url, PAT, "v1"))
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert [r.path for r in v1.requests] == ["/api/v1/server"]

    flows = list(entry.async_get_active_flows(hass, {SOURCE_REAUTH}))
    assert len(flows) == 1
    result = await submit(hass, flows[0])
    assert_form_error(result, "reauth_confirm", "waf_blocked", name=entry.title)
    assert len(v1.requests) == 1  # showing the form sent nothing

    v1.clear_waf()
    result = await submit(hass, result, {CONF_API_TOKEN: PAT})
    assert_aborted(result, "reauth_successful")
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


@pytest.mark.parametrize(
    ("fault", "error"),
    [(Fault.RESET, "cannot_connect"), (Fault.HTML_200, "not_nezha")],
)
@pytest.mark.usefixtures("mock_setup_entry")
async def test_reauth_errors_then_recovery(
    hass: HomeAssistant, simulator: NezhaSimulator, fault: Fault, error: str
) -> None:
    """Reauth maps dashboard failures to errors and succeeds afterwards."""
    entry = MockConfigEntry(domain=DOMAIN, data=entry_data(simulator.url, WRONG_TOKEN))
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    simulator.inject_fault(fault, count=None, path=LIST_PATH)
    result = await submit(hass, result, {CONF_API_TOKEN: TOKEN})
    assert_form_error(result, "reauth_confirm", error, name=entry.title)
    simulator.clear_faults()

    result = await submit(hass, result, {CONF_API_TOKEN: TOKEN})
    assert_aborted(result, "reauth_successful")
    assert entry.data[CONF_API_TOKEN] == TOKEN
    assert authed(simulator) == {TOKEN}
