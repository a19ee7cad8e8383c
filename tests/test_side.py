"""Side data (side.py) when the entry's polling is disabled: refreshes bring the rounds."""

from __future__ import annotations

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest

from nezha_dev.simulator import NezhaSimulator
from tests.helpers import DETAILS, MONITOR, entity_id, paths, tick, v0_entry

pytestmark = pytest.mark.usefixtures("frozen")


async def test_refreshes_bring_due_ping_rounds_without_polling(
    hass: HomeAssistant, simulator: NezhaSimulator, frozen: FrozenDateTimeFactory
) -> None:
    """With polling off, a refresh asks for pings once the interval (300 s) is up."""
    entry = v0_entry(simulator.url)
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, pref_disable_polling=True)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_setup_component(hass, "homeassistant", {})
    assert len(paths(simulator, MONITOR)) == 5  # the first round, with setup
    fleet = entry.runtime_data
    online = entity_id(hass, entry, "1_online", "binary_sensor")

    async def refresh() -> None:
        await hass.services.async_call(
            "homeassistant",
            "update_entity",
            {"entity_id": online},
            blocking=True,
        )
        await hass.async_block_till_done(wait_background_tasks=True)

    await tick(hass, frozen, 12)  # 372 s: no poll and no round without refreshes
    assert len(paths(simulator, DETAILS)) == 1
    assert len(paths(simulator, MONITOR)) == 5
    await refresh()
    assert len(paths(simulator, DETAILS)) == 2
    assert len(paths(simulator, MONITOR)) == 10  # the interval was up
    await tick(hass, frozen, 5)  # 155 s later
    await refresh()
    assert len(paths(simulator, MONITOR)) == 10  # not yet due again
    await tick(hass, frozen, 5)  # 310 s after the last round
    await refresh()
    assert len(paths(simulator, MONITOR)) == 15
    assert fleet.side.first_round_done
