"""The binary sensors, the online-state semantics and the devices."""

import logging
from typing import Any
from unittest.mock import patch

from homeassistant.const import STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import snapshot_platform
from syrupy.assertion import SnapshotAssertion

from tests.helpers import Dashboard, Harness

NAS, TOKYO = 4, 5

pytestmark = pytest.mark.usefixtures("frozen")


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_binary_sensor_snapshot(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    dashboard: Dashboard,
) -> None:
    """Every binary sensor, its registry entry and its state (v1: services too)."""
    with patch("custom_components.nezha.PLATFORMS", [Platform.BINARY_SENSOR]):
        entry = await dashboard.setup(hass)
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)


FACTS = ("name", "manufacturer", "model", "sw_version", "hw_version", "entry_type")


def _device_facts(device: dr.DeviceEntry, base_url: str) -> dict[str, Any]:
    url = device.configuration_url or ""  # the simulator listens on a random port
    return {
        "identifiers": sorted(device.identifiers),
        "configuration_url": url.replace(base_url, "http://dashboard"),
        "via_device_id": device.via_device_id,
        **{fact: getattr(device, fact) for fact in FACTS},
    }


async def test_devices(nz: Harness, snapshot: SnapshotAssertion) -> None:
    """One device per server with the agent's facts, plus the dashboard service."""
    for sid, server in nz.sim.fleet.servers.items():  # the rules behind the values
        device, host = nz.device(sid), server.host
        assert device is not None
        assert (device.name, device.sw_version) == (server.name, host.version)
        assert device.model == f"{host.platform} {host.platform_version}"
        assert device.hw_version == f"{host.cpu[0]} ({host.arch})"  # type: ignore[index]
    registry = dr.async_get(nz.hass)
    devices = dr.async_entries_for_config_entry(registry, nz.entry.entry_id)
    facts = [_device_facts(d, nz.sim.url) for d in devices]
    assert sorted(facts, key=lambda f: f["identifiers"]) == snapshot


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_online_state(nz: Harness, caplog: pytest.LogCaptureFixture) -> None:
    """Off after threshold + poll by the dashboard's clock; unreadable; never seen."""
    boot = nz.state(f"{TOKYO}_last_boot")
    nz.sim.set_online(TOKYO, False)
    await nz.tick()  # 31 s: not yet past the 60 s threshold
    assert nz.online(TOKYO) == "on"
    await nz.tick(2)  # 93 s = threshold + one poll
    assert nz.online(TOKYO) == "off"
    assert nz.state("any_offline", "binary_sensor") == "on"
    for key in ("cpu_usage", "download_speed", "downloaded", "ping_2"):
        assert nz.state(f"{TOKYO}_{key}") == STATE_UNAVAILABLE
    assert nz.state(f"{TOKYO}_last_boot") == boot  # kept, and so is last seen
    assert nz.state(f"{TOKYO}_last_seen") not in (STATE_UNAVAILABLE, "unknown")
    counts = {"servers_offline": "1", "servers_online": "4", "servers_total": "5"}
    assert {key: nz.state(key) for key in counts} == counts
    await nz.tick(5)
    nz.sim.set_online(TOKYO, True)
    await nz.tick(3)
    assert nz.online(TOKYO) == "on"
    assert nz.state("any_offline", "binary_sensor") == "off"
    assert float(nz.state(f"{TOKYO}_cpu_usage")) >= 0
    info = [r for r in caplog.records if "is now" in r.getMessage()]
    assert [(r.levelno, r.getMessage()) for r in info] == [
        (logging.INFO, "Server 东京-web-03 (id 5) is now offline"),
        (logging.INFO, "Server 东京-web-03 (id 5) is now online"),
    ]

    # The dashboard's own clock (Date header) decides, not Home Assistant's.
    for skew in (420, -840, 420):  # 7 minutes ahead, 7 behind, back in step
        nz.sim.shift_clock(skew)
        await nz.tick(3)
        assert {nz.online(sid) for sid in nz.sim.fleet.servers} == {"on"}
        assert nz.state("servers_offline") == "0"

    # A record that cannot be read says nothing about the server.
    nz.sim.set_malformed(NAS, "host", ["not", "an", "object"])
    await nz.tick()
    assert (nz.online(NAS), nz.online(1)) == (STATE_UNAVAILABLE, "on")
    nz.sim.clear_malformed()
    await nz.tick()
    assert nz.online(NAS) == "on"

    # Go's zero time is offline at once, with metrics unavailable.
    device = nz.device(NAS)
    nz.sim.set_never_reported(NAS)
    await nz.tick()
    assert nz.online(NAS) == "off"
    assert nz.state(f"{NAS}_cpu_usage") == STATE_UNAVAILABLE
    assert nz.state(f"{NAS}_last_seen") == "unknown"
    assert nz.state(f"{NAS}_last_boot") == "unknown"
    # The zeroed host of a restarted dashboard does not wipe the device facts.
    after = nz.device(NAS)
    assert after is not None and device is not None
    facts = ("model", "sw_version", "hw_version")
    assert [getattr(after, f) for f in facts] == [getattr(device, f) for f in facts]
