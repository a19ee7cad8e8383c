"""Helpers of the reliability tests (frozen clock; the simulator's faults, or it stopped)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
import logging
import time
from typing import Any

import attr
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.nezha.coordinator_v1 import NezhaStreamCoordinator
from nezha_dev.simulator import Fault, NezhaSimulator
from tests.helpers import DETAILS, SERVERS, tick, unavailable, wait_for

SCAN = timedelta(seconds=30)  # the default scan interval
OUTAGE_SECONDS = 300
OUTAGE_POLLS = 10  # 300 s at the default 30 s interval
# Per outage: the requests the dashboard sees per attempt (aiohttp silently retries
# an idempotent request once on a reset; a refused connection never reaches it, the
# simulator being stopped) and the cause in the outage's one error line.
OUTAGES = {
    "html_502": (1, "the dashboard answered HTTP 502"),
    "reset": (2, "ClientOSError: [Errno 104] Connection reset by peer"),
    "refused": (0, "ClientConnectorError: Cannot connect to host 127.0.0.1:{port}"),
}
COORDINATOR = "Nezha Nezha test dashboard"  # the coordinator's name in HA's logs
TITLE = "Nezha test dashboard"


def wall() -> float:
    """Real elapsed seconds; freezegun patches time.monotonic and perf_counter."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


@dataclass
class Rig:
    """A set-up entry of either generation (see the ``rig`` fixture)."""

    hass: HomeAssistant
    entry: MockConfigEntry
    sim: NezhaSimulator
    freezer: FrozenDateTimeFactory
    coordinator: Any
    ids: set[str]  # the enabled entities

    def __post_init__(self) -> None:
        """Note the generation, its first REST path and (v1) the stream's runner."""
        self.v1 = self.sim.generation == "v1"
        self.rest = SERVERS if self.v1 else DETAILS
        self.runner: Any = getattr(self.coordinator, "stream", None)

    def unavailable(self) -> set[str]:
        """The enabled entities that are unavailable."""
        return unavailable(self.hass, self.ids)

    async def stream_down(self) -> None:
        """v1: wait until the stream noticed it is cut and the entry is at rest."""
        await wait_for(lambda: not self.runner.connected, "the stream to notice")
        await settle_v1(self.hass, self.coordinator)

    async def step(self, seconds: float = 1) -> None:
        """Move the clock on, fire what is due and let it finish."""
        if self.v1:
            await step_v1(self.hass, self.freezer, self.coordinator, seconds)
        else:
            await tick(self.hass, self.freezer, 1, timedelta(seconds=seconds))


type Registry = tuple[dict[str, er.RegistryEntry], dict[str, dr.DeviceEntry]]


def registry_of(hass: HomeAssistant, entry_id: str) -> Registry:
    """The entry's entities (by unique id) and devices (by id), every field."""
    entities = er.async_entries_for_config_entry(er.async_get(hass), entry_id)
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry_id)
    return {e.unique_id: e for e in entities}, {d.id: d for d in devices}


def changes(before: Registry, after: Registry) -> list[tuple[Any, ...]]:
    """Field-level differences between two :func:`registry_of` snapshots."""
    diff: list[tuple[Any, ...]] = []
    for old_items, new_items in zip(before, after, strict=True):
        diff.extend(
            (key, "added" if key in new_items else "removed")
            for key in old_items.keys() ^ new_items.keys()
        )
        for key in old_items.keys() & new_items.keys():
            old = attr.asdict(old_items[key], recurse=False)
            new = attr.asdict(new_items[key], recurse=False)
            diff.extend(
                (key, name, old[name], new[name])
                for name in old
                if name != "_cache" and old[name] != new[name]
            )
    return sorted(diff, key=str)


def remember(rig: Rig) -> Callable[[], None]:
    """Note states and registry; the check returned finds them back, never reloaded."""
    hass, entry = rig.hass, rig.entry
    states = {i: hass.states.get(i).state for i in rig.ids}  # type: ignore[union-attr]
    before = registry_of(hass, entry.entry_id)
    seen: list[ConfigEntryState] = []
    unsub = entry.async_on_state_change(lambda: seen.append(entry.state))

    def check() -> None:
        unsub()
        assert seen == []  # never unloaded, set up again or retried
        assert entry.runtime_data is rig.coordinator
        now = {i: hass.states.get(i).state for i in rig.ids}  # type: ignore[union-attr]
        # Every entity has a state again, and one with a value before has one now.
        assert STATE_UNAVAILABLE not in now.values()
        unknown = {i for i, s in states.items() if s == STATE_UNKNOWN}
        assert {i for i, s in now.items() if s == STATE_UNKNOWN} == unknown
        assert changes(before, registry_of(hass, entry.entry_id)) == []

    return check


