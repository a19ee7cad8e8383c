"""Performance benchmark of the v0 integration in an in-process Home Assistant.

Run by ``scripts/bench`` (``NEZHA_BENCH=1 pytest tests/bench -p no:cacheprovider
-p no:logging -s``); the normal suite does not collect it. For N = 10, 100 and
1000 simulated servers (with ping monitors) it measures

1. event-loop time per refresh with the fetch excluded: two real ``/server/details``
   bodies, captured from the simulator at different clock times, are returned
   alternately by a patched ``Transport.get`` (the only mock; it removes the
   network, nothing else), and ``coordinator.async_refresh()`` plus
   ``hass.async_block_till_done()`` is timed; and the same for an identical
   answer (the first body every time), which writes no state;
2. the floor: ``json.loads`` of the same body plus a new value (for an identical
   answer, the same value again) written by as many trivial ``SensorEntity``
   objects as the integration has enabled entities; and a same-kind floor: the
   same, written by twins of our entities (same device classes, units, state
   classes; the values ours showed; no integration logic). They run in paired
   rounds (changing answers: rotating triples; identical: alternating pairs), and
   ratios are the median of the per-pair ratios, so machine noise hits both sides
   of a pair alike;
3. HTTP requests and response-body bytes per poll and per ping interval, over real
   HTTP against the simulator;
4. state and attribute changes caused by a refresh with an identical payload;
5. memory per server (tracemalloc; fresh Home Assistant, simulator in a process of
   its own);
6. setup time until the entities exist (likewise).

The last test prints the table and writes it into ``docs/performance.md`` between
the ``bench:start``/``bench:end`` markers, keeping the rest of that file.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
import cProfile
from dataclasses import dataclass, field
import gc
import json
import logging
import math
import os
from pathlib import Path
import platform
import statistics
import sys
import time
import tracemalloc
from typing import Any
from unittest.mock import patch

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.components.sensor import SensorEntity
import homeassistant.const as ha_const
from homeassistant.const import (
    CONF_API_TOKEN,
    CONF_URL,
    CONF_VERIFY_SSL,
    EVENT_STATE_CHANGED,
    EVENT_STATE_REPORTED,
)
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import async_get_platforms
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockEntityPlatform,
)

from custom_components.nezha.client.transport import RawResponse, Transport
from custom_components.nezha.client.v0 import DETAILS_PATH, MONITOR_PATH
from custom_components.nezha.const import (
    DEFAULT_PING_INTERVAL,
    DEFAULT_SCAN_INTERVAL,
    DOMAIN,
)
from custom_components.nezha.coordinator import NezhaCoordinator
from nezha_dev.simulator import NezhaSimulator
from tests.conftest import TOKEN

# NEZHA_BENCH_SIZES=10,100 runs a subset (quick checks); the report needs all three.
SIZES = tuple(
    int(size) for size in os.environ.get("NEZHA_BENCH_SIZES", "10,100,1000").split(",")
)
# Timed refreshes per size (each also times one floor iteration). Chosen so the
# whole run stays well under ten minutes on a small two-core machine.
ITERATIONS = {10: 400, 100: 120, 1000: 40}
WARMUP = 3
RATIO_TARGET = 1.3
SAME_TARGET = 0.65  # "well under" 1.3: at most half of it
REGRESSION_AT = 1.53  # refresh / floor at N = 1000 before unchanged writes were skipped
RATIO_AT = 1000
MONITOR_PREFIX = MONITOR_PATH.split("{", 1)[0]
ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "performance.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


@dataclass
class Result:
    """Everything measured for one fleet size."""

    servers: int
    entities: int = 0  # enabled entities of the entry (states in hass)
    registry_entries: int = 0  # including disabled-by-default ones
    writes: int = 0  # state writes of one refresh of a changing answer
    ours: list[float] = field(default_factory=list)
    floor: list[float] = field(default_factory=list)
    twin: list[float] = field(default_factory=list)
    ours_gc: list[float] = field(default_factory=list)  # GC time within each run
    floor_gc: list[float] = field(default_factory=list)
    twin_gc: list[float] = field(default_factory=list)
    twins: int = 0
    capped: bool = False  # Home Assistant refused entities (per-entry maximum)
    ours_cpu: list[float] = field(default_factory=list)  # event-loop thread CPU time
    floor_cpu: list[float] = field(default_factory=list)
    twin_cpu: list[float] = field(default_factory=list)
    parse: list[float] = field(default_factory=list)
    payload_bytes: int = 0
    poll_requests: int = 0
    poll_bytes: int = 0
    ping_requests: int = 0
    ping_bytes: int = 0
    ping_other_requests: int = 0
    state_changes: int = -1
    attribute_changes: int = -1
    reports: int = 0
    # Paired rounds of an identical answer: the refresh and the floor alternate.
    same: list[float] = field(default_factory=list)
    same_floor: list[float] = field(default_factory=list)
    same_cpu: list[float] = field(default_factory=list)
    same_floor_cpu: list[float] = field(default_factory=list)
    setup_first: float = 0.0
    setup_all: float = 0.0
    memory_bytes: int = 0
    memory_ours_bytes: int = 0
    memory_top: list[tuple[str, int]] = field(default_factory=list)  # by file


RESULTS: dict[int, Result] = {}


def _result(servers: int) -> Result:
    return RESULTS.setdefault(servers, Result(servers))


# ------------------------------------------------------------------ helpers


class FloorSensor(SensorEntity):
    """The cheapest sensor Home Assistant can write: a plain value, no extras."""

    _attr_should_poll = False

    def __init__(self, index: int) -> None:
        """Name it so that entity ids are cheap to generate."""
        self._attr_name = f"floor {index}"
        self._attr_native_value = 0


type Values = list[tuple[bool, Any]]
"""What an entity showed for each payload: (available, native value or is_on)."""


class TwinSensor(SensorEntity):
    """A sensor with the Home Assistant metadata of one of ours and no logic.

    Same device class, units (incl. the suggested unit, so the same conversion),
    state class, precision and category; registered (unique id) like ours. Its
    values are those ours showed for the two payloads, so Home Assistant does the
    same work for it as for ours, minus everything the integration adds.
    """

    _attr_should_poll = False

    def __init__(self, index: int, source: SensorEntity, values: Values) -> None:
        """Copy the metadata of ``source``; ``values`` as (available, value) pairs."""
        self._attr_unique_id = f"twin_{index}"
        self._attr_name = f"twin {index}"
        self._attr_device_class = source.device_class
        self._attr_native_unit_of_measurement = source.native_unit_of_measurement
        self._attr_suggested_unit_of_measurement = source.suggested_unit_of_measurement
        self._attr_suggested_display_precision = source.suggested_display_precision
        self._attr_state_class = source.state_class
        self._attr_entity_category = source.entity_category
        self.values = values
        self.show(0)

    def show(self, turn: int) -> None:
        """Take the values of payload ``turn % 2``."""
        self._attr_available, self._attr_native_value = self.values[turn % 2]


class TwinBinarySensor(BinarySensorEntity):
    """A binary sensor with the metadata of one of ours and no logic."""

    _attr_should_poll = False

    def __init__(self, index: int, source: BinarySensorEntity, values: Values) -> None:
        """Copy the metadata of ``source``; ``values`` as (available, is_on) pairs."""
        self._attr_unique_id = f"twin_{index}"
        self._attr_name = f"twin {index}"
        self._attr_device_class = source.device_class
        self._attr_entity_category = source.entity_category
        self.values = values
        self.show(0)

    def show(self, turn: int) -> None:
        """Take the values of payload ``turn % 2``."""
        self._attr_available, self._attr_is_on = self.values[turn % 2]


def _our_entities(hass: HomeAssistant) -> list[Entity]:
    return [
        entity
        for platform_ in async_get_platforms(hass, DOMAIN)
        for entity in platform_.entities.values()
    ]


def _shown(entity: Entity) -> tuple[bool, Any]:
    if isinstance(entity, SensorEntity):
        return entity.available, entity.native_value
    assert isinstance(entity, BinarySensorEntity)
    return entity.available, entity.is_on


async def _add_twins(
    hass: HomeAssistant, values: dict[str, Values]
) -> tuple[list[TwinSensor | TwinBinarySensor], list[MockEntityPlatform]]:
    """Add a twin of every entity of ours, on one platform per domain."""
    sensors: list[Entity] = []
    binary: list[Entity] = []
    twins: list[TwinSensor | TwinBinarySensor] = []
    for index, entity in enumerate(_our_entities(hass)):
        twin: TwinSensor | TwinBinarySensor
        if isinstance(entity, SensorEntity):
            twin = TwinSensor(index, entity, values[entity.entity_id])
            sensors.append(twin)
        else:
            assert isinstance(entity, BinarySensorEntity)
            twin = TwinBinarySensor(index, entity, values[entity.entity_id])
            binary.append(twin)
        twins.append(twin)
    platforms = [
        MockEntityPlatform(hass, domain="sensor", platform_name="twin"),
        MockEntityPlatform(hass, domain="binary_sensor", platform_name="twin"),
    ]
    await platforms[0].async_add_entities(sensors)
    await platforms[1].async_add_entities(binary)
    await hass.async_block_till_done()
    return twins, platforms


@dataclass
class Traffic:
    """Requests the integration made, seen from the client side."""

    calls: list[tuple[str, int]] = field(default_factory=list)
    last: dict[str, RawResponse] = field(default_factory=dict)

    def reset(self) -> None:
        """Forget what was counted."""
        self.calls.clear()

    def count(self, prefix: str) -> tuple[int, int]:
        """Requests and response-body bytes whose path starts with ``prefix``."""
        hits = [size for path, size in self.calls if path.startswith(prefix)]
        return len(hits), sum(hits)


@contextmanager
def counting_transport() -> Iterator[Traffic]:
    """Wrap the real ``Transport.get`` to count requests and body bytes."""
    traffic = Traffic()
    original = Transport.get

    async def get(self: Transport, path: str, **kwargs: Any) -> RawResponse:
        raw = await original(self, path, **kwargs)
        traffic.calls.append((path, len(raw.body)))
        traffic.last[path.split("?", 1)[0]] = raw
        return raw

    with patch.object(Transport, "get", get):
        yield traffic


@contextmanager
def logged_warnings() -> Iterator[list[str]]:
    """Collect the messages of WARNING (and worse) records logged meanwhile."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    handler = Collect(logging.WARNING)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield messages
    finally:
        root.removeHandler(handler)


