"""The v1 coordinator on a frozen clock: frames and timers advance only when fired.

Each ``tick`` moves the clock 2 s and fires the due timers, so the simulator sends
exactly one frame (the dashboard's pace) and scheduled updates run when due.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_OFF
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.nezha.client import Fleet
from custom_components.nezha.coordinator_v1 import NezhaStreamCoordinator
from custom_components.nezha.sensor_server import SERVER_SENSORS
from nezha_dev.simulator import NezhaSimulator
from tests.helpers import (
    PAT,
    SERVERS,
    StateLog,
    entity_ids,
    setup_frozen,
    state,
    v1_entry,
    wait_for,
)

TOKYO = 5


pytestmark = pytest.mark.usefixtures("frozen")


async def tick(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    coordinator: NezhaStreamCoordinator,
) -> None:
    """Two seconds on: one frame arrives, and whatever timer was due has run."""
    frames = coordinator.frames_received
    freezer.tick(timedelta(seconds=2))
    async_fire_time_changed(hass)
    await wait_for(lambda: coordinator.frames_received > frames, "a frame")
    await hass.async_block_till_done()
    # Refreshes a frame started run as background tasks, which
    # async_block_till_done does not wait for (the stream task never ends).
    stream = coordinator._stream_task
    await wait_for(
        lambda: all(t is stream for t in coordinator._tasks), "the refresh it started"
    )
    await hass.async_block_till_done()


async def test_inventory_at_most_once_per_interval(
    hass: HomeAssistant, frozen: FrozenDateTimeFactory, v1_sim: NezhaSimulator
) -> None:
    """A new server waits for the interval; transitions meanwhile do not."""
    sim = v1_sim
    entry = v1_entry(sim)  # default 30 s update interval
    coordinator = await setup_frozen(hass, entry)
    before = len(sim.requests)
    new = sim.add_server("edge-new")
    await tick(hass, frozen, coordinator)
    sim.set_online(TOKYO, False)
    await tick(hass, frozen, coordinator)
    assert state(hass, entry, f"{TOKYO}_online", "binary_sensor").state == STATE_OFF
    assert new not in coordinator.data.servers
    assert [r.path for r in sim.requests[before:]] == []

    for _ in range(14):  # up to 32 s after the setup's inventory
        await tick(hass, frozen, coordinator)
    assert new in coordinator.data.servers
    assert state(hass, entry, f"{new}_online", "binary_sensor").state == "on"
    assert [r.path for r in sim.requests[before:]].count(SERVERS) == 1


async def test_state_write_rate_50_servers(
    hass: HomeAssistant, frozen: FrozenDateTimeFactory, socket_enabled: None
) -> None:
    """50 servers, frames every 2 s, default 30 s interval: writes over one minute."""
    sim = NezhaSimulator(servers=50, generation="v1", seed=1, token=PAT)
    await sim.start()
    entry = v1_entry(sim)
    coordinator = await setup_frozen(hass, entry)
    ids = entity_ids(hass, entry)
    described = {d.key: d.value_fn for d in SERVER_SENSORS}
    metrics = {  # entity id -> (server id, sensor key) of the enabled metrics
        item.entity_id: (int(sid), key)
        for item in er.async_entries_for_config_entry(
            er.async_get(hass), entry.entry_id
        )
        for sid, _, key in [
            item.unique_id.removeprefix(f"{entry.entry_id}_").partition("_")
        ]
        if sid.isdigit() and key in described and item.entity_id in ids
    }
    log = StateLog(hass, ids)
    frames: list[Fleet] = []
    for _ in range(30):  # 60 s at the dashboard's 2 s pace
        await tick(hass, frozen, coordinator)
        assert coordinator._latest is not None  # measurement only
        frames.append(coordinator._latest)
    log.stop()

    writes = len(log.changes)
    metric_writes = sum(1 for _, eid, _ in log.changes if eid in metrics)
    # What a design that wrote every frame would have written.
    per_frame = sum(
        described[key](old.servers[sid]) != described[key](new.servers[sid])
        for old, new in pairwise(frames)
        for sid, key in metrics.values()
        if sid in old.servers and sid in new.servers
    )
    assert coordinator.frames_received == 31
    assert metric_writes <= 2 * len(metrics)  # two scheduled updates, no more
    assert per_frame >= 10 * metric_writes
    print(  # noqa: T201 - the measured numbers for the report
        f"\n50 servers, 60 s: {len(ids)} entities ({len(metrics)} metrics), "
        f"{writes} state writes ({metric_writes} metric); writing every frame "
        f"would have made {per_frame} metric writes"
    )
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    await sim.stop()
