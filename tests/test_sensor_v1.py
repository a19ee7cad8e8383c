"""The platforms of a v1 entry, from the simulator's frames, with time frozen.

Frozen, the simulator's values are fixed and the stream delivers exactly one
frame until a test moves the clock and fires the timers (then one per 2 s).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from unittest.mock import patch

from homeassistant.const import STATE_ON, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from tests.conftest import setup_integration
from tests.helpers import state
from tests.helpers_v1 import setup_frozen, v1_entry
from tests.simulator import NezhaSimulator
from tests.simulator.services import services_json

GIB = 1024**3
V1_ENTRY_ID = "01NEZHATESTENTRYV100000000B"


pytestmark = pytest.mark.usefixtures("frozen")


@pytest.fixture
async def v1_loaded(
    hass: HomeAssistant, v1_sim: NezhaSimulator
) -> AsyncGenerator[MockConfigEntry]:
    """A v1 entry set up from one frame; unloaded after the test."""
    entry = v1_entry(v1_sim, entry_id=V1_ENTRY_ID)
    await setup_frozen(hass, entry)
    yield entry
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


@pytest.mark.parametrize("platform", [Platform.SENSOR, Platform.BINARY_SENSOR])
@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_snapshot_v1(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    v1_sim: NezhaSimulator,
    platform: Platform,
) -> None:
    """Every entity of a v1 entry: the v0 set plus the dashboard's services."""
    entry = v1_entry(v1_sim, entry_id=V1_ENTRY_ID)
    with patch("custom_components.nezha.PLATFORMS", [platform]):
        await setup_frozen(hass, entry)
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_values_equal_the_simulator(
    hass: HomeAssistant, v1_sim: NezhaSimulator, v1_loaded: MockConfigEntry
) -> None:
    """What the frame carried, converted: percentages, units, pings and services."""
    fleet = v1_sim.fleet
    for sid, server in fleet.servers.items():
        raw, host = fleet.status(sid), server.host
        assert raw is not None

        def value(key: str, sid: int = sid) -> float:
            return float(state(hass, v1_loaded, f"{sid}_{key}").state)

        assert value("cpu_usage") == pytest.approx(raw.cpu)
        assert value("memory_usage") == pytest.approx(
            100 * raw.mem_used / host.mem_total
        )
        assert value("disk_usage") == pytest.approx(
            100 * raw.disk_used / host.disk_total
        )
        assert value("memory_used") == pytest.approx(raw.mem_used / GIB)
        assert value("download_speed") == pytest.approx(raw.net_in_speed * 8 / 1e6)
        assert value("uploaded") == pytest.approx(raw.net_out_transfer / GIB)
        assert value("load_1") == pytest.approx(raw.load1)
        assert value("processes") == raw.process_count
        if raw.temperatures:
            highest = max(t.temperature for t in raw.temperatures)
            assert value("highest_temperature") == highest
        boot = dt_util.utc_from_timestamp(host.boot_time).isoformat()
        assert state(hass, v1_loaded, f"{sid}_last_boot").state == boot
        for series in fleet.ping_history(sid):
            newest = series.avg_delay[-1]
            if newest:  # 0 is a lost probe: unknown
                assert value(f"ping_{series.monitor.id}") == pytest.approx(newest)

    services = services_json(fleet, v1_sim.now(), v1_sim.v1.failing)
    for key, service in services.items():
        up, down = service["up"][-1], service["down"][-1]
        availability = state(hass, v1_loaded, f"service_{key}_availability").state
        assert float(availability) == pytest.approx(100 * up / (up + down), abs=1e-3)
        assert (
            state(hass, v1_loaded, f"service_{key}_up", "binary_sensor").state
            == STATE_ON
        )


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_same_fleet_same_states_as_v0(
    hass: HomeAssistant, v1_sim: NezhaSimulator, config_entry: MockConfigEntry
) -> None:
    """One fleet served as v0 and as v1 gives the same server entity states."""
    await setup_integration(hass, config_entry)  # v0 first: it waits for its tasks
    v1 = v1_entry(v1_sim, entry_id=V1_ENTRY_ID)
    await setup_frozen(hass, v1)

    def states(entry: MockConfigEntry) -> dict[str, str]:
        registry = er.async_get(hass)
        found = {}
        for item in er.async_entries_for_config_entry(registry, entry.entry_id):
            key = item.unique_id.removeprefix(f"{entry.entry_id}_")
            current = hass.states.get(item.entity_id)
            if key.split("_", 1)[0].isdigit() and current is not None:
                found[key] = current.state
        return found

    v0_states, v1_states = states(config_entry), states(v1)
    # Only v1 shows public notes and traffic quotas.
    v1_only = {
        key: value
        for key, value in v1_states.items()
        if key.split("_", 1)[1] in ("expiry", "plan") or "_quota_" in key
    }
    assert len(v1_only) > 10 and not v1_only.keys() & v0_states.keys()
    assert len(v1_states) > 100
    assert {k: v for k, v in v1_states.items() if k not in v1_only} == v0_states
    for entry in (v1, config_entry):
        assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