@contextmanager
def replayed_details(responses: list[RawResponse]) -> Iterator[None]:
    """Answer ``/server/details`` with the captured bodies in turn: no network."""
    turn = iter(range(1 << 62))

    async def get(self: Transport, path: str, **kwargs: Any) -> RawResponse:
        assert path == DETAILS_PATH, f"unexpected request {path} while timing"
        return responses[next(turn) % len(responses)]

    with patch.object(Transport, "get", get):
        yield


def _entry(url: str) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Bench {url}",
        data={
            CONF_URL: url,
            CONF_API_TOKEN: TOKEN,
            CONF_VERIFY_SSL: True,
            "api_generation": "v0",
        },
    )


def _our_entity_ids(hass: HomeAssistant, entry: MockConfigEntry) -> set[str]:
    registry = er.async_get(hass)
    return {
        reg.entity_id
        for reg in er.async_entries_for_config_entry(registry, entry.entry_id)
        if hass.states.get(reg.entity_id) is not None
    }


@contextmanager
def state_events(hass: HomeAssistant, entity_ids: set[str]) -> Iterator[Counter[str]]:
    """Count state_changed (and attribute-only changes) and state_reported events."""
    seen: Counter[str] = Counter()

    @callback
    def ours(data: Mapping[str, Any]) -> bool:
        return data["entity_id"] in entity_ids

    @callback
    def changed(event: Event[Any]) -> None:
        seen["changed"] += 1
        old, new = event.data["old_state"], event.data["new_state"]
        if old is not None and new is not None and old.state == new.state:
            seen["attributes"] += 1

    @callback
    def reported(event: Event[Any]) -> None:
        seen["reported"] += 1

    unsubs = [
        hass.bus.async_listen(EVENT_STATE_CHANGED, changed, event_filter=ours),
        hass.bus.async_listen(EVENT_STATE_REPORTED, reported, event_filter=ours),
    ]
    try:
        yield seen
    finally:
        for unsub in unsubs:
            unsub()