def unreachable(outage: str, path: str, port: int) -> str:
    """The start of the one error line of an outage."""
    cause = OUTAGES[outage][1].format(port=port)
    return (
        f"ERROR Error fetching {COORDINATOR} data: Could not reach the dashboard: "
        f"{path}: {cause}"
    )


def _clock_artifact(record: logging.LogRecord) -> bool:
    # asyncio's debug mode reports the test task as a slow callback whenever the
    # frozen clock is moved forward inside it ("Executing <Task ...> took 30 s").
    return record.name == "asyncio" and record.getMessage().startswith("Executing ")


def loud(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Every record at WARNING or above (minus the frozen clock's artifacts)."""
    return [
        f"{r.levelname} {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.WARNING and not _clock_artifact(r)
    ]


def ours(caplog: pytest.LogCaptureFixture, level: int = logging.INFO) -> list[str]:
    """The integration's records (its logger is also the coordinator's) at ``level``+."""
    return [
        f"{r.levelname} {r.getMessage()}"
        for r in caplog.records
        if r.name.startswith("custom_components.nezha") and r.levelno >= level
    ]


def poll_durations(caplog: pytest.LogCaptureFixture) -> list[str]:
    """How long each failed update took, from the coordinator's own debug line."""
    prefix = f"Finished fetching {COORDINATOR} data in "
    return [
        message.removeprefix(prefix).removesuffix(" (success: False)")
        for r in caplog.records
        if (message := r.getMessage()).startswith(prefix)
        and message.endswith("(success: False)")
    ]


def failed_polls(caplog: pytest.LogCaptureFixture) -> int:
    """Updates that ended in failure."""
    return len(poll_durations(caplog))


def port_of(sim: NezhaSimulator) -> int:
    """The simulator's port, to restart it where the entry expects it."""
    return int(sim.url.rsplit(":", 1)[1])


async def go_down(sim: NezhaSimulator, outage: str) -> None:
    """Take the dashboard down: every request fails, or nothing listens."""
    if outage == "refused":
        await sim.stop()  # also cuts v1 streams
        return
    sim.inject_fault(Fault(outage), count=None)
    if sim.generation != "v0":
        await sim.drop_websockets()  # what a dashboard restart does to streams


async def come_back(sim: NezhaSimulator, outage: str, port: int) -> None:
    """Bring the dashboard back on the same address."""
    if outage == "refused":
        await sim.start(port=port)
    else:
        sim.clear_faults()


def stream_at_rest(coordinator: NezhaStreamCoordinator) -> bool:
    """The stream is connected, or waits on its reconnect timer (no I/O in flight)."""
    runner, task = coordinator.stream, coordinator._stream_task
    assert runner is not None and task is not None and not task.done()
    if runner.connected:
        return True
    awaited = task.get_coro().cr_await  # type: ignore[union-attr]
    # Waiting out the backoff: StreamRunner.run awaits its wake-up event.
    return getattr(getattr(awaited, "cr_code", None), "co_name", None) == "wait"


async def settle_v1(hass: HomeAssistant, coordinator: NezhaStreamCoordinator) -> None:
    """Wait for the entry's background work, the stream's (never ending) aside."""
    entry = coordinator.config_entry
    stream = coordinator._stream_task

    def quiet() -> bool:
        busy = [t for t in entry._background_tasks if t is not stream]
        return not busy and stream_at_rest(coordinator)

    await hass.async_block_till_done()
    await wait_for(quiet, "the entry's background work")
    await hass.async_block_till_done()


async def step_v1(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    coordinator: NezhaStreamCoordinator,
    seconds: float = 1,
) -> None:
    """Move the clock on, fire what is due and let it finish."""
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await settle_v1(hass, coordinator)
