"""Constants and helpers shared by the tests of both API generations."""

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import time
from typing import Any

from awesomeversion import AwesomeVersion
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntry, ConfigEntryState
from homeassistant.const import (
    CONF_API_TOKEN,
    CONF_URL,
    CONF_VERIFY_SSL,
    EVENT_STATE_CHANGED,
    EVENT_STATE_REPORTED,
    STATE_UNAVAILABLE,
    __version__,
)
from homeassistant.core import (
    Event,
    EventStateChangedData,
    HomeAssistant,
    State,
    callback,
)
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.nezha.const import DOMAIN
from custom_components.nezha.coordinator_v1 import NezhaStreamCoordinator
from nezha_dev.simulator import NezhaSimulator

TOKEN = "hAsS7tokenX9q2W4e6R8t0Y1u3I5o7P9"
ENTRY_ID = "01NEZHATESTENTRY000000000A"
V1_ENTRY_ID = "01NEZHATESTENTRYV100000000B"  # beside a v0 entry in one test
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
    """Yield to the loop until ``predicate()`` holds (a timed sleep never ends when frozen)."""
    for _ in range(5000):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError(f"timed out waiting for {what}")


async def setup_integration(
    hass: HomeAssistant, entry: MockConfigEntry, *, background: bool = True
) -> None:
    """Add the entry and set it up; ``background``: wait for the first ping fetch too."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=background)


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


def registry_entry(
    hass: HomeAssistant, entry: ConfigEntry, key: str, platform: str = "sensor"
) -> er.RegistryEntry:
    """The registry entry behind a unique-id suffix; fails if there is none."""
    found = er.async_get(hass).async_get(entity_id(hass, entry, key, platform) or "")
    assert found is not None, f"no {platform} entity for {key}"
    return found


def keys(hass: HomeAssistant, entry: ConfigEntry) -> set[str]:
    """Unique-id suffixes of the entry's registry entities."""
    return {
        e.unique_id.removeprefix(f"{entry.entry_id}_")
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    }


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
    """The device of a config entry with this identifier, or None."""
    # async_get_device_by_identifier is 2026.8+; async_get_device is deprecated there.
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
class Loaded:
    """A set-up entry and its simulator, with short ways to look at both."""

    hass: HomeAssistant
    entry: MockConfigEntry
    sim: NezhaSimulator

    def state(self, key: str, platform: str = "sensor") -> str:
        """The state string behind a unique-id suffix such as ``"3_cpu_usage"``."""
        return state(self.hass, self.entry, key, platform).state

    def online(self, sid: int) -> str:
        return self.state(f"{sid}_online", "binary_sensor")

    def entity_ids(self) -> set[str]:
        return entity_ids(self.hass, self.entry)

    def unavailable(self) -> set[str]:
        return unavailable(self.hass, self.entity_ids())

    def devices(self) -> set[int]:
        """Server ids with a device in the registry."""
        return server_ids_with_devices(self.hass, self.entry)

    def device(self, sid: int) -> dr.DeviceEntry | None:
        return server_device(self.hass, self.entry, sid)

    def reauth_flows(self) -> list[Any]:
        return list(self.entry.async_get_active_flows(self.hass, {SOURCE_REAUTH}))

    def entity_id(self, key: str, platform: str = "sensor") -> str | None:
        """The entity id behind a unique-id suffix, or None."""
        return entity_id(self.hass, self.entry, key, platform)


@dataclass
class Harness(Loaded):
    """A set-up entry, its simulator and the frozen clock, for short tests."""

    freezer: FrozenDateTimeFactory

    async def tick(
        self, times: int = 1, delta: timedelta = POLL, *, background: bool = True
    ) -> None:
        """Let ``times`` polls happen (see :func:`tick`)."""
        await tick(self.hass, self.freezer, times, delta, background=background)


@dataclass
class Dashboard:
    """A simulated dashboard of either generation and an entry for it."""

    generation: str
    sim: NezhaSimulator
    entry: MockConfigEntry

    async def setup(self, hass: HomeAssistant) -> MockConfigEntry:
        """Set the entry up (a v1 one from exactly one frame) and return it."""
        if self.generation == "v0":
            await setup_integration(hass, self.entry)
        else:
            await setup_frozen(hass, self.entry)
        return self.entry


SERVERS = "/api/v1/server"
GROUPS = "/api/v1/server-group"
SERVICES = "/api/v1/service"
WS = "/api/v1/ws/server"