_GC_SECONDS = [0.0, 0.0]  # total so far, start of the running collection


def _gc_callback(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _GC_SECONDS[1] = time.perf_counter()
    else:
        _GC_SECONDS[0] += time.perf_counter() - _GC_SECONDS[1]


@contextmanager
def gc_timing() -> Iterator[None]:
    """Add up the time the garbage collector runs (for :class:`Timer`)."""
    gc.callbacks.append(_gc_callback)
    try:
        yield
    finally:
        gc.callbacks.remove(_gc_callback)


class Timer:
    """Times runs of one kind of work: wall time, GC time within, optional cProfile."""

    def __init__(self, *, profile: bool) -> None:
        """Start with no runs."""
        self.runs: list[float] = []
        self.cpu: list[float] = []
        self.gc: list[float] = []
        self._profiler = cProfile.Profile() if profile else None

    @contextmanager
    def run(self) -> Iterator[None]:
        """Time the body of the ``with`` block as one run.

        Wall time (``perf_counter``) and the event-loop thread's CPU time
        (``thread_time``): the latter leaves out the time other processes on a
        busy machine took the CPU away, so it is the steadier of the two.
        """
        gc_before = _GC_SECONDS[0]
        if self._profiler is not None:
            self._profiler.enable()
        cpu_started = time.thread_time()
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            cpu = time.thread_time() - cpu_started
            if self._profiler is not None:
                self._profiler.disable()
            self.runs.append(elapsed)
            self.cpu.append(cpu)
            self.gc.append(_GC_SECONDS[0] - gc_before)

    def dump(self, path: Path) -> None:
        """Write the profile (if any) for ``python -m pstats``."""
        if self._profiler is not None:
            self._profiler.dump_stats(path)


async def _refresh(hass: HomeAssistant, coordinator: NezhaCoordinator) -> None:
    await coordinator.async_refresh()
    await hass.async_block_till_done()


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


# ------------------------------------------------------------------ the measurements


@pytest.mark.parametrize("servers", SIZES)
async def test_refresh(hass: HomeAssistant, socket_enabled: None, servers: int) -> None:
    """Measure (1)-(4) and (6) for one fleet size."""
    result = _result(servers)
    sim = NezhaSimulator(servers=servers, token=TOKEN, seed=1)
    await sim.start()
    entry = _entry(sim.url)
    try:
        with counting_transport() as traffic:
            with logged_warnings() as warnings:
                entry.add_to_hass(hass)
                assert await hass.config_entries.async_setup(entry.entry_id)
                await hass.async_block_till_done(wait_background_tasks=True)
            # Home Assistant refuses entities beyond a per-entry maximum (it warns).
            result.capped = any("maximum of" in text for text in warnings)

            coordinator: NezhaCoordinator = entry.runtime_data
            ours = _our_entity_ids(hass, entry)
            result.entities = len(ours)
            result.registry_entries = len(
                er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
            )

            # (3) one poll over real HTTP (the ping history is not due yet).
            sim.reset_requests()
            traffic.reset()
            await _refresh(hass, coordinator)
            result.poll_requests = len(sim.requests)
            _, result.poll_bytes = traffic.count("")
            assert traffic.count(DETAILS_PATH)[0] == result.poll_requests
            first = traffic.last[DETAILS_PATH]

            # A poll that is also a ping interval: the history of every online server.
            sim.shift_clock(DEFAULT_SCAN_INTERVAL + 1)
            sim.reset_requests()
            traffic.reset()
            coordinator.side._owed = True  # the round starts with this answer
            await _refresh(hass, coordinator)
            await hass.async_block_till_done(wait_background_tasks=True)
            result.ping_requests, result.ping_bytes = traffic.count(MONITOR_PREFIX)
            # Anything else besides the polls (a scheduled poll may fall in the wait).
            result.ping_other_requests = sum(
                1
                for request in sim.requests
                if not request.path.startswith((DETAILS_PATH, MONITOR_PREFIX))
            )
            second = traffic.last[DETAILS_PATH]
            assert first.body != second.body
            result.payload_bytes = len(first.body)

        # Pings stay off from here on: the timing is about the poll alone.
        coordinator.side.update_interval = None
        coordinator.side._owed = False
        ours = _our_entity_ids(hass, entry)
        result.entities = len(ours)

        # (4) churn: the same payload twice; the second refresh must change nothing.
        with replayed_details([first]):
            await _refresh(hass, coordinator)
            with state_events(hass, ours) as seen:
                await _refresh(hass, coordinator)
        result.state_changes = seen["changed"]
        result.attribute_changes = seen["attributes"]
        result.reports = seen["reported"]
        # The writes of a changing answer (the two payloads in turn).
        with replayed_details([second, first]), state_events(hass, ours) as seen:
            await _refresh(hass, coordinator)
        result.writes = seen["changed"] + seen["reported"]

        # (2) the floor's entities: one per enabled entity of ours, each written
        # on every refresh (what an integration that always writes costs).
        platform_ = MockEntityPlatform(hass, domain="sensor", platform_name="floor")
        floor_entities = [FloorSensor(index) for index in range(result.entities)]
        await platform_.async_add_entities(floor_entities)
        await hass.async_block_till_done()
        bodies = [first.body, second.body]

        def floor_iteration(turn: int) -> None:
            json.loads(bodies[turn % 2])
            # A new float each time, like the integration's readings (percentages,
            # rates, loads): Home Assistant formats floats for the state string.
            value = turn + 0.25
            for entity in floor_entities:
                entity._attr_native_value = value
                entity.async_write_ha_state()

        def same_floor_iteration() -> None:
            # The identical answer's floor: the same value again (state_reported).
            json.loads(bodies[0])
            for entity in floor_entities:
                entity._attr_native_value = 0.25
                entity.async_write_ha_state()

        # (2b) the same-kind floor: twins of our entities showing the values ours
        # showed for the two payloads, written the same way as the floor.
        values: dict[str, Values] = {}
        with replayed_details([first, second]):
            for _ in range(2):
                await _refresh(hass, coordinator)
                for entity in _our_entities(hass):
                    values.setdefault(entity.entity_id, []).append(_shown(entity))
        twins, twin_platforms = await _add_twins(hass, values)
        result.twins = len(twins)

        def twin_iteration(turn: int) -> None:
            json.loads(bodies[turn % 2])
            for twin in twins:
                twin.show(turn)
                twin.async_write_ha_state()

        # NEZHA_BENCH_PROFILE=DIR profiles the timed work (cProfile; the timings
        # of that run are then inflated) into DIR/{refresh,floor,twins}-N.prof.
        profile_dir = os.environ.get("NEZHA_BENCH_PROFILE")
        timers = {
            name: Timer(profile=bool(profile_dir))
            for name in ("refresh", "floor", "twins", "same", "same-floor")
        }

        async def timed(which: str, turn: int) -> None:
            with timers[which].run():
                if which in ("refresh", "same"):
                    await _refresh(hass, coordinator)
                    return
                if which == "floor":
                    floor_iteration(turn)
                elif which == "same-floor":
                    same_floor_iteration()
                else:
                    twin_iteration(turn)
                await hass.async_block_till_done()

        # (1), (2) and (2b), interleaved; which goes first rotates.
        order = ("refresh", "floor", "twins")
        with replayed_details([first, second]), gc_timing():
            for turn in range(WARMUP):
                await _refresh(hass, coordinator)
                floor_iteration(turn)
                twin_iteration(turn)
            gc.collect()
            for turn in range(ITERATIONS[servers]):
                for which in order[turn % 3 :] + order[: turn % 3]:
                    await timed(which, turn)
                started = time.perf_counter()
                json.loads(bodies[turn % 2])
                result.parse.append(time.perf_counter() - started)
        # (1') paired rounds of an identical answer: the refresh and its floor
        # alternate, which goes first alternating too.
        with replayed_details([first]), gc_timing():
            for _ in range(WARMUP):
                await _refresh(hass, coordinator)
                same_floor_iteration()
            gc.collect()
            for turn in range(ITERATIONS[servers]):
                pair = ("same", "same-floor")
                for which in pair if turn % 2 == 0 else pair[::-1]:
                    await timed(which, turn)
        result.same, result.same_cpu = timers["same"].runs, timers["same"].cpu
        result.same_floor = timers["same-floor"].runs
        result.same_floor_cpu = timers["same-floor"].cpu
        assert coordinator.last_update_success
        result.ours, result.ours_gc = timers["refresh"].runs, timers["refresh"].gc
        result.floor, result.floor_gc = timers["floor"].runs, timers["floor"].gc
        result.twin, result.twin_gc = timers["twins"].runs, timers["twins"].gc
        result.ours_cpu = timers["refresh"].cpu
        result.floor_cpu = timers["floor"].cpu
        result.twin_cpu = timers["twins"].cpu
        if profile_dir:
            for name, timer in timers.items():
                timer.dump(Path(profile_dir) / f"{name}-{servers}.prof")

        for twin_platform in twin_platforms:
            await twin_platform.async_reset()
        await platform_.async_reset()
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
    finally:
        await sim.stop()


@asynccontextmanager
async def simulator_process(servers: int) -> AsyncIterator[str]:
    """Run the simulator in its own process (``python -m nezha_dev.simulator``).

    Its work then neither runs on Home Assistant's event loop nor shows up in
    tracemalloc. Yields the base URL.
    """
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "nezha_dev.simulator",
        "--port",
        "0",
        "--servers",
        str(servers),
        "--token",
        TOKEN,
        "--seed",
        "1",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    stdout = proc.stdout
    try:
        first = (await asyncio.wait_for(stdout.readline(), 60)).decode()
        assert " listening on " in first, first
        # It lists every server; keep reading so that the pipe never fills.
        drain = asyncio.create_task(stdout.read())
        try:
            yield first.rsplit(" ", 1)[1].strip()
        finally:
            proc.terminate()
            await proc.wait()
            await drain
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def _set_up(
    hass: HomeAssistant, url: str
) -> tuple[MockConfigEntry, float, float]:
    """Set up an entry; return it and the seconds until its entities existed.

    The first figure is until setup returned with the server entities added, the
    second until the ping sensors (created when the first ping history, fetched in
    the background, arrives) existed as well.
    """
    entry = _entry(url)
    started = time.perf_counter()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    first = time.perf_counter() - started
    await hass.async_block_till_done(wait_background_tasks=True)
    return entry, first, time.perf_counter() - started


@pytest.mark.parametrize("servers", SIZES)
async def test_setup(hass: HomeAssistant, socket_enabled: None, servers: int) -> None:
    """Measure (6): setup time until the entities exist, in a fresh hass."""
    result = _result(servers)
    async with simulator_process(servers) as url:
        entry, result.setup_first, result.setup_all = await _set_up(hass, url)
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


@pytest.mark.parametrize("servers", SIZES)
async def test_memory(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    socket_enabled: None,
    servers: int,
) -> None:
    """Measure (5): traced memory after setup minus before, in a fresh hass."""
    result = _result(servers)
    ours = str(ROOT / "custom_components" / "nezha")
    stored_before = dict(hass_storage)
    async with simulator_process(servers) as url:
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.take_snapshot()
            entry, _, _ = await _set_up(hass, url)
            # PHCC's storage mock keeps a parsed copy of every file written (the
            # registries' delayed saves fire during a long setup); a real Home
            # Assistant writes them to disk. Drop those copies.
            hass_storage.clear()
            hass_storage.update(stored_before)
            gc.collect()
            after = tracemalloc.take_snapshot()
        finally:
            tracemalloc.stop()
        stats = after.compare_to(before, "filename")
        result.memory_bytes = sum(stat.size_diff for stat in stats)
        result.memory_ours_bytes = sum(
            stat.size_diff
            for stat in stats
            if stat.traceback[0].filename.startswith(ours)
        )
        result.memory_top = [
            (_short_path(stat.traceback[0].filename), stat.size_diff)
            for stat in sorted(stats, key=lambda stat: -stat.size_diff)[:6]
        ]
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


# ------------------------------------------------------------------ the report


def _short_path(filename: str) -> str:
    """Shorten a source path to its package-relative part for the report."""
    for marker in ("/site-packages/", "/custom_components/", "/lib/python3"):
        if marker in filename:
            tail = filename.split(marker, 1)[1]
            return (
                tail if marker != "/lib/python3" else "stdlib " + tail.split("/", 1)[-1]
            )
    return filename


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else math.nan


def _spread(values: list[float]) -> str:
    """Median and 95th percentile in ms."""
    if not values:
        return "-"
    return f"{_ms(_median(values))} ({_ms(_percentile(values, 0.95))})"


def _ratio(ours: list[float], base: list[float]) -> str:
    return f"{_median(ours) / _median(base):.2f}" if ours and base else "-"


def _paired(ours: list[float], base: list[float]) -> float:
    """Median of the ratios of runs timed next to each other (same turn)."""
    ratios = [a / b for a, b in zip(ours, base, strict=True) if b > 0]
    return _median(ratios)


def _pair(ours: list[float], base: list[float]) -> str:
    return f"{_paired(ours, base):.2f}" if ours and base else "-"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}" if seconds < 0.1 else f"{seconds * 1000:.0f}"


