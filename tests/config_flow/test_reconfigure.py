"""The reconfigure flow: another URL or token for an entry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from unittest.mock import AsyncMock

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_API_TOKEN, CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.nezha.const import DOMAIN
from custom_components.nezha.validation import title_for
from nezha_dev.simulator import NezhaSimulator
from tests.config_flow.helpers import (
    NEW_TOKEN,
    PLACEHOLDERS,
    PROBE_PATH,
    WRONG_TOKEN,
    anonymous_probes,
    assert_form_error,
    closed_port_url,
    entry_data,
    list_requests,
    submit,
    suggested,
    user_input,
)
from tests.conftest import TOKEN

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
