"""Restart persistence: the registry survives a reload, v0 and v1."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.nezha.const import DOMAIN
from nezha_dev.simulator import NezhaSimulator
from tests.helpers import Harness, entity_ids, setup_frozen, v1_entry, wait_for
from tests.reliability.helpers import (
    changes,
    registry_devices,
    registry_entries,
    settle_v1,
)

# -- restart: the registry survives a reload -------------------------------------------


def customise_registry(hass: HomeAssistant, entry_id: str) -> tuple[str, str]:
    """Enable a disabled-by-default entity and disable an enabled one, as a user."""
    registry = er.async_get(hass)
    enabled = registry.async_get_entity_id("sensor", DOMAIN, f"{entry_id}_1_load_5")
    disabled = registry.async_get_entity_id("sensor", DOMAIN, f"{entry_id}_2_cpu_usage")
    assert enabled is not None and disabled is not None
    default = registry.async_get(enabled)
    assert default is not None
    assert default.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    registry.async_update_entity(enabled, disabled_by=None)
    registry.async_update_entity(disabled, disabled_by=er.RegistryEntryDisabler.USER)
    return enabled, disabled


def assert_reloaded_like_before(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    entities: dict[str, er.RegistryEntry],
    devices: dict[str, dr.DeviceEntry],
    *,
    enabled: str,
    disabled: str,
) -> None:
    """Same registry entries and devices; every enabled entity is live again."""
    assert changes(entities, registry_entries(hass, entry.entry_id)) == []
    assert changes(devices, registry_devices(hass, entry.entry_id)) == []
    expected = {e.entity_id for e in entities.values() if e.disabled_by is None}
    assert enabled in expected and disabled not in expected
    assert entity_ids(hass, entry) == expected
    for eid in expected:  # created by the integration, not restored placeholders
        found = hass.states.get(eid)
        assert found is not None and not found.attributes.get("restored"), eid
        assert found.state != STATE_UNAVAILABLE, eid
    assert float(hass.states.get(enabled).state) >= 0  # type: ignore[union-attr]
    pings = [
        e
        for e in entities.values()
        if "_ping_" in e.unique_id and e.entity_id in expected
    ]
    assert pings, "no ping sensors to check"
    for item in pings:
        assert float(hass.states.get(item.entity_id).state) > 0  # type: ignore[union-attr]


def registry_summary(entities: dict[str, er.RegistryEntry]) -> dict[str, Any]:
    """What the reload test covers, for a readable failure."""
    return {
        "entities": len(entities),
        "disabled": sum(1 for e in entities.values() if e.disabled_by is not None),
        "pings": sum(1 for e in entities.values() if "_ping_" in e.unique_id),
    }


async def reload_v0(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Reload a v0 entry and wait for its first ping round."""
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED


async def reload_v1(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Reload a v1 entry and wait for its first frame and ping round."""
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    coordinator = entry.runtime_data
    await wait_for(lambda: coordinator.frames_received > 0, "the first frame")
    await settle_v1(hass, coordinator)


async def check_reload_keeps_registry(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    reload: Callable[[HomeAssistant, MockConfigEntry], Any],
) -> None:
    """Customise, let the change apply, then reload: nothing in the registry moves.

    Home Assistant itself reloads an entry 30 s after one of its entities is
    enabled; the first reload here stands for that one. Only on that first add
    does the sensor platform store the entity's suggested display precision in
    its registry options, so the comparison starts after it.
    """
    enabled, disabled = customise_registry(hass, entry.entry_id)
    await reload(hass, entry)
    coordinator = entry.runtime_data
    entities = registry_entries(hass, entry.entry_id)
    devices = registry_devices(hass, entry.entry_id)
    summary = registry_summary(entities)
    assert summary["disabled"] > 10 and summary["pings"] > 0, summary

    await reload(hass, entry)
    assert entry.runtime_data is not coordinator
    assert_reloaded_like_before(
        hass, entry, entities, devices, enabled=enabled, disabled=disabled
    )


async def test_reload_keeps_registry_v0(nz: Harness) -> None:
    """A reload keeps every registry entry (user choices and pings included)."""
    await check_reload_keeps_registry(nz.hass, nz.entry, reload_v0)


async def test_reload_keeps_registry_v1(
    hass: HomeAssistant, frozen: FrozenDateTimeFactory, v1_sim: NezhaSimulator
) -> None:
    """The same on v1, whose service sensors live on the dashboard device."""
    entry = v1_entry(v1_sim)
    await setup_frozen(hass, entry)
    assert any("_service_" in uid for uid in registry_entries(hass, entry.entry_id))
    await check_reload_keeps_registry(hass, entry, reload_v1)