def _mark(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def _table(results: list[Result]) -> list[str]:
    rows: list[tuple[str, Callable[[Result], str]]] = [
        (
            "enabled entities (the floor writes as many states)",
            lambda r: str(r.entities),
        ),
        (
            "states written per refresh: changing answer (identical answer)",
            lambda r: f"{r.writes} ({r.state_changes + r.reports})",
        ),
        (
            "Home Assistant's per-entry entity maximum reached (entities refused)",
            lambda r: "**yes**" if r.capped else "no",
        ),
        (
            "entity registry entries (incl. disabled by default)",
            lambda r: str(r.registry_entries),
        ),
        ("`/server/details` body", lambda r: f"{r.payload_bytes / 1024:.0f} KiB"),
        (
            "**refresh / floor, changing answer** (median of paired ratios; by CPU)",
            lambda r: (
                f"**{_pair(r.ours, r.floor)}** ({_pair(r.ours_cpu, r.floor_cpu)})"
            ),
        ),
        (
            "**refresh / floor, identical answer** (median of paired ratios; by CPU)",
            lambda r: (
                f"**{_pair(r.same, r.same_floor)}** "
                f"({_pair(r.same_cpu, r.same_floor_cpu)})"
            ),
        ),
        (
            "identical answer: refresh, fetch excluded: median (p95) ms",
            lambda r: _spread(r.same),
        ),
        (
            "identical answer: floor (same values again): median (p95) ms",
            lambda r: _spread(r.same_floor),
        ),
        (
            "changing answer: refresh, fetch excluded: median (p95) ms",
            lambda r: _spread(r.ours),
        ),
        ("  event-loop CPU time: median ms", lambda r: _ms(_median(r.ours_cpu))),
        ("  garbage collection within: mean ms", lambda r: _ms(_mean(r.ours_gc))),
        ("changing answer: floor: median (p95) ms", lambda r: _spread(r.floor)),
        ("  event-loop CPU time: median ms", lambda r: _ms(_median(r.floor_cpu))),
        ("  garbage collection within: mean ms", lambda r: _ms(_mean(r.floor_gc))),
        ("  `json.loads` alone: median ms", lambda r: _ms(_median(r.parse))),
        (
            "same-kind floor (twins of our entities, no logic): median (p95) ms",
            lambda r: _spread(r.twin),
        ),
        ("  event-loop CPU time: median ms", lambda r: _ms(_median(r.twin_cpu))),
        ("  garbage collection within: mean ms", lambda r: _ms(_mean(r.twin_gc))),
        (
            "changing answer: refresh / floor as a ratio of medians (by CPU time)",
            lambda r: f"{_ratio(r.ours, r.floor)} ({_ratio(r.ours_cpu, r.floor_cpu)})",
        ),
        (
            "refresh / same-kind floor (paired; by CPU time)",
            lambda r: f"{_pair(r.ours, r.twin)} ({_pair(r.ours_cpu, r.twin_cpu)})",
        ),
        (
            "same-kind floor / floor: Home Assistant's cost of richer entities (paired)",
            lambda r: f"{_pair(r.twin, r.floor)} ({_pair(r.twin_cpu, r.floor_cpu)})",
        ),
        (
            "changing answer: refresh per enabled entity: median µs",
            lambda r: f"{_median(r.ours) / max(r.entities, 1) * 1e6:.1f}",
        ),
        ("timed pairs per answer kind", lambda r: str(len(r.ours))),
        ("HTTP requests per poll", lambda r: str(r.poll_requests)),
        ("response bytes per poll", lambda r: f"{r.poll_bytes / 1024:.0f} KiB"),
        (
            f"HTTP requests per ping interval ({DEFAULT_PING_INTERVAL} s), besides the polls",
            lambda r: str(r.ping_requests + r.ping_other_requests),
        ),
        (
            "response bytes per ping interval, besides the polls",
            lambda r: f"{r.ping_bytes / 1024:.0f} KiB",
        ),
        ("state changes from an identical payload", lambda r: str(r.state_changes)),
        ("  of which attribute-only changes", lambda r: str(r.attribute_changes)),
        ("  state_reported events (unchanged writes)", lambda r: str(r.reports)),
        (
            "memory after setup, per server (traced)",
            lambda r: f"{r.memory_bytes / r.servers / 1024:.1f} KiB",
        ),
        (
            "  of which allocated in custom_components/nezha",
            lambda r: f"{r.memory_ours_bytes / r.servers / 1024:.1f} KiB",
        ),
        ("setup until the server entities exist", lambda r: f"{r.setup_first:.2f} s"),
        ("setup until the ping sensors exist too", lambda r: f"{r.setup_all:.2f} s"),
    ]
    lines = [
        "| measure | " + " | ".join(f"N = {r.servers}" for r in results) + " |",
        "|---|" + "---:|" * len(results),
    ]
    lines.extend(
        f"| {name} | " + " | ".join(fn(r) for r in results) + " |" for name, fn in rows
    )
    return lines


def _targets(results: list[Result]) -> list[str]:
    by_n = {r.servers: r for r in results}
    lines = ["| target | result | |", "|---|---|---|"]
    if RATIO_AT in by_n:
        r = by_n[RATIO_AT]
        changing = _paired(r.ours, r.floor)
        lines.append(
            f"| refresh / floor ≤ {RATIO_TARGET} at N = {RATIO_AT}, changing answer"
            " (median of paired wall-time ratios)"
            f" | {changing:.2f} (by event-loop CPU time: {_pair(r.ours_cpu, r.floor_cpu)})"
            f" | {_mark(changing <= RATIO_TARGET)} |"
        )
        same = _paired(r.same, r.same_floor)
        lines.append(
            f"| refresh / floor well under {RATIO_TARGET} at N = {RATIO_AT}, identical"
            f" answer (at most {SAME_TARGET})"
            f" | {same:.2f} (by event-loop CPU time: {_pair(r.same_cpu, r.same_floor_cpu)})"
            f" | {_mark(same <= SAME_TARGET)} |"
        )
    polls = sorted({r.poll_requests for r in results})
    lines.append(
        "| HTTP requests per poll constant in N | "
        + ", ".join(f"{r.poll_requests} at N = {r.servers}" for r in results)
        + f" | {_mark(len(polls) == 1)} |"
    )
    unchanged = [r.state_changes + r.reports for r in results]
    lines.append(
        "| no state written for an identical payload | "
        + ", ".join(
            f"{c} at N = {r.servers}" for c, r in zip(unchanged, results, strict=True)
        )
        + f" | {_mark(all(c == 0 for c in unchanged))} |"
    )
    churn = [r.state_changes for r in results]
    lines.append(
        "| zero churn: no state or attribute change from an identical payload | "
        + ", ".join(
            f"{c} at N = {r.servers}" for c, r in zip(churn, results, strict=True)
        )
        + f" | {_mark(all(c == 0 for c in churn))} |"
    )
    return lines


def _machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
        f"Home Assistant {ha_const.__version__}, {platform.system()} {platform.machine()}"
    )


