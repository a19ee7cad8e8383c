"""The integration's cost at N = 10, 100, 1000 v0 servers, against a floor (``scripts/bench``).

docs/performance.md ("How it is measured") describes every figure; the last test
writes the table there between the ``bench:start``/``bench:end`` markers.
"""

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
import re
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
from pytest_homeassistant_custom_component.common import MockEntityPlatform

from custom_components.nezha.client.transport import RawResponse, Transport
from custom_components.nezha.client.v0 import DETAILS_PATH, MONITOR_PATH
from custom_components.nezha.const import (
    DEFAULT_PING_INTERVAL,
    DEFAULT_SCAN_INTERVAL,
    DOMAIN,
)
from custom_components.nezha.coordinator import NezhaCoordinator
from nezha_dev.simulator import NezhaSimulator
from tests.helpers import TOKEN, setup_integration, unload_all, v0_entry

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
pytestmark = pytest.mark.usefixtures("socket_enabled")


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
        return getattr(self.timers[name], kind) if name in self.timers else []

    def paired(self, ours: str, base: str, kind: str = "runs") -> float:
        """Median of the ratios ``ours``/``base`` of runs timed next to each other."""
        pairs = zip(self.runs(ours, kind), self.runs(base, kind), strict=True)
        return _median([a / b for a, b in pairs if b > 0])

    def pair(self, ours: str, base: str, kind: str = "runs") -> str:
        """:meth:`paired` (wall or CPU time) as the table shows it."""
        runs = self.runs(ours, kind) and self.runs(base, kind)
        return f"{self.paired(ours, base, kind):.2f}" if runs else "-"


RESULTS: dict[int, Result] = {}


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
    """Our entity's metadata, registration and values without its logic: HA's same work."""

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
        self._attr_available, self._attr_native_value = self.values[turn % 2]


class TwinBinarySensor(_Twin, BinarySensorEntity):
    def show(self, turn: int) -> None:
        self._attr_available, self._attr_is_on = self.values[turn % 2]


def _our_entities(hass: HomeAssistant) -> list[Entity]:
    return [e for p in async_get_platforms(hass, DOMAIN) for e in p.entities.values()]


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


@contextmanager
def state_events(hass: HomeAssistant, entity_ids: set[str]) -> Iterator[Counter[str]]:
    """Count state_changed (and attribute-only changes) and state_reported events."""
    seen: Counter[str] = Counter()

    @callback
    def ours(data: Mapping[str, Any]) -> bool:
        return data["entity_id"] in entity_ids

    @callback
    def count(event: Event[Any]) -> None:
        if event.event_type == EVENT_STATE_REPORTED:
            seen["reported"] += 1
            return
        seen["changed"] += 1
        old, new = event.data["old_state"], event.data["new_state"]
        if old is not None and new is not None and old.state == new.state:
            seen["attributes"] += 1

    unsubs = [
        hass.bus.async_listen(kind, count, event_filter=ours)
        for kind in (EVENT_STATE_CHANGED, EVENT_STATE_REPORTED)
    ]
    try:
        yield seen
    finally:
        for unsub in unsubs:
            unsub()


_GC_SECONDS = [0.0, 0.0]  # total so far, start of the running collection


