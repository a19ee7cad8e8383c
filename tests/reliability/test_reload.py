"""Restart persistence: the registry survives a reload, v0 and v1."""

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.helpers import entity_registry as er

from tests.helpers import entity_ids
from tests.reliability.helpers import Rig, changes, registry_of, reloaded


async def test_reload_keeps_registry(rig: Rig) -> None:
    """A reload keeps every registry entry (user choices, pings, v1 services)."""
    hass, entry_id = rig.hass, rig.entry.entry_id
    registry, entities = er.async_get(hass), registry_of(hass, entry_id)[0]
    if rig.v1:  # its service sensors live on the dashboard device
        assert any("_service_" in uid for uid in entities)
    # As a user: enable a disabled-by-default entity and disable an enabled one.
    default = entities[f"{entry_id}_1_load_5"]
    assert default.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    enabled, disabled = default.entity_id, entities[f"{entry_id}_2_cpu_usage"].entity_id
    assert enabled.startswith("sensor.") and disabled.startswith("sensor.")
    registry.async_update_entity(enabled, disabled_by=None)
    registry.async_update_entity(disabled, disabled_by=er.RegistryEntryDisabler.USER)
    # This is HA's own reload 30 s after an entity is enabled; it stores the suggested
    # display precision (only on that first add), so the comparison starts after it.
    assert await hass.config_entries.async_reload(entry_id)
    await reloaded(hass, rig.entry, rig.v1)
    coordinator = rig.entry.runtime_data
    before = registry_of(hass, entry_id)
    entities = before[0]
    disabled_count = sum(1 for e in entities.values() if e.disabled_by is not None)
    pings = [e for e in entities.values() if "_ping_" in e.unique_id]
    assert disabled_count > 10 and pings, (disabled_count, len(pings))

    assert await hass.config_entries.async_reload(entry_id)
    await reloaded(hass, rig.entry, rig.v1)
    assert rig.entry.runtime_data is not coordinator
    assert changes(before, registry_of(hass, entry_id)) == []
    expected = {e.entity_id for e in entities.values() if e.disabled_by is None}
    assert enabled in expected and disabled not in expected
    assert entity_ids(hass, rig.entry) == expected
    for eid in expected:  # created by the integration, not restored placeholders
        found = hass.states.get(eid)
        assert found is not None and not found.attributes.get("restored"), eid
        assert found.state != STATE_UNAVAILABLE, eid
    assert float(hass.states.get(enabled).state) >= 0  # type: ignore[union-attr]
    pings = [e for e in pings if e.entity_id in expected]
    assert pings, "no ping sensors to check"
    for item in pings:
        assert float(hass.states.get(item.entity_id).state) > 0  # type: ignore[union-attr]
