"""Helpers of the reliability tests (frozen clock; the simulator's faults, or it stopped)."""

from dataclasses import dataclass
from datetime import timedelta
import logging
import time
from typing import Any

import attr
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.nezha.coordinator_v1 import NezhaStreamCoordinator
from nezha_dev.simulator import NezhaSimulator
from tests.helpers import DETAILS, ENTRY_TITLE, SERVERS, tick, unavailable, wait_for

SCAN = timedelta(seconds=30)  # the default scan interval
COORDINATOR = f"Nezha {ENTRY_TITLE}"  # the coordinator's name in HA's logs
INTERRUPTED = f"INFO Live updates from {ENTRY_TITLE} interrupted (stream closed "


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

    async def step(self, seconds: float = 1) -> None:
        """Move the clock on, fire what is due and let it finish."""
        if self.v1:
            self.freezer.tick(timedelta(seconds=seconds))
            async_fire_time_changed(self.hass)
            await settle_v1(self.hass, self.coordinator)
        else:
            await tick(self.hass, self.freezer, 1, timedelta(seconds=seconds))

    async def frames(self, count: int) -> None:
        """v1: ``count`` times, move the clock 2 s on and wait for the next frame."""
        for _ in range(count):
            received = self.coordinator.frames_received
            await self.step(2)
            await wait_for(
                lambda f=received: self.coordinator.frames_received > f, "a frame"
            )


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


def error_line(problem: str, path: str, cause: str) -> str:
    """The (start of the) one error line of an outage."""
    return f"ERROR Error fetching {COORDINATOR} data: {problem}: {path}: {cause}"


def loud(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Every record at WARNING or above (minus the frozen clock's artifacts)."""
    # asyncio's debug mode reports the test task as a slow callback whenever the
    # frozen clock is moved forward inside it ("Executing <Task ...> took 30 s").
    return [
        f"{r.levelname} {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.WARNING
        and not (r.name == "asyncio" and r.getMessage().startswith("Executing "))
    ]


def ours(caplog: pytest.LogCaptureFixture, level: int = logging.INFO) -> list[str]:
    """The integration's records (its logger is also the coordinator's) at ``level``+."""
    return [
        f"{r.levelname} {r.getMessage()}"
        for r in caplog.records
        if r.name.startswith("custom_components.nezha") and r.levelno >= level
    ]


def assert_recovered(caplog: pytest.LogCaptureFixture, v1: bool) -> None:
    """Nothing loud; the data (v1: and the live updates) are back, said at INFO."""
    back = [f"INFO Live updates from {ENTRY_TITLE} are back"] if v1 else []
    recovered = f"INFO Fetching {COORDINATOR} data recovered"
    assert sorted(ours(caplog)) == [recovered, *back]
    assert loud(caplog) == []


def failed_polls(caplog: pytest.LogCaptureFixture) -> list[str]:
    """How long each failed update took, from the coordinator's own debug line."""
    prefix = f"Finished fetching {COORDINATOR} data in "
    return [
        message.removeprefix(prefix).removesuffix(" (success: False)")
        for r in caplog.records
        if (message := r.getMessage()).startswith(prefix)
        and message.endswith("(success: False)")
    ]


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


async def reloaded(hass: HomeAssistant, entry: ConfigEntry, v1: bool) -> None:
    """Wait for a reload and its first ping round (v1: and frame)."""
    await hass.async_block_till_done(wait_background_tasks=not v1)
    assert entry.state is ConfigEntryState.LOADED
    if v1:
        coordinator = entry.runtime_data
        await wait_for(lambda: coordinator.frames_received > 0, "the first frame")
        await settle_v1(hass, coordinator)
