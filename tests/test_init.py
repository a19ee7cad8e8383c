"""Setup, unload, dashboard entity ids, setup failures and device removal."""

from dataclasses import dataclass
from datetime import timedelta

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util, slugify
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.nezha.const import DOMAIN
from custom_components.nezha.coordinator import NezhaCoordinator
from custom_components.nezha.unique_id import server_identifier
from nezha_dev.simulator import Fault, NezhaSimulator
from tests.conftest import ENTRY_ID, register_secret, setup_integration
from tests.helpers import (
    DETAILS,
    ENTRY_TITLE,
    entity_id,
    entry_device,
    ha_at_least,
    paths,
    state,
    v0_entry,
)

ROTATED_TOKEN = register_secret("r0tatedT0kenP1o2I3u4Y5t6R7e8W9q0")
SECOND_ID = "01NEZHATESTENTRY000000000B"
TOKENS = ("rotated", "revoked")  # refused at setup

# Unique-id suffix -> platform and the entity id a new installation gets.
DASHBOARD_ENTITIES = {
    "servers_total": ("sensor", "sensor.nezha_servers"),
    "servers_online": ("sensor", "sensor.nezha_servers_online"),
    "servers_offline": ("sensor", "sensor.nezha_servers_offline"),
    "any_offline": ("binary_sensor", "binary_sensor.nezha_any_server_offline"),
}
NEW_IDS = {key: expected for key, (_, expected) in DASHBOARD_ENTITIES.items()}


def dashboard_entity_ids(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, str]:
    """Unique-id suffix -> entity id of the entry's dashboard entities."""
    return {
        key: entity_id(hass, entry, key, platform) or ""
        for key, (platform, _) in DASHBOARD_ENTITIES.items()
    }


def device_of(hass: HomeAssistant, server_id: int | None = None) -> dr.DeviceEntry:
    """The registry device of a simulated server, or of the dashboard."""
    suffix = "" if server_id is None else f"_{server_id}"
    device = entry_device(hass, ENTRY_ID, ENTRY_ID + suffix)
    assert device is not None
    return device


# -- setup and unload --------------------------------------------------------------