def nezha_entry(
    url: str,
    generation: str,
    token: str,
    *,
    entry_id: str = ENTRY_ID,
    title: str = ENTRY_TITLE,
    **options: Any,
) -> MockConfigEntry:
    """An entry for a dashboard; options are taken as given (no minimums)."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=title,
        entry_id=entry_id,
        data={
            CONF_URL: url,
            CONF_API_TOKEN: token,
            CONF_VERIFY_SSL: True,
            "api_generation": generation,
        },
        options=options,
    )


def v0_entry(url: str, token: str = TOKEN, **kwargs: Any) -> MockConfigEntry:
    """An entry for a v0 dashboard at ``url`` (see :func:`nezha_entry`)."""
    return nezha_entry(url, "v0", token, **kwargs)


def v1_entry(sim: NezhaSimulator, token: str = PAT, **kwargs: Any) -> MockConfigEntry:
    """An entry for the v1 simulator (see :func:`nezha_entry`)."""
    return nezha_entry(sim.url, "v1", token, **kwargs)


def ping_round_done(coordinator: NezhaStreamCoordinator) -> bool:
    """Whether no ping round is running (it runs as a background task)."""
    return not coordinator.side._running  # instrumentation: nothing public tells it


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
class Live(Loaded):
    """A loaded v1 entry, its simulator and helpers to look at both."""

    @property
    def coordinator(self) -> NezhaStreamCoordinator:
        coordinator = self.entry.runtime_data
        assert isinstance(coordinator, NezhaStreamCoordinator)
        return coordinator

    def entity_id(self, key: str, platform: str = "sensor") -> str:
        """The entity id behind a unique-id suffix; fails if there is none."""
        eid = super().entity_id(key, platform)
        assert eid is not None, key
        return eid

    def paths(self, *, since: int = 0) -> list[str]:
        """Paths of the requests the simulator got (handshakes included)."""
        return [r.path for r in self.sim.requests[since:]]

    def count(self, path: str, *, since: int = 0) -> int:
        """How many requests had exactly this path."""
        return self.paths(since=since).count(path)

    async def frames(self, count: int) -> None:
        """Wait until ``count`` more frames reached the coordinator."""
        target = self.coordinator.frames_received + count
        await until(
            lambda: self.coordinator.frames_received >= target, f"{count} frames"
        )


async def start_live(
    hass: HomeAssistant, sim: NezhaSimulator, token: str = PAT, **options: Any
) -> Live:
    """Set up a v1 entry; wait for the first frame and the first ping round."""
    entry = v1_entry(sim, token, **options)
    # Not wait_background_tasks: the stream task runs until the entry unloads.
    await setup_integration(hass, entry, background=False)
    live = Live(hass, entry, sim)
    await until(lambda: live.coordinator.frames_received > 0, "the first frame")
    # Not "no round running": with a 1 s ping interval rounds run back to back.
    await until(lambda: live.coordinator.side.first_round_done, "the first ping round")
    await hass.async_block_till_done()  # the entities that round added
    return live


async def setup_frozen(
    hass: HomeAssistant, entry: MockConfigEntry
) -> NezhaStreamCoordinator:
    """Set up a v1 entry while time is frozen: one frame, one ping round, no more."""
    # The stream's 2 s sleep never ends on a frozen clock; timers run when fired.
    await setup_integration(hass, entry, background=False)
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


@dataclass
class Writes:
    """The state writes of a set of entities, by kind."""

    changed: list[str] = field(default_factory=list)
    reported: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Every write: a changed state or an unchanged one reported."""
        return len(self.changed) + len(self.reported)


@contextmanager
def counted(hass: HomeAssistant, ids: set[str]) -> Iterator[Writes]:
    """Count the writes (``state_changed`` and ``state_reported``) of ``ids`` meanwhile."""
    writes = Writes()

    @callback
    def ours(data: Mapping[str, Any]) -> bool:
        return data["entity_id"] in ids

    unsubs = [
        hass.bus.async_listen(
            event,
            lambda e, into=into: into.append(e.data["entity_id"]),
            event_filter=ours,
        )
        for event, into in (
            (EVENT_STATE_CHANGED, writes.changed),
            (EVENT_STATE_REPORTED, writes.reported),
        )
    ]
    try:
        yield writes
    finally:
        for unsub in unsubs:
            unsub()
