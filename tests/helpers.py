"""Helpers shared by the platform, coordinator and diagnostics tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from awesomeversion import AwesomeVersion
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE, __version__
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import device_registry as dr, entity_registry as er
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.nezha.const import DOMAIN
from tests.simulator import NezhaSimulator

TOKEN = "hAsS7tokenX9q2W4e6R8t0Y1u3I5o7P9"
ENTRY_ID = "01NEZHATESTENTRY000000000A"
ENTRY_TITLE = "Nezha test dashboard"

# Every token a test hands to the integration; the autouse leak check scans for all.
SECRETS: set[str] = {TOKEN}


def register_secret(token: str) -> str:
    """Add a token to the set the leak check scans for, and return it."""
    SECRETS.add(token)
    return token


PAT = register_secret("nzp_V1s1mT0kenA2b3C4d5E6f7G8h9I0j1K2")  # v1 personal token

# A fixed instant: the simulator derives every value (boot times, metrics, ping
# points) from its clock, so freezing here before it is created makes them stable.
FROZEN_AT = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
POLL = timedelta(seconds=31)  # just over the default 30 s scan interval
DETAILS = "/api/v1/server/details"
MONITOR = "/api/v1/monitor/"


async def tick(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    times: int = 1,
    delta: timedelta = POLL,
    *,
    background: bool = True,
) -> None:
    """Move time on by ``delta`` ``times`` times, letting each poll finish."""
    for _ in range(times):
        freezer.tick(delta)
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=background)


async def wait_for(predicate: Callable[[], bool], what: str = "condition") -> None:
    """Yield to the event loop until ``predicate()`` holds.

    For waiting on background work while time is frozen, where a timed sleep
    would never end; real I/O still completes between iterations.
    """
    for _ in range(5000):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError(f"timed out waiting for {what}")


async def unload_all(hass: HomeAssistant) -> None:
    """Unload every loaded entry of the integration."""
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.state is ConfigEntryState.LOADED:
            assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


def paths(sim: NezhaSimulator, prefix: str = "") -> list[str]:
    """Paths of the requests the simulator received, in order."""
    return [r.path for r in sim.requests if r.path.startswith(prefix)]


def entity_id(
    hass: HomeAssistant, entry: ConfigEntry, key: str, platform: str = "sensor"
) -> str | None:
    """Entity id for a unique-id suffix such as ``"3_cpu_usage"``."""
    return er.async_get(hass).async_get_entity_id(
        platform, DOMAIN, f"{entry.entry_id}_{key}"
    )


def state(
    hass: HomeAssistant, entry: ConfigEntry, key: str, platform: str = "sensor"
) -> State:
    """The state behind a unique-id suffix; fails if the entity does not exist."""
    eid = entity_id(hass, entry, key, platform)
    assert eid is not None, f"no {platform} entity for {key}"
    found = hass.states.get(eid)
    assert found is not None, f"no state for {eid}"
    return found


def entity_ids(hass: HomeAssistant, entry: ConfigEntry) -> set[str]:
    """Every entity id of the entry that has a state (enabled entities)."""
    return {
        e.entity_id
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if hass.states.get(e.entity_id) is not None
    }


def unavailable(hass: HomeAssistant, ids: set[str]) -> set[str]:
    """The subset of ``ids`` whose state is unavailable."""
    return {i for i in ids if hass.states.get(i).state == STATE_UNAVAILABLE}  # type: ignore[union-attr]


def server_device(
    hass: HomeAssistant, entry: ConfigEntry, server_id: int
) -> dr.DeviceEntry | None:
    """The registry device of a server, or None."""
    return entry_device(hass, entry.entry_id, f"{entry.entry_id}_{server_id}")


def entry_device(
    hass: HomeAssistant, entry_id: str, identifier: str
) -> dr.DeviceEntry | None:
    """The device of a config entry with this identifier, or None.

    Iterates the entry's devices: ``async_get_device_by_identifier`` only exists
    from Home Assistant 2026.8 on, and ``async_get_device`` is deprecated there.
    """
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry_id)
    matches = [d for d in devices if (DOMAIN, identifier) in d.identifiers]
    assert len(matches) <= 1
    return matches[0] if matches else None


def ha_at_least(version: str) -> bool:
    """Whether the Home Assistant under test is this release or newer."""
    return AwesomeVersion(__version__) >= AwesomeVersion(version)


def server_ids_with_devices(hass: HomeAssistant, entry: ConfigEntry) -> set[int]:
    """Server ids that have a device in the registry (the dashboard excluded)."""
    prefix = f"{entry.entry_id}_"
    found: set[int] = set()
    for device in dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id):
        for domain, ident in device.identifiers:
            if domain == DOMAIN and ident.startswith(prefix):
                found.add(int(ident.removeprefix(prefix)))
    return found


def server_entity_count(hass: HomeAssistant, entry: ConfigEntry, sid: int) -> int:
    """How many registry entities belong to server ``sid``."""
    prefix = f"{entry.entry_id}_{sid}_"
    return sum(
        1
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if e.unique_id.startswith(prefix)
    )


@dataclass
class Harness:
    """A set-up entry, its simulator and the frozen clock, for short tests."""

    hass: HomeAssistant
    entry: MockConfigEntry
    sim: NezhaSimulator
    freezer: FrozenDateTimeFactory

    async def tick(
        self, times: int = 1, delta: timedelta = POLL, *, background: bool = True
    ) -> None:
        """Let ``times`` polls happen (see :func:`tick`)."""
        await tick(self.hass, self.freezer, times, delta, background=background)

    def state(self, key: str, platform: str = "sensor") -> str:
        """The state string behind a unique-id suffix."""
        return state(self.hass, self.entry, key, platform).state

    def online(self, sid: int) -> str:
        """The state of a server's online binary sensor."""
        return self.state(f"{sid}_online", "binary_sensor")

    def entity_ids(self) -> set[str]:
        """Every enabled entity id of the entry."""
        return entity_ids(self.hass, self.entry)

    def unavailable(self) -> set[str]:
        """The entity ids of the entry whose state is unavailable."""
        return unavailable(self.hass, self.entity_ids())

    def devices(self) -> set[int]:
        """Server ids with a device in the registry."""
        return server_ids_with_devices(self.hass, self.entry)

    def device(self, sid: int) -> dr.DeviceEntry | None:
        """The registry device of a server."""
        return server_device(self.hass, self.entry, sid)
