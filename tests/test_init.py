"""Setup, unload, setup failures and device removal, against the simulator."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.nezha.const import DOMAIN
from custom_components.nezha.coordinator import NezhaCoordinator
from custom_components.nezha.unique_id import dashboard_identifier, server_identifier
from nezha_dev.simulator import Fault, NezhaSimulator
from tests.conftest import ENTRY_ID, register_secret, setup_integration
from tests.helpers import entry_device, ha_at_least, v0_entry

ROTATED_TOKEN = register_secret("r0tatedT0kenP1o2I3u4Y5t6R7e8W9q0")


def device_of(hass: HomeAssistant, server_id: int | None = None) -> dr.DeviceEntry:
    """The registry device of a simulated server, or of the dashboard."""
    identifier = (
        dashboard_identifier(ENTRY_ID)
        if server_id is None
        else server_identifier(ENTRY_ID, server_id)
    )
    device = entry_device(hass, ENTRY_ID, identifier)
    assert device is not None
    return device


async def remove_device(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, device_id: str
) -> dict[str, Any]:
    """Ask for a device's removal the way the UI does; it is gone if that succeeded."""
    assert await async_setup_component(hass, "config", {})
    client = await hass_ws_client(hass)
    if ha_at_least("2026.8"):
        command = {"type": "config/device_registry/remove", "device_id": device_id}
    else:  # the per-entry command, deprecated since devices have a single entry
        command = {
            "type": "config/device_registry/remove_config_entry",
            "device_id": device_id,
            "config_entry_id": ENTRY_ID,
        }
    await client.send_json_auto_id(command)
    response: dict[str, Any] = await client.receive_json()
    gone = dr.async_get(hass).async_get(device_id) is None
    assert gone is response["success"], response
    return response


# -- setup and unload --------------------------------------------------------------


async def test_setup_and_unload(
    hass: HomeAssistant, simulator: NezhaSimulator, init_integration: MockConfigEntry
) -> None:
    """Setup loads the platforms; unload stops polling and ping fetching."""
    entry = init_integration
    assert entry.state is ConfigEntryState.LOADED
    coordinator = entry.runtime_data
    assert isinstance(coordinator, NezhaCoordinator)
    assert coordinator.last_update_success
    assert set(coordinator.data.servers) == {1, 2, 3, 4, 5}

    entities = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    assert {e.domain for e in entities} == {"sensor", "binary_sensor"}
    online = next(
        e.entity_id
        for e in entities
        if e.unique_id == f"{server_identifier(ENTRY_ID, 1)}_online"
    )
    assert hass.states.get(online).state == "on"

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert not hasattr(entry, "runtime_data")
    assert hass.states.get(online).state == STATE_UNAVAILABLE

    simulator.reset_requests()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=30))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert simulator.requests == []


