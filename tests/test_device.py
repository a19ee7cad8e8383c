"""Device facts follow the fleet, checked only when a record or the device changed."""

from __future__ import annotations

from dataclasses import replace
from unittest.mock import patch

from homeassistant.core import Event, callback
from homeassistant.helpers import device_registry as dr
import pytest

from custom_components.nezha import device as device_module
from custom_components.nezha.device import server_device_fields as fields
from tests.helpers import Harness

HK = 1

pytestmark = pytest.mark.usefixtures("frozen")


def _facts(nz: Harness) -> tuple[str | None, ...]:
    device = nz.device(HK)
    assert device is not None
    return device.name, device.model, device.sw_version


async def test_updates_only_what_changed(nz: Harness) -> None:
    """Identical polls update no device and recompute nothing; an agent upgrade or a
    rename updates its own device, once each; an edit elsewhere is undone."""
    updated: list[str] = []

    @callback
    def _seen(event: Event[dr.EventDeviceRegistryUpdatedData]) -> None:
        if event.data["action"] == "update":
            updated.append(event.data["device_id"])

    nz.hass.bus.async_listen(dr.EVENT_DEVICE_REGISTRY_UPDATED, _seen)
    await nz.tick()  # each device checked once against the agent's record
    with patch.object(device_module, "server_device_fields", wraps=fields) as computed:
        await nz.tick(2)
    assert updated == []
    assert computed.call_count == 0  # unchanged records: nothing recomputed
    server = nz.sim.fleet.servers[HK]
    server.host = replace(server.host, version="0.20.6", platform_version="13.0")
    await nz.tick(2)
    hk = nz.device(HK)
    assert hk is not None
    assert updated == [hk.id]
    assert _facts(nz) == ("hk-edge-01", "debian 13.0", "0.20.6")
    server.name = "hk-renamed"  # a rename alone
    await nz.tick()
    assert updated == [hk.id, hk.id]
    after = ("hk-renamed", "debian 13.0", "0.20.6")
    assert _facts(nz) == after

    # The registry's copy is checked again once anyone changed it.
    dr.async_get(nz.hass).async_update_device(
        hk.id, name="edited", model="edited", sw_version="edited"
    )
    assert _facts(nz) == ("edited",) * 3
    await nz.tick()  # the same record as before
    assert _facts(nz) == after