@contextmanager
def gc_timing() -> Iterator[None]:
    """Add up the time the garbage collector runs (for :class:`Timer`)."""

    def tally(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            _GC_SECONDS[1] = time.perf_counter()
        else:
            _GC_SECONDS[0] += time.perf_counter() - _GC_SECONDS[1]

    gc.callbacks.append(tally)
    try:
        yield
    finally:
        gc.callbacks.remove(tally)


class Timer:
    """Times runs of one kind of work: wall time, GC time within, optional cProfile."""

    def __init__(self, *, profile: bool) -> None:
        self.runs: list[float] = []
        self.cpu: list[float] = []
        self.gc: list[float] = []
        self.profiler = cProfile.Profile() if profile else None

    @contextmanager
    def run(self) -> Iterator[None]:
        """Time the ``with`` block: wall and event-loop thread CPU time (steadier)."""
        gc_before = _GC_SECONDS[0]
        if self.profiler is not None:
            self.profiler.enable()
        cpu_started = time.thread_time()
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            self.cpu.append(time.thread_time() - cpu_started)
            if self.profiler is not None:
                self.profiler.disable()
            self.runs.append(elapsed)
            self.gc.append(_GC_SECONDS[0] - gc_before)


async def _refresh(hass: HomeAssistant, coordinator: NezhaCoordinator) -> None:
    await coordinator.async_refresh()
    await hass.async_block_till_done()


@pytest.mark.parametrize("servers", SIZES)
async def test_refresh(
    hass: HomeAssistant, no_token_in_logs: list[logging.LogRecord], servers: int
) -> None:
    """Refresh and floor timings, requests, bytes and writes for one fleet size."""
    result = RESULTS.setdefault(servers, Result(servers))
    async with NezhaSimulator(servers=servers, token=TOKEN, seed=1) as sim:
        entry = v0_entry(sim.url, title=f"Bench {sim.url}")
        with counting_transport() as traffic:
            await setup_integration(hass, entry)
            # Home Assistant refuses entities beyond a per-entry maximum (it warns).
            logged = (record.getMessage() for record in no_token_in_logs)
            result.capped = any("maximum of" in text for text in logged)

            coordinator: NezhaCoordinator = entry.runtime_data
            registered = er.async_entries_for_config_entry
            registry = er.async_get(hass)
            result.registry_entries = len(registered(registry, entry.entry_id))

            # (3) one poll over real HTTP (the ping history is not due yet).
            sim.reset_requests()
            traffic.calls.clear()
            await _refresh(hass, coordinator)
            result.poll_requests = len(sim.requests)
            _, result.poll_bytes = traffic.count("")
            assert traffic.count(DETAILS_PATH)[0] == result.poll_requests
            first = traffic.last[DETAILS_PATH]

            # A poll that is also a ping interval: the history of every online server.
            sim.shift_clock(DEFAULT_SCAN_INTERVAL + 1)
            sim.reset_requests()
            traffic.calls.clear()
            coordinator.side._owed = True  # the round starts with this answer
            await _refresh(hass, coordinator)
            await hass.async_block_till_done(wait_background_tasks=True)
            result.ping_requests, result.ping_bytes = traffic.count(MONITOR_PREFIX)
            # Anything else besides the polls (a scheduled poll may fall in the wait).
            result.ping_other_requests = sum(
                not request.path.startswith((DETAILS_PATH, MONITOR_PREFIX))
                for request in sim.requests
            )
            second = traffic.last[DETAILS_PATH]
            assert first.body != second.body
            result.payload_bytes = len(first.body)

        # Pings stay off from here on: the timing is about the poll alone.
        coordinator.side.update_interval = None
        coordinator.side._owed = False
        ours = {
            reg.entity_id
            for reg in registered(registry, entry.entry_id)
            if hass.states.get(reg.entity_id) is not None
        }
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

        # (2b) the same-kind floor: twins of our entities showing the values ours
        # showed for the two payloads, written the same way as the floor.
        values: dict[str, Values] = {}
        with replayed_details([first, second]):
            for _ in range(2):
                await _refresh(hass, coordinator)
                for entity in _our_entities(hass):
                    values.setdefault(entity.entity_id, []).append(_shown(entity))
        twins, twin_platforms = await _add_twins(hass, values)

        def floor(body: bytes, value: float) -> None:
            json.loads(body)
            for entity in floor_entities:
                entity._attr_native_value = value
                entity.async_write_ha_state()

        def twin_iteration(turn: int) -> None:
            json.loads(bodies[turn % 2])
            for twin in twins:
                twin.show(turn)
                twin.async_write_ha_state()

        # The floors by turn. A new float each time, like the integration's readings
        # (percentages, rates, loads): Home Assistant formats floats for the state
        # string. The identical answer's floor: the same value again (state_reported).
        floors: dict[str, Callable[[int], None]] = {
            "floor": lambda turn: floor(bodies[turn % 2], turn + 0.25),
            "same-floor": lambda turn: floor(bodies[0], 0.25),
            "twins": twin_iteration,
        }
        # NEZHA_BENCH_PROFILE=DIR profiles the timed work (cProfile; the timings
        # of that run are then inflated) into DIR/{refresh,floor,twins}-N.prof.
        profile_dir = os.environ.get("NEZHA_BENCH_PROFILE", "")
        result.timers = timers = {
            name: Timer(profile=bool(profile_dir))
            for name in ("refresh", "floor", "twins", "same", "same-floor")
        }

        async def rounds(kinds: tuple[str, ...], answers: list[RawResponse]) -> None:
            """Warm up, then time the refresh ``kinds[0]`` and its floors in turns."""
            with replayed_details(answers), gc_timing():
                for turn in range(WARMUP):
                    await _refresh(hass, coordinator)
                    for which in kinds[1:]:
                        floors[which](turn)
                gc.collect()
                for turn in range(ITERATIONS[servers]):
                    lead = turn % len(kinds)  # which goes first rotates
                    for which in kinds[lead:] + kinds[:lead]:
                        with timers[which].run():
                            if which in floors:
                                floors[which](turn)
                                await hass.async_block_till_done()
                            else:
                                await _refresh(hass, coordinator)
                    if len(answers) > 1:  # the changing answer: json.loads alone
                        started = time.perf_counter()
                        json.loads(bodies[turn % 2])
                        result.parse.append(time.perf_counter() - started)

        # (1), (2) and (2b), interleaved, then (1') paired rounds of an identical
        # answer: the refresh and its floor alternate.
        await rounds(("refresh", "floor", "twins"), [first, second])
        await rounds(("same", "same-floor"), [first])
        assert coordinator.last_update_success
        for name, timer in timers.items():
            if timer.profiler is not None:  # for python -m pstats
                timer.profiler.dump_stats(Path(profile_dir) / f"{name}-{servers}.prof")

        for added in (*twin_platforms, platform_):
            await added.async_reset()
        await unload_all(hass)


@asynccontextmanager
async def simulator_process(servers: int) -> AsyncIterator[str]:
    """The simulator's URL, run in a process: off Home Assistant's loop and tracemalloc."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *f"-m nezha_dev.simulator --port 0 --servers {servers} --seed 1".split(),
        *("--token", TOKEN),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    stdout = proc.stdout
    assert stdout is not None
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


async def _set_up(hass: HomeAssistant, url: str) -> tuple[float, float]:
    """Set up an entry: the seconds until server, then ping entities existed."""
    entry = v0_entry(url, title=f"Bench {url}")
    started = time.perf_counter()
    await setup_integration(hass, entry, background=False)
    first = time.perf_counter() - started
    await hass.async_block_till_done(wait_background_tasks=True)
    return first, time.perf_counter() - started


@pytest.mark.parametrize("servers", SIZES)
@pytest.mark.parametrize("traced", [False, True], ids=["time", "memory"])
async def test_setup(
    hass: HomeAssistant, hass_storage: dict[str, Any], servers: int, traced: bool
) -> None:
    """Measure in a fresh hass (6) setup time until the entities exist, or (5) memory."""
    result = RESULTS.setdefault(servers, Result(servers))
    stored_before = dict(hass_storage)
    async with simulator_process(servers) as url:
        if not traced:
            result.setup_first, result.setup_all = await _set_up(hass, url)
        else:  # traced memory after setup minus before
            gc.collect()
            tracemalloc.start()
            try:
                before = tracemalloc.take_snapshot()
                await _set_up(hass, url)
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
            ours = str(ROOT / "custom_components" / "nezha")
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
        await unload_all(hass)


def _short_path(filename: str) -> str:
    """Shorten a source path to its package-relative part for the report."""
    for marker in ("/site-packages/", "/custom_components/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    if "/lib/python3" in filename:
        return "stdlib " + filename.split("/lib/python3", 1)[1].split("/", 1)[-1]
    return filename


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else math.nan


def _ratio(ours: list[float], base: list[float]) -> str:
    return f"{_median(ours) / _median(base):.2f}" if ours and base else "-"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}" if seconds < 0.1 else f"{seconds * 1000:.0f}"


def _mark(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


type Cell = Callable[[Result], str]
type Rows = list[tuple[str, Cell]]


def _count(name: str) -> Cell:
    return lambda r: str(getattr(r, name))


def _kib(name: str, *, per_server: bool = False) -> Cell:
    if per_server:
        return lambda r: f"{getattr(r, name) / r.servers / 1024:.1f} KiB"
    return lambda r: f"{getattr(r, name) / 1024:.0f} KiB"


def _spread(name: str) -> Cell:
    """Median and 95th percentile of the wall times in ms."""

    def cell(r: Result) -> str:
        if not (runs := sorted(r.runs(name))):
            return "-"
        p95 = runs[min(len(runs) - 1, math.ceil(0.95 * len(runs)) - 1)]
        return f"{_ms(_median(runs))} ({_ms(p95)})"

    return cell


def _paired(ours: str, base: str, bold: str = "") -> Cell:
    return lambda r: f"{bold}{r.pair(ours, base)}{bold} ({r.pair(ours, base, 'cpu')})"


def _loop_and_gc(name: str) -> Rows:
    def ms(stat: Callable[[list[float]], float], kind: str) -> Cell:
        return lambda r: _ms(stat(r.runs(name, kind)))

    return [
        ("  event-loop CPU time: median ms", ms(_median, "cpu")),
        ("  garbage collection within: mean ms", ms(_mean, "gc")),
    ]


PAIRED = "(median of paired ratios; by CPU)"
ROWS: Rows = [
    ("enabled entities (the floor writes as many states)", _count("entities")),
    (
        "states written per refresh: changing answer (identical answer)",
        lambda r: f"{r.writes} ({r.state_changes + r.reports})",
    ),
    (
        "Home Assistant's per-entry entity maximum reached (entities refused)",
        lambda r: "**yes**" if r.capped else "no",
    ),
    ("entity registry entries (incl. disabled by default)", _count("registry_entries")),
    ("`/server/details` body", _kib("payload_bytes")),
    (
        f"**refresh / floor, changing answer** {PAIRED}",
        _paired("refresh", "floor", "**"),
    ),
    (
        f"**refresh / floor, identical answer** {PAIRED}",
        _paired("same", "same-floor", "**"),
    ),
    ("identical answer: refresh, fetch excluded: median (p95) ms", _spread("same")),
    (
        "identical answer: floor (same values again): median (p95) ms",
        _spread("same-floor"),
    ),
    ("changing answer: refresh, fetch excluded: median (p95) ms", _spread("refresh")),
    *_loop_and_gc("refresh"),
    ("changing answer: floor: median (p95) ms", _spread("floor")),
    *_loop_and_gc("floor"),
    ("  `json.loads` alone: median ms", lambda r: _ms(_median(r.parse))),
    (
        "same-kind floor (twins of our entities, no logic): median (p95) ms",
        _spread("twins"),
    ),
    *_loop_and_gc("twins"),
    (
        "changing answer: refresh / floor as a ratio of medians (by CPU time)",
        lambda r: (
            f"{_ratio(r.runs('refresh'), r.runs('floor'))} "
            f"({_ratio(r.runs('refresh', 'cpu'), r.runs('floor', 'cpu'))})"
        ),
    ),
    ("refresh / same-kind floor (paired; by CPU time)", _paired("refresh", "twins")),
    (
        "same-kind floor / floor: Home Assistant's cost of richer entities (paired)",
        _paired("twins", "floor"),
    ),
    (
        "changing answer: refresh per enabled entity: median µs",
        lambda r: f"{_median(r.runs('refresh')) / max(r.entities, 1) * 1e6:.1f}",
    ),
    ("timed pairs per answer kind", lambda r: str(len(r.runs("refresh")))),
    ("HTTP requests per poll", _count("poll_requests")),
    ("response bytes per poll", _kib("poll_bytes")),
    (
        f"HTTP requests per ping interval ({DEFAULT_PING_INTERVAL} s), besides the polls",
        lambda r: str(r.ping_requests + r.ping_other_requests),
    ),
    ("response bytes per ping interval, besides the polls", _kib("ping_bytes")),
    ("state changes from an identical payload", _count("state_changes")),
    ("  of which attribute-only changes", _count("attribute_changes")),
    ("  state_reported events (unchanged writes)", _count("reports")),
    ("memory after setup, per server (traced)", _kib("memory_bytes", per_server=True)),
    (
        "  of which allocated in custom_components/nezha",
        _kib("memory_ours_bytes", per_server=True),
    ),
    ("setup until the server entities exist", lambda r: f"{r.setup_first:.2f} s"),
    ("setup until the ping sensors exist too", lambda r: f"{r.setup_all:.2f} s"),
]


def _table(results: list[Result]) -> list[str]:
    return [
        "| measure | " + " | ".join(f"N = {r.servers}" for r in results) + " |",
        "|---|" + "---:|" * len(results),
        *(
            f"| {name} | " + " | ".join(fn(r) for r in results) + " |"
            for name, fn in ROWS
        ),
    ]


def _targets(results: list[Result]) -> list[str]:
    lines = ["| target | result | |", "|---|---|---|"]
    by_n = {r.servers: r for r in results}
    if (r := by_n.get(RATIO_AT)) is not None:
        changing = r.paired("refresh", "floor")
        lines.append(
            f"| refresh / floor ≤ {RATIO_TARGET} at N = {RATIO_AT}, changing answer"
            " (median of paired wall-time ratios)"
            f" | {changing:.2f} (by event-loop CPU time: {r.pair('refresh', 'floor', 'cpu')})"
            f" | {_mark(changing <= RATIO_TARGET)} |"
        )
        same = r.paired("same", "same-floor")
        lines.append(
            f"| refresh / floor well under {RATIO_TARGET} at N = {RATIO_AT}, identical"
            f" answer (at most {SAME_TARGET})"
            f" | {same:.2f} (by event-loop CPU time: {r.pair('same', 'same-floor', 'cpu')})"
            f" | {_mark(same <= SAME_TARGET)} |"
        )
    polls = [r.poll_requests for r in results]
    unchanged = [r.state_changes + r.reports for r in results]
    churn = [r.state_changes for r in results]
    for target, counts in (
        ("HTTP requests per poll constant in N", polls),
        ("no state written for an identical payload", unchanged),
        ("zero churn: no state or attribute change from an identical payload", churn),
    ):
        # Requests per poll must not grow with N; the other counts must be zero.
        met = len(set(counts)) == 1 if counts is polls else not any(counts)
        per_n = zip(counts, results, strict=True)
        found = ", ".join(f"{count} at N = {r.servers}" for count, r in per_n)
        lines.append(f"| {target} | {found} | {_mark(met)} |")
    return lines


def _machine() -> str:
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        cpuinfo = ""
    model = re.search(r"^model name[^:]*:(.*)$", cpuinfo, re.MULTILINE)
    return (
        f"{os.cpu_count()} CPUs ({model.group(1).strip() if model else 'unknown CPU'}), "
        f"Python {platform.python_version()}, Home Assistant {ha_const.__version__}, "
        f"{platform.system()} {platform.machine()}"
    )


def _memory_top(r: Result) -> list[str]:
    top = [
        f"- `{name}`: {size / r.servers / 1024:.1f} KiB per server"
        for name, size in r.memory_top
    ]
    heading = f"Largest memory growth during setup at N = {r.servers}, by the file"
    return [f"{heading} that allocated it:", "", *top, ""] if top else []


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
        assert r.paired("same", "same-floor") < 1.0, f"identical answer at {r.servers}"
        changing = r.paired("refresh", "floor")
        assert changing <= REGRESSION_AT, f"changing at {r.servers}"