async def test_no_repair_issue_after_unload(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A round or poll that ends after the unload cannot raise an issue again."""
    issues = init_integration.runtime_data.issues
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    issues.set("too_many_monitors", {"count": "1", "servers": "srv", "limit": "50"})
    registry = ir.async_get(hass)
    assert registry.async_get_issue(DOMAIN, f"too_many_monitors_{ENTRY_ID}") is None


@pytest.mark.parametrize(
    "fault", [Fault.RESET, Fault.HTML_502, Fault.HTML_200, Fault.TRUNCATED_JSON]
)
async def test_setup_retry_then_recovers(
    hass: HomeAssistant,
    simulator: NezhaSimulator,
    config_entry: MockConfigEntry,
    fault: Fault,
) -> None:
    """A failing dashboard puts the entry in setup retry; it loads once it answers."""
    simulator.inject_fault(fault, count=None)
    config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_RETRY
    assert not hass.config_entries.flow.async_progress()

    simulator.clear_faults()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=5))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert config_entry.state is ConfigEntryState.LOADED


async def test_setup_retry_when_dashboard_is_down(
    hass: HomeAssistant, simulator: NezhaSimulator, config_entry: MockConfigEntry
) -> None:
    """Nothing listens at the URL any more."""
    await simulator.stop()
    config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_RETRY
    assert "Could not reach the dashboard" in (config_entry.reason or "")


@pytest.mark.parametrize("rotate", [True, False], ids=["rotated", "revoked"])
async def test_setup_auth_failure_starts_reauth(
    hass: HomeAssistant,
    simulator: NezhaSimulator,
    config_entry: MockConfigEntry,
    rotate: bool,
) -> None:
    """A rejected token stops setup and asks the user for a new one."""
    if rotate:
        simulator.set_token(ROTATED_TOKEN)
    else:
        simulator.revoke_token()
    config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()

    assert config_entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress()
    assert len(flows) == 1
    assert flows[0]["handler"] == DOMAIN
    assert flows[0]["step_id"] == "reauth_confirm"
    assert flows[0]["context"]["source"] == SOURCE_REAUTH
    assert flows[0]["context"]["entry_id"] == config_entry.entry_id
    # Only the one details request: no ping history with a rejected token.
    assert [r.path for r in simulator.requests] == ["/api/v1/server/details"]


async def test_setup_two_dashboards(
    hass: HomeAssistant, simulator: NezhaSimulator
) -> None:
    """Two entries run side by side with their own devices."""
    token = register_secret("s3condT0kenA1s2D3f4G5h6J7k8L9z0X")
    async with NezhaSimulator(servers=2, token=token, seed=2) as second:
        first_entry = v0_entry(
            simulator.url, simulator.token, entry_id="01NEZHATESTENTRY00000000C1"
        )
        second_entry = v0_entry(
            second.url, token, entry_id="01NEZHATESTENTRY00000000C2"
        )
        await setup_integration(hass, first_entry)
        await setup_integration(hass, second_entry)
        registry = dr.async_get(hass)
        for entry, devices in ((first_entry, 6), (second_entry, 3)):
            found = dr.async_entries_for_config_entry(registry, entry.entry_id)
            assert len(found) == devices
        assert await hass.config_entries.async_unload(second_entry.entry_id)
        assert first_entry.state is ConfigEntryState.LOADED


# -- device removal ----------------------------------------------------------------


@pytest.mark.parametrize("server_id", [1, None], ids=["server", "dashboard"])
async def test_remove_device_of_existing_server_is_refused(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    init_integration: MockConfigEntry,
    server_id: int | None,
) -> None:
    """A server the dashboard lists keeps its device; the dashboard's lives with the entry."""
    response = await remove_device(hass, hass_ws_client, device_of(hass, server_id).id)
    assert not response["success"]
    assert "rejected by integration" in response["error"]["message"]


async def test_remove_device_of_vanished_server(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    simulator: NezhaSimulator,
    init_integration: MockConfigEntry,
) -> None:
    """Deleted on the dashboard: the user need not wait for the next poll."""
    device = device_of(hass, 4)
    simulator.remove_server(4)
    simulator.reset_requests()
    assert (await remove_device(hass, hass_ws_client, device.id))["success"]
    assert er.async_entries_for_device(er.async_get(hass), device.id) == []
    assert dr.async_get(hass).async_get(device_of(hass, 1).id) is not None
    # Checked with one fresh, unfiltered request.
    assert [(r.path, r.query) for r in simulator.requests] == [
        ("/api/v1/server/details", {})
    ]


async def test_remove_device_of_server_outside_the_group_filter(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    simulator: NezhaSimulator,
    config_entry: MockConfigEntry,
) -> None:
    """A filtered poll does not list every server; the check is unfiltered."""
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        config_entry, options={"server_group": "tag:Lab"}
    )
    await setup_integration(hass, config_entry)
    assert set(config_entry.runtime_data.data.servers) == {3}
    # A device left from before the filter, of a server that still exists.
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=ENTRY_ID,
        identifiers={(DOMAIN, server_identifier(ENTRY_ID, 1))},
        name="hk-edge-01",
    )

    assert not (await remove_device(hass, hass_ws_client, device.id))["success"]


@pytest.mark.parametrize(
    "field",
    ["host", "id"],
    ids=["record_of_server_unreadable", "id_of_some_record_unreadable"],
)
async def test_remove_device_refused_when_answer_is_partial(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    simulator: NezhaSimulator,
    init_integration: MockConfigEntry,
    field: str,
) -> None:
    """A record that cannot be read might be the server: its device is kept."""
    simulator.remove_server(4)
    simulator.set_malformed(2, field, "garbage")  # neither an object nor an id
    await init_integration.runtime_data.async_refresh()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert 2 not in init_integration.runtime_data.data.servers

    device = device_of(hass, 2 if field == "host" else 4)
    assert not (await remove_device(hass, hass_ws_client, device.id))["success"]


@pytest.mark.parametrize("present", [True, False], ids=["present", "gone"])
async def test_remove_device_while_entry_not_loaded(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    simulator: NezhaSimulator,
    init_integration: MockConfigEntry,
    present: bool,
) -> None:
    """An unloaded entry asks the dashboard too (it used to crash)."""
    device = device_of(hass, 1)
    if not present:
        simulator.remove_server(1)
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()

    response = await remove_device(hass, hass_ws_client, device.id)
    assert response["success"] is not present


@pytest.mark.parametrize("fault", [Fault.RESET, Fault.HTML_200])
@pytest.mark.usefixtures("init_integration")
async def test_remove_device_refused_when_dashboard_fails(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    simulator: NezhaSimulator,
    caplog: pytest.LogCaptureFixture,
    fault: Fault,
) -> None:
    """Without an answer, nothing is deleted."""
    device = device_of(hass, 4)
    simulator.remove_server(4)
    simulator.inject_fault(fault, count=None)

    assert not (await remove_device(hass, hass_ws_client, device.id))["success"]
    assert "could not check that server 4 is gone" in caplog.text