async def test_setup_two_dashboards_and_unload(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Setup: platforms, nezha_* dashboard ids; a second dashboard beside (own devices,
    _2 ids) unloads with its polls, pings and issues, leaving the first running."""
    first = init_integration
    assert first.state is ConfigEntryState.LOADED
    assert isinstance(first.runtime_data, NezhaCoordinator)
    assert first.runtime_data.last_update_success
    assert set(first.runtime_data.data.servers) == {1, 2, 3, 4, 5}
    entities = er.async_entries_for_config_entry(er.async_get(hass), first.entry_id)
    assert {e.domain for e in entities} == {"sensor", "binary_sensor"}
    assert state(hass, first, "1_online", "binary_sensor").state == "on"
    assert dashboard_entity_ids(hass, first) == NEW_IDS
    assert all(hass.states.get(expected) for expected in NEW_IDS.values())
    # Server entities keep naming by their device (the server's name).
    assert entity_id(hass, first, "1_cpu_usage") == "sensor.hk_edge_01_cpu_usage"

    token = register_secret("s3condT0kenA1s2D3f4G5h6J7k8L9z0X")  # its own token
    async with NezhaSimulator(servers=2, token=token, seed=2) as other:
        title = other.url.removeprefix("http://")
        second = v0_entry(other.url, str(other.token), entry_id=SECOND_ID, title=title)
        await setup_integration(hass, second)
        assert dashboard_entity_ids(hass, second) == {
            key: f"{expected}_2" for key, expected in NEW_IDS.items()
        }
        assert dashboard_entity_ids(hass, first) == NEW_IDS
        registry = dr.async_get(hass)
        for entry, devices in ((first, 6), (second, 3)):
            found = dr.async_entries_for_config_entry(registry, entry.entry_id)
            assert len(found) == devices

        coordinator = second.runtime_data
        online = state(hass, second, "1_online", "binary_sensor").entity_id
        assert await hass.config_entries.async_unload(second.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
        assert second.state is ConfigEntryState.NOT_LOADED
        assert not hasattr(second, "runtime_data")
        assert hass.states.get(online).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
        # A round or poll that ends after the unload cannot raise an issue again.
        coordinator.issues.set(
            "too_many_monitors", {"count": "1", "servers": "srv", "limit": "50"}
        )
        issue = f"too_many_monitors_{SECOND_ID}"
        assert ir.async_get(hass).async_get_issue(DOMAIN, issue) is None
        other.reset_requests()
        async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=30))
        await hass.async_block_till_done(wait_background_tasks=True)
        assert other.requests == []
        assert first.state is ConfigEntryState.LOADED


async def test_existing_installation_keeps_its_ids(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """Entities registered with the old device-name ids keep them after setup."""
    registry = er.async_get(hass)
    config_entry.add_to_hass(hass)
    old_ids = {}
    for key, (platform, expected) in DASHBOARD_ENTITIES.items():
        # What earlier versions got: the device name (the title) as prefix.
        old = f"{platform}.{slugify(ENTRY_TITLE)}_{expected.split('.nezha_')[1]}"
        entry = registry.async_get_or_create(
            platform,
            DOMAIN,
            f"{config_entry.entry_id}_{key}",
            config_entry=config_entry,
            suggested_object_id=old.split(".")[1],
            has_entity_name=True,
        )
        assert entry.entity_id == old
        old_ids[key] = old
    assert old_ids["servers_online"] == "sensor.nezha_test_dashboard_servers_online"

    await setup_integration(hass, config_entry)
    assert dashboard_entity_ids(hass, config_entry) == old_ids
    assert all(hass.states.get(old) is not None for old in old_ids.values())
    assert hass.states.get("sensor.nezha_servers_online") is None

    # And across a reload, which adds the entities again.
    assert await hass.config_entries.async_reload(config_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert dashboard_entity_ids(hass, config_entry) == old_ids


@pytest.mark.parametrize(
    "failure",
    [None, Fault.RESET, Fault.HTML_502, Fault.HTML_200, Fault.TRUNCATED_JSON, *TOKENS],
)
async def test_setup_failure(
    hass: HomeAssistant,
    simulator: NezhaSimulator,
    config_entry: MockConfigEntry,
    failure: Fault | str | None,
) -> None:
    """No listener (None) or a fault: retry till it answers; a refused token: reauth."""
    if failure is None:
        await simulator.stop()
    elif isinstance(failure, Fault):
        simulator.inject_fault(failure, count=None)
    elif failure == "rotated":
        simulator.set_token(ROTATED_TOKEN)
    else:
        simulator.revoke_token()
    config_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    if failure in TOKENS:
        assert config_entry.state is ConfigEntryState.SETUP_ERROR
        (flow,) = hass.config_entries.flow.async_progress()
        assert (flow["handler"], flow["step_id"]) == (DOMAIN, "reauth_confirm")
        assert flow["context"]["source"] == SOURCE_REAUTH
        assert flow["context"]["entry_id"] == config_entry.entry_id
        # Only the one details request: no ping history with a rejected token.
        assert paths(simulator) == [DETAILS]
        return
    assert config_entry.state is ConfigEntryState.SETUP_RETRY
    assert not hass.config_entries.flow.async_progress()
    if failure is None:
        assert "Could not reach the dashboard" in (config_entry.reason or "")
        return
    simulator.clear_faults()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=5))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert config_entry.state is ConfigEntryState.LOADED


# -- device removal ----------------------------------------------------------------


@dataclass(frozen=True)
class Removal:
    """A device removal: what happened on the dashboard first, and the outcome."""

    device: int | None  # a server id, or None for the dashboard's device
    removed: bool = False
    gone: int | None = None  # deleted on the dashboard
    malformed: str | None = None  # this field of server 2's record is unreadable
    unload: bool = False
    fault: Fault | None = None
    group: str | None = None  # reloaded with this group filter first


REMOVALS = {
    # A server the dashboard lists keeps its device; the dashboard's lives with the entry.
    "server": Removal(1),
    "dashboard": Removal(None),
    # Deleted on the dashboard: the user need not wait for the next poll.
    "vanished": Removal(4, removed=True, gone=4),
    # A record that cannot be read (neither an object nor an id) might be the server.
    "record_of_server_unreadable": Removal(2, gone=4, malformed="host"),
    "id_of_some_record_unreadable": Removal(4, gone=4, malformed="id"),
    # An unloaded entry asks the dashboard too (it used to crash).
    "unloaded_present": Removal(1, unload=True),
    "unloaded_gone": Removal(1, removed=True, gone=1, unload=True),
    # Without an answer, nothing is deleted.
    "dashboard_fails_reset": Removal(4, gone=4, fault=Fault.RESET),
    "dashboard_fails_html_200": Removal(4, gone=4, fault=Fault.HTML_200),
    # A filtered poll does not list every server; the check is unfiltered.
    "outside_the_group_filter": Removal(1, group="tag:Lab"),
}


@pytest.mark.parametrize("case", REMOVALS.values(), ids=REMOVALS.keys())
@pytest.mark.usefixtures("init_integration")
async def test_remove_device(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    simulator: NezhaSimulator,
    caplog: pytest.LogCaptureFixture,
    case: Removal,
) -> None:
    """A device is removed only when one fresh, unfiltered answer lacks its server."""
    entry = hass.config_entries.async_get_entry(ENTRY_ID)
    assert entry is not None  # set up by init_integration
    if case.group:
        options = {"server_group": case.group}
        hass.config_entries.async_update_entry(entry, options=options)
        await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
        assert set(entry.runtime_data.data.servers) == {3}
        # A device left from before the filter, of a server that still exists.
        dr.async_get(hass).async_get_or_create(
            config_entry_id=ENTRY_ID,
            identifiers={(DOMAIN, server_identifier(ENTRY_ID, 1))},
            name="hk-edge-01",
        )
    device_id = device_of(hass, case.device).id
    if case.gone:
        simulator.remove_server(case.gone)
    if case.malformed:
        simulator.set_malformed(2, case.malformed, "garbage")
        await entry.runtime_data.async_refresh()
        await hass.async_block_till_done(wait_background_tasks=True)
        assert 2 not in entry.runtime_data.data.servers
    if case.unload:
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
    if case.fault:
        simulator.inject_fault(case.fault, count=None)
    simulator.reset_requests()

    # Asked the way the UI does; the device is gone if that succeeded.
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
    response = await client.receive_json()
    assert response["success"] is case.removed
    assert (dr.async_get(hass).async_get(device_id) is None) is case.removed
    if case.fault:
        assert "could not check that server 4 is gone" in caplog.text
    elif case.removed:
        assert er.async_entries_for_device(er.async_get(hass), device_id) == []
        assert [(r.path, r.query) for r in simulator.requests] == [(DETAILS, {})]
    elif not case.unload:
        assert "rejected by integration" in response["error"]["message"]
    if case.gone == 4:
        assert dr.async_get(hass).async_get(device_of(hass, 1).id) is not None
