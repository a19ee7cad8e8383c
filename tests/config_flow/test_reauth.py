"""The reauth flow: a new token for the same dashboard."""

from __future__ import annotations

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import CONF_API_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.nezha.const import DOMAIN
from nezha_dev.simulator import Fault, NezhaSimulator
from tests.config_flow.helpers import (
    LIST_PATH,
    NEW_TOKEN,
    PLACEHOLDERS,
    WRONG_TOKEN,
    assert_form_error,
    entry_data,
    list_requests,
    submit,
)
from tests.conftest import TOKEN

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
