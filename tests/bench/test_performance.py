"""The integration's cost at N = 10, 100, 1000 v0 servers, against a floor (``scripts/bench``).

docs/performance.md ("How it is measured") describes every figure; the last test
writes the table there between the ``bench:start``/``bench:end`` markers.
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
from homeassistant.const import EVENT_STATE_CHANGED, EVENT_STATE_REPORTED
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
from tests.helpers import TOKEN, setup_integration, v0_entry

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
    # refresh, floor, twins (changing answer, in rotating triples) and same,
    # same-floor (identical answer, in alternating pairs)
    timers: dict[str, Timer] = field(default_factory=dict)
    twins: int = 0
    capped: bool = False  # Home Assistant refused entities (per-entry maximum)
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
    setup_first: float = 0.0
    setup_all: float = 0.0
    memory_bytes: int = 0
    memory_ours_bytes: int = 0
    memory_top: list[tuple[str, int]] = field(default_factory=list)  # by file

    def runs(self, name: str, kind: str = "runs") -> list[float]:
        """Wall (``runs``), ``cpu`` or ``gc`` seconds of each timed run of ``name``."""
        timer = self.timers.get(name)
        return getattr(timer, kind) if timer is not None else []

    def pair(self, ours: str, base: str, kind: str = "runs") -> str:
        """Median of the paired ratios ``ours``/``base`` (wall or CPU time)."""
        return _pair(self.runs(ours, kind), self.runs(base, kind))


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


class _Twin(Entity):
    """An entity with the Home Assistant metadata of one of ours and no logic.

    Registered (unique id) like ours and showing the values ours showed for the
    two payloads, so Home Assistant does the same work for it as for ours.
    """

    _attr_should_poll = False
    META: tuple[str, ...] = ("device_class", "entity_category")

    def __init__(self, index: int, source: Entity, values: Values) -> None:
        """Copy the metadata of ``source``; ``values`` as (available, value) pairs."""
        self._attr_unique_id = f"twin_{index}"
        self._attr_name = f"twin {index}"
        for name in self.META:
            setattr(self, f"_attr_{name}", getattr(source, name))
        self.values = values
        self.show(0)

    def show(self, turn: int) -> None:
        """Take the values of payload ``turn % 2``."""
        raise NotImplementedError


class TwinSensor(_Twin, SensorEntity):
    """Same units (incl. the suggested one: same conversion), state class, precision."""

    META = (
        *_Twin.META,
        "native_unit_of_measurement",
        "suggested_unit_of_measurement",
        "suggested_display_precision",
        "state_class",
    )

    def show(self, turn: int) -> None:
        """Take the values of payload ``turn % 2``."""
        self._attr_available, self._attr_native_value = self.values[turn % 2]


class TwinBinarySensor(_Twin, BinarySensorEntity):
    """A binary sensor twin."""

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
) -> tuple[list[_Twin], list[MockEntityPlatform]]:
    """Add a twin of every entity of ours, on one platform per domain."""
    twins: list[_Twin] = []
    platforms = []
    for domain, kind, twin in (
        ("sensor", SensorEntity, TwinSensor),
        ("binary_sensor", BinarySensorEntity, TwinBinarySensor),
    ):
        added = [
            twin(index, entity, values[entity.entity_id])
            for index, entity in enumerate(_our_entities(hass))
            if isinstance(entity, kind)
        ]
        platforms.append(MockEntityPlatform(hass, domain=domain, platform_name="twin"))
        await platforms[-1].async_add_entities(added)
        twins.extend(added)
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
def replayed_details(responses: list[RawResponse]) -> Iterator[None]:
    """Answer ``/server/details`` with the captured bodies in turn: no network."""
    turn = iter(range(1 << 62))

    async def get(self: Transport, path: str, **kwargs: Any) -> RawResponse:
        assert path == DETAILS_PATH, f"unexpected request {path} while timing"
        return responses[next(turn) % len(responses)]

    with patch.object(Transport, "get", get):
        yield


def _entry(url: str) -> MockConfigEntry:
    return v0_entry(url, title=f"Bench {url}")


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
        """Time the ``with`` block: wall and event-loop thread CPU time (steadier)."""
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
async def test_refresh(
    hass: HomeAssistant,
    socket_enabled: None,
    no_token_in_logs: list[str],
    servers: int,
) -> None:
    """Refresh and floor timings, requests, bytes and writes for one fleet size."""
    result = _result(servers)
    async with NezhaSimulator(servers=servers, token=TOKEN, seed=1) as sim:
        entry = _entry(sim.url)
        with counting_transport() as traffic:
            await setup_integration(hass, entry)
            # Home Assistant refuses entities beyond a per-entry maximum (it warns).
            result.capped = any("maximum of" in text for text in no_token_in_logs)

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
        result.timers = timers
        assert coordinator.last_update_success
        if profile_dir:
            for name, timer in timers.items():
                timer.dump(Path(profile_dir) / f"{name}-{servers}.prof")

        for twin_platform in twin_platforms:
            await twin_platform.async_reset()
        await platform_.async_reset()
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


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
    def loop_and_gc(name: str) -> list[tuple[str, Callable[[Result], str]]]:
        return [
            (
                "  event-loop CPU time: median ms",
                lambda r: _ms(_median(r.runs(name, "cpu"))),
            ),
            (
                "  garbage collection within: mean ms",
                lambda r: _ms(_mean(r.runs(name, "gc"))),
            ),
        ]

    def paired(ours: str, base: str, bold: str = "") -> Callable[[Result], str]:
        return lambda r: (
            f"{bold}{r.pair(ours, base)}{bold} ({r.pair(ours, base, 'cpu')})"
        )

    def spread(name: str) -> Callable[[Result], str]:
        return lambda r: _spread(r.runs(name))

    ratio = "(median of paired ratios; by CPU)"
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
            f"**refresh / floor, changing answer** {ratio}",
            paired("refresh", "floor", "**"),
        ),
        (
            f"**refresh / floor, identical answer** {ratio}",
            paired("same", "same-floor", "**"),
        ),
        ("identical answer: refresh, fetch excluded: median (p95) ms", spread("same")),
        (
            "identical answer: floor (same values again): median (p95) ms",
            spread("same-floor"),
        ),
        (
            "changing answer: refresh, fetch excluded: median (p95) ms",
            spread("refresh"),
        ),
        *loop_and_gc("refresh"),
        ("changing answer: floor: median (p95) ms", spread("floor")),
        *loop_and_gc("floor"),
        ("  `json.loads` alone: median ms", lambda r: _ms(_median(r.parse))),
        (
            "same-kind floor (twins of our entities, no logic): median (p95) ms",
            spread("twins"),
        ),
        *loop_and_gc("twins"),
        (
            "changing answer: refresh / floor as a ratio of medians (by CPU time)",
            lambda r: (
                f"{_ratio(r.runs('refresh'), r.runs('floor'))} "
                f"({_ratio(r.runs('refresh', 'cpu'), r.runs('floor', 'cpu'))})"
            ),
        ),
        ("refresh / same-kind floor (paired; by CPU time)", paired("refresh", "twins")),
        (
            "same-kind floor / floor: Home Assistant's cost of richer entities (paired)",
            paired("twins", "floor"),
        ),
        (
            "changing answer: refresh per enabled entity: median µs",
            lambda r: f"{_median(r.runs('refresh')) / max(r.entities, 1) * 1e6:.1f}",
        ),
        ("timed pairs per answer kind", lambda r: str(len(r.runs("refresh")))),
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
        changing = _paired(r.runs("refresh"), r.runs("floor"))
        lines.append(
            f"| refresh / floor ≤ {RATIO_TARGET} at N = {RATIO_AT}, changing answer"
            " (median of paired wall-time ratios)"
            f" | {changing:.2f} (by event-loop CPU time: {r.pair('refresh', 'floor', 'cpu')})"
            f" | {_mark(changing <= RATIO_TARGET)} |"
        )
        same = _paired(r.runs("same"), r.runs("same-floor"))
        lines.append(
            f"| refresh / floor well under {RATIO_TARGET} at N = {RATIO_AT}, identical"
            f" answer (at most {SAME_TARGET})"
            f" | {same:.2f} (by event-loop CPU time: {r.pair('same', 'same-floor', 'cpu')})"
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
    results = [RESULTS[n] for n in SIZES if n in RESULTS and RESULTS[n].runs("refresh")]
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
        same = _paired(r.runs("same"), r.runs("same-floor"))
        assert same < 1.0, f"identical answer at {r.servers}"
        changing = _paired(r.runs("refresh"), r.runs("floor"))
        assert changing <= REGRESSION_AT, f"changing at {r.servers}"
