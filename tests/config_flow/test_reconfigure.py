"""The reconfigure flow: another URL or token for an entry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from unittest.mock import AsyncMock

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_API_TOKEN, CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.nezha.const import DOMAIN
from custom_components.nezha.coordinator_v1 import NezhaStreamCoordinator
from custom_components.nezha.validation import title_for
from nezha_dev.simulator import NezhaSimulator
from tests.config_flow.helpers import (
    MISFIT,
    NEW_TOKEN,
    PROBE_PATH,
    TOKENS,
    WRONG_TOKEN,
    anonymous_probes,
    assert_aborted,
    assert_form_error,
    assert_probe_only,
    auth,
    authed,
    closed_port_url,
    entry_data,
    submit,
    suggested,
    user_input,
)


async def test_reconfigure_to_another_dashboard(
    hass: HomeAssistant, simulator: NezhaSimulator, init_integration: MockConfigEntry
) -> None:
    """New URL and token; the entry reloads against the new dashboard, entities stay."""
    entry = init_integration
    hass.config_entries.async_update_entry(entry, title=title_for(simulator.url))
    registry = er.async_get(hass)

    def unique_ids() -> set[str]:
        return {
            e.unique_id
            for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        }

    before = unique_ids()
    async with NezhaSimulator(servers=5, token=NEW_TOKEN, seed=1) as moved:
        result = await entry.start_reconfigure_flow(hass)
        assert result["step_id"] == "reconfigure"
        assert suggested(result, CONF_URL) == simulator.url
        assert suggested(result, CONF_VERIFY_SSL) is True
        assert suggested(result, CONF_API_TOKEN) is None  # never echoed

        result = await submit(hass, result, user_input(moved.url + "/", NEW_TOKEN))
        assert_aborted(result, "reconfigure_successful")
        await hass.async_block_till_done(wait_background_tasks=True)
        assert entry.data == entry_data(moved.url, NEW_TOKEN)
        assert entry.title == title_for(moved.url)
        assert entry.state is ConfigEntryState.LOADED
        assert entry.runtime_data.client.base_url == moved.url
        # Re-detected anonymously; the token only went with the real requests.
        assert moved.requests[0].path == PROBE_PATH
        assert anonymous_probes(moved) == 1
        assert authed(moved) == {NEW_TOKEN}
        assert unique_ids() == before
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_keeps_token_and_custom_title(
    hass: HomeAssistant, gen: str, sims: dict, loaded: MockConfigEntry
) -> None:
    """An empty token field keeps the stored token; the same URL is no duplicate."""
    sim, entry = sims[gen], loaded
    custom_title = entry.title
    assert custom_title != title_for(sim.url)
    sim.reset_requests()
    for token_field in ({}, {CONF_API_TOKEN: ""}, {CONF_API_TOKEN: "   "}):
        old_coordinator = entry.runtime_data
        result = await entry.start_reconfigure_flow(hass)
        result = await submit(
            hass, result, {CONF_URL: sim.url, CONF_VERIFY_SSL: False, **token_field}
        )
        assert_aborted(result, "reconfigure_successful")
        await hass.async_block_till_done(wait_background_tasks=gen == "v0")
        assert entry.data == entry_data(sim.url, TOKENS[gen], gen, verify_ssl=False)
        assert entry.title == custom_title
        assert entry.state is ConfigEntryState.LOADED
        assert entry.runtime_data is not old_coordinator
    assert authed(sim) == {auth(gen, TOKENS[gen])}
    assert anonymous_probes(sim) == 3  # re-detected on every reconfigure


async def test_reconfigure_to_the_other_generation(
    hass: HomeAssistant, gen: str, sims: dict[str, NezhaSimulator]
) -> None:
    """Moving across generations re-detects: the kept token is refused after the probe."""
    new = MISFIT[gen][0]
    entry = MockConfigEntry(
        domain=DOMAIN, data=entry_data(sims[gen].url, TOKENS[gen], gen)
    )
    entry.add_to_hass(hass)
    target = sims[new]
    result = await entry.start_reconfigure_flow(hass)
    result = await submit(hass, result, {CONF_URL: target.url, CONF_VERIFY_SSL: True})
    assert_form_error(result, "reconfigure", MISFIT[new][1])
    assert_probe_only(target)

    target.reset_requests()
    result = await submit(hass, result, user_input(target.url, TOKENS[new]))
    assert_aborted(result, "reconfigure_successful")
    await hass.async_block_till_done()
    assert entry.data == entry_data(target.url, TOKENS[new], new)
    assert entry.state is ConfigEntryState.LOADED
    assert isinstance(entry.runtime_data, NezhaStreamCoordinator) == (new == "v1")
    assert authed(target) == {auth(new, TOKENS[new])}
    assert sims[gen].requests == []


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
    assert_aborted(result, "already_configured")
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
    result = await submit(hass, await entry.start_reconfigure_flow(hass), data)
    assert_form_error(result, "reconfigure", error)
    assert suggested(result, CONF_URL) == data[CONF_URL]
    assert suggested(result, CONF_VERIFY_SSL) is False
    assert suggested(result, CONF_API_TOKEN) is None
    assert entry.data == entry_data(simulator.url)

    result = await submit(
        hass, result, {CONF_URL: simulator.url, CONF_VERIFY_SSL: True}
    )
    assert_aborted(result, "reconfigure_successful")
    assert entry.data == entry_data(simulator.url)
    assert len(mock_setup_entry.mock_calls) == 1  # reloaded once, after success