def _memory_top(result: Result) -> list[str]:
    if not result.memory_top:
        return []
    return [
        (
            f"Largest memory growth during setup at N = {result.servers}, by the "
            "file that allocated it:"
        ),
        "",
        *(
            f"- `{name}`: {size / result.servers / 1024:.1f} KiB per server"
            for name, size in result.memory_top
        ),
        "",
    ]


def test_report() -> None:
    """Print the table and write it into docs/performance.md."""
    results = [RESULTS[n] for n in SIZES if n in RESULTS and RESULTS[n].ours]
    assert results, "no measurements (run through scripts/bench)"
    generated = [
        START,
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')} on {_machine()}, by `scripts/bench`.",
        "",
        *_targets(results),
        "",
        *_table(results),
        "",
        *_memory_top(results[-1]),
        END,
    ]
    block = "\n".join(generated)
    print("\n" + block)  # noqa: T201 - the table is the output
    text = DOC.read_text() if DOC.exists() else f"# Performance\n\n{START}\n{END}\n"
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    DOC.write_text(head + block + tail)
    # Checked once the table is written; ratios within one run, never absolute
    # times. The 1.3 target itself is reported (met or missed) in the table; a
    # changing answer must not cost more than the 1.53 measured before writes
    # were skipped, and an identical one less than the floor.
    for r in results:
        assert r.state_changes + r.reports == 0, f"writes for nothing at {r.servers}"
        assert _paired(r.same, r.same_floor) < 1.0, f"identical answer at {r.servers}"
        assert _paired(r.ours, r.floor) <= REGRESSION_AT, f"changing at {r.servers}"
