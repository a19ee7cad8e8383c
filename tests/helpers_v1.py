"""A set-up v1 entry against the v1 simulator, for the v1 coordinator/platform tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
import time
from typing import Any

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import (
    CONF_API_TOKEN,
    CONF_URL,
    CONF_VERIFY_SSL,
    EVENT_STATE_CHANGED,
)
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.nezha.const import DOMAIN
from custom_components.nezha.coordinator_v1 import NezhaStreamCoordinator
from tests.helpers import (
    ENTRY_ID,
    ENTRY_TITLE,
    PAT,
    server_ids_with_devices,
    state,
    wait_for,
)
from tests.simulator import NezhaSimulator

__all__ = ["PAT"]  # importable from here until the helpers merge
SERVERS = "/api/v1/server"
GROUPS = "/api/v1/server-group"
SERVICES = "/api/v1/service"
WS = "/api/v1/ws/server"


def v1_entry(
    sim: NezhaSimulator, token: str = PAT, entry_id: str = ENTRY_ID, **options: Any
) -> MockConfigEntry:
    """An entry for the v1 simulator; options are taken as given (no minimums)."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=ENTRY_TITLE,
        entry_id=entry_id,
        data={
            CONF_URL: sim.url,
            CONF_API_TOKEN: token,
            CONF_VERIFY_SSL: True,
            "api_generation": "v1",
        },
        options=options,
    )


def ping_round_done(coordinator: NezhaStreamCoordinator) -> bool:
    """Whether no ping round is running (it runs as a background task)."""
    task = coordinator._ping_task  # instrumentation: nothing public tells it
    return task is None or task.done()


async def until(predicate: Callable[[], bool], what: str, limit: float = 10.0) -> float:
    """Wait in real time until ``predicate()`` holds; return the seconds it took."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > limit:
            raise AssertionError(f"timed out after {limit} s waiting for {what}")
        await asyncio.sleep(0.01)
    return time.monotonic() - start


@dataclass
class StateLog:
    """Every state change of the entry's entities, with the loop time it came."""

    hass: HomeAssistant
    entity_ids: set[str]
    changes: list[tuple[float, str, str | None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Start listening (stopped by :meth:`stop`)."""

        @callback
        def record(event: Event[EventStateChangedData]) -> None:
            eid = event.data["entity_id"]
            if eid in self.entity_ids:
                new = event.data["new_state"]
                self.changes.append(
                    (time.monotonic(), eid, None if new is None else new.state)
                )

        self.stop = self.hass.bus.async_listen(EVENT_STATE_CHANGED, record)

    def of(self, entity_id: str) -> list[tuple[float, str | None]]:
        """The changes of one entity as (time, state)."""
        return [(t, s) for t, eid, s in self.changes if eid == entity_id]


@dataclass
class Live:
    """A loaded v1 entry, its simulator and helpers to look at both."""

    hass: HomeAssistant
    entry: MockConfigEntry
    sim: NezhaSimulator

    @property
    def coordinator(self) -> NezhaStreamCoordinator:
        """The entry's stream coordinator."""
        coordinator = self.entry.runtime_data
        assert isinstance(coordinator, NezhaStreamCoordinator)
        return coordinator

    def state(self, key: str, platform: str = "sensor") -> str:
        """State behind a unique-id suffix such as ``"3_cpu_usage"``."""
        return state(self.hass, self.entry, key, platform).state

    def entity_id(self, key: str, platform: str = "sensor") -> str:
        """Entity id behind a unique-id suffix."""
        eid = er.async_get(self.hass).async_get_entity_id(
            platform, DOMAIN, f"{self.entry.entry_id}_{key}"
        )
        assert eid is not None, key
        return eid

    def online(self, sid: int) -> str:
        """State of a server's online binary sensor."""
        return self.state(f"{sid}_online", "binary_sensor")

    def devices(self) -> set[int]:
        """Server ids with a device."""
        return server_ids_with_devices(self.hass, self.entry)

    def paths(self, *, since: int = 0) -> list[str]:
        """Paths of the requests the simulator got (handshakes included)."""
        return [r.path for r in self.sim.requests[since:]]

    def count(self, path: str, *, since: int = 0) -> int:
        """How many requests had exactly this path."""
        return self.paths(since=since).count(path)

    def reauth_flows(self) -> list[Any]:
        """The entry's reauth flows in progress."""
        return list(self.entry.async_get_active_flows(self.hass, {SOURCE_REAUTH}))

    async def frames(self, count: int) -> None:
        """Wait until ``count`` more frames reached the coordinator."""
        target = self.coordinator.frames_received + count
        await until(
            lambda: self.coordinator.frames_received >= target, f"{count} frames"
        )

    async def ping_round(self) -> None:
        """Wait until the running ping round (and its entity updates) finished."""
        await until(lambda: ping_round_done(self.coordinator), "the ping round")

    async def unload(self) -> None:
        """Unload the entry if it is loaded."""
        if self.entry.state is ConfigEntryState.LOADED:
            assert await self.hass.config_entries.async_unload(self.entry.entry_id)
        await self.hass.async_block_till_done()


async def start_live(
    hass: HomeAssistant, sim: NezhaSimulator, token: str = PAT, **options: Any
) -> Live:
    """Set up a v1 entry and wait for the stream's first frame."""
    entry = v1_entry(sim, token, **options)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    # Not wait_background_tasks: the stream task runs until the entry unloads.
    await hass.async_block_till_done()
    live = Live(hass, entry, sim)
    await until(lambda: live.coordinator.frames_received > 0, "the first frame")
    await live.ping_round()
    return live


async def setup_frozen(
    hass: HomeAssistant, entry: MockConfigEntry
) -> NezhaStreamCoordinator:
    """Set up a v1 entry while time is frozen: one frame, one ping round, no more.

    With the clock frozen the stream's 2 s sleep never ends, so exactly the
    first frame arrives; timers run only when a test fires them.
    """
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    coordinator = entry.runtime_data
    assert isinstance(coordinator, NezhaStreamCoordinator)
    await wait_for(lambda: coordinator.frames_received > 0, "the first frame")

    await wait_for(lambda: ping_round_done(coordinator), "the ping round")
    await hass.async_block_till_done()
    return coordinator


FRAME = 0.2  # seconds between stream frames in the v1 coordinator tests

type MakeLive = Callable[..., Awaitable[Live]]


async def simulated_minutes(live: Live, minutes: int) -> None:
    """Fire every timer due within ``minutes`` (HA's and aiohttp's), minute by minute."""
    for minute in range(1, minutes + 1):
        async_fire_time_changed(live.hass, dt_util.utcnow() + timedelta(minutes=minute))
        await live.hass.async_block_till_done()
