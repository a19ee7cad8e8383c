"""Dashboard entity ids: not made of the title (its address) when new, kept when old."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import slugify
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.nezha.const import DOMAIN
from nezha_dev.simulator import NezhaSimulator
from tests.helpers import ENTRY_TITLE, TOKEN, entity_id, setup_integration, v0_entry

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


async def test_new_ids_do_not_depend_on_the_address(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A fresh entry gets nezha_* ids, a second dashboard's get Home Assistant's _2."""
    assert dashboard_entity_ids(hass, init_integration) == NEW_IDS
    assert all(hass.states.get(expected) for expected in NEW_IDS.values())
    # Server entities keep naming by their device (the server's name).
    assert entity_id(hass, init_integration, "1_cpu_usage") == (
        "sensor.hk_edge_01_cpu_usage"
    )
    async with NezhaSimulator(servers=2, token=TOKEN, seed=2) as other:
        title = other.url.removeprefix("http://")
        second = v0_entry(other.url, entry_id="01NEZHATESTENTRY000000000B", title=title)
        await setup_integration(hass, second)
        assert dashboard_entity_ids(hass, second) == {
            key: f"{expected}_2" for key, expected in NEW_IDS.items()
        }
        assert dashboard_entity_ids(hass, init_integration) == NEW_IDS
        assert await hass.config_entries.async_unload(second.entry_id)


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
