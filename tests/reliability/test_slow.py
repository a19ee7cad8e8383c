"""A dashboard slower than the timeout: one request at a time, the loop stays free."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp import web
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers.update_coordinator import UpdateFailed
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.nezha.client import NezhaTimeoutError
from custom_components.nezha.client.transport import DEFAULT_TIMEOUT
from custom_components.nezha.coordinator import NezhaCoordinator
from custom_components.nezha.coordinator_v1 import NezhaStreamCoordinator
from nezha_dev.simulator import Fault, NezhaSimulator
from nezha_dev.simulator.faults import Handler
from tests.helpers import (
    DETAILS,
    GROUPS,
    SERVERS,
    WS,
    Harness,
    entity_ids,
    paths,
    setup_frozen,
    unavailable,
    v1_entry,
    wait_for,
)
from tests.reliability.helpers import (
    COORDINATOR,
    SCAN,
    TITLE,
    count,
    failed_polls,
    loud,
    ours,
    stream_at_rest,
    wall,
)

# -- a dashboard slower than the timeout: one request at a time, the loop stays free ----


TIMEOUT = DEFAULT_TIMEOUT  # the client's request (and stream handshake) timeout: 10 s
HANG = 3600.0  # the simulator's SLOW delay: no slow answer ever comes in these tests
# A scheduled poll goes out 30 s after the previous one ended (HA's 0.05-0.5 s
# stagger falls inside the 0.5 s by which async_fire_time_changed fires early) and
# gives up 10 s later: one poll every 40 s, six in four minutes.
CYCLE = int(SCAN.total_seconds() + TIMEOUT)
SLOW_POLLS = 6
SLOW_SECONDS = SLOW_POLLS * CYCLE  # 240 s: the sixth poll gives up on the last step
LATENCY_LIMIT = 0.05  # real seconds


@dataclass
class Hang:
    """One request the simulator held back, with times on its (frozen) clock."""

    path: str
    started: float
    ended: float | None = None
    cancelled: bool = False  # the client gave up and closed the connection

    @property
    def stream(self) -> bool:
        """Whether this is the v1 stream's WebSocket handshake (not REST)."""
        return self.path == WS


class SlowAnswers:
    """Times every SLOW answer from inside the simulator, its code unchanged.

    The simulator's middleware records each request, then hands a faulted one to
    ``FaultInjector.apply``, which for SLOW sleeps ``slow_seconds`` and only then
    answers. That method is wrapped on the simulator's instance: a request is in
    flight from the moment it starts waiting until its handler ends. No slow
    answer ever comes (``HANG`` is far beyond the simulated time), so it ends only
    when aiohttp's server cancels the handler because the client closed the
    connection (the simulator runs with ``handler_cancellation=True``).
    ``peak`` is the most requests of one kind (REST, or the stream's handshake)
    that were ever waiting at the same time.
    """

    def __init__(self, sim: NezhaSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
        """Wrap the simulator's fault hook (undone by ``monkeypatch``)."""
        self.hangs: list[Hang] = []
        self.peak = {False: 0, True: 0}  # by Hang.stream
        apply = sim._faults.apply

        async def timed(
            kind: Fault, request: web.Request, handler: Handler
        ) -> web.StreamResponse:
            if kind is not Fault.SLOW:
                return await apply(kind, request, handler)
            hang = Hang(request.path, sim.now())
            self.hangs.append(hang)
            waiting = len(self.open(stream=hang.stream))
            self.peak[hang.stream] = max(self.peak[hang.stream], waiting)
            try:
                return await apply(kind, request, handler)
            except asyncio.CancelledError:
                hang.cancelled = True
                raise
            finally:
                hang.ended = sim.now()

        monkeypatch.setattr(sim._faults, "apply", timed)

    def open(self, *, stream: bool = False) -> list[Hang]:
        """The requests of one kind still waiting for their answer."""
        return [h for h in self.hangs if h.ended is None and h.stream is stream]

    def rest(self) -> list[tuple[float, float | None, str, bool]]:
        """The REST requests as (start, end, path, cancelled)."""
        return [
            (h.started, h.ended, h.path, h.cancelled)
            for h in self.hangs
            if not h.stream
        ]


def scheduled_polls(
    monkeypatch: pytest.MonkeyPatch,
    coordinator: NezhaCoordinator,
    clock: Callable[[], float],
) -> list[float]:
    """The times at which HA's update interval fired a poll, from now on.

    ``DataUpdateCoordinator`` schedules each poll with ``loop.call_at`` and the
    handle calls ``self._handle_refresh_interval()``, found on the instance here.
    """
    fired: list[float] = []
    handle = coordinator._handle_refresh_interval

    async def counted(_now: Any = None) -> None:
        fired.append(clock())
        await handle(_now)

    monkeypatch.setattr(coordinator, "_handle_refresh_interval", counted)
    return fired


def failure_of(coordinator: NezhaCoordinator) -> tuple[str, str | None, str, str]:
    """The last failed update: error type, translation key, cause type, cause."""
    err = coordinator.last_exception
    assert isinstance(err, UpdateFailed), repr(err)
    cause = err.__cause__
    return (type(err).__name__, err.translation_key, type(cause).__name__, str(cause))


def timed_out(path: str) -> tuple[str, str | None, str, str]:
    """What :func:`failure_of` shows for a request that timed out."""
    return (
        UpdateFailed.__name__,
        "timeout",
        NezhaTimeoutError.__name__,
        f"{path}: no answer within {TIMEOUT:g} s",
    )


def timeout_logged(path: str) -> str:
    """The one error line of an outage in which ``path`` timed out."""
    return (
        f"ERROR Error fetching {COORDINATOR} data: The dashboard did not answer "
        f"in time: {path}: no answer within {TIMEOUT:g} s"
    )


def poll_durations(caplog: pytest.LogCaptureFixture) -> list[str]:
    """How long each failed update took, from the coordinator's own debug line."""
    prefix = f"Finished fetching {COORDINATOR} data in "
    return [
        message.removeprefix(prefix).removesuffix(" (success: False)")
        for r in caplog.records
        if (message := r.getMessage()).startswith(prefix)
        and message.endswith("(success: False)")
    ]


async def settle_slow(
    hass: HomeAssistant,
    coordinator: NezhaCoordinator,
    slow: SlowAnswers,
    clock: Callable[[], float],
) -> None:
    """Wait until every request was answered or hangs with time to go.

    REST: no poll runs, or one poll runs and exactly one request hangs at the
    dashboard with its client's timeout not due yet (so nothing but the socket
    is awaited). The v1 stream: at rest (see :func:`stream_at_rest`), or its
    handshake hangs with time to go. Two requests of one kind at once end the
    wait too, for the assertions on ``slow.peak`` to report.
    """
    entry = coordinator.config_entry
    stream = getattr(coordinator, "_stream_task", None)

    def pending(hangs: list[Hang]) -> bool:
        return len(hangs) == 1 and clock() < hangs[0].started + TIMEOUT

    def quiet() -> bool:
        rest, handshake = slow.open(), slow.open(stream=True)
        if len(rest) > 1 or len(handshake) > 1:
            return True
        busy = any(task is not stream for task in entry._background_tasks)
        rest_quiet = busy and pending(rest) if rest else not busy
        if stream is None:
            return rest_quiet
        assert isinstance(coordinator, NezhaStreamCoordinator)
        stream_quiet = pending(handshake) if handshake else stream_at_rest(coordinator)
        return rest_quiet and stream_quiet

    await hass.async_block_till_done()
    await wait_for(quiet, "each request to hang with time to go, or to end")


async def step_slow(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    coordinator: NezhaCoordinator,
    slow: SlowAnswers,
    clock: Callable[[], float],
) -> None:
    """Move the clock on by one second, fire what is due and let it settle."""
    freezer.tick(timedelta(seconds=1))
    async_fire_time_changed(hass)
    await settle_slow(hass, coordinator, slow, clock)


def make_slow(sim: NezhaSimulator) -> None:
    """Every request from now on waits an hour for its answer."""
    sim.slow_seconds = HANG
    sim.inject_fault(Fault.SLOW, count=None)


async def test_slow_dashboard_v0(
    nz: Harness, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every answer an hour late for 4 min: one request per poll, never two at once.

    The polls HA fires are counted on the coordinator (:func:`scheduled_polls`);
    the requests in flight are timed inside the simulator (:class:`SlowAnswers`).
    Each poll sends one request the moment it fires, gives up after exactly 10 s
    (the dashboard sees the connection close), and the next goes out 30 s later.
    """
    hass, entry, sim = nz.hass, nz.entry, nz.sim
    coordinator = entry.runtime_data
    ids = nz.entity_ids()
    slow = SlowAnswers(sim, monkeypatch)
    polls = scheduled_polls(monkeypatch, coordinator, sim.now)
    origin = sim.now()

    caplog.clear()
    sim.reset_requests()
    make_slow(sim)
    failures: list[tuple[str, str | None, str, str]] = []
    for _ in range(SLOW_SECONDS):
        failed = failed_polls(caplog)
        await step_slow(hass, nz.freezer, coordinator, slow, sim.now)
        if failed_polls(caplog) > failed:
            failures.append(failure_of(coordinator))
        # The last data stays while the first request hangs; then all unavailable.
        assert nz.unavailable() == (ids if failures else set())
        assert entry.state is ConfigEntryState.LOADED

    assert slow.peak == {False: 1, True: 0}  # never two requests in flight
    starts = [origin + k * CYCLE + SCAN.total_seconds() for k in range(SLOW_POLLS)]
    assert polls == starts  # 30, 70, ..., 230 s
    assert slow.rest() == [(t, t + TIMEOUT, DETAILS, True) for t in starts]
    assert paths(sim) == [DETAILS] * SLOW_POLLS
    assert failed_polls(caplog) == SLOW_POLLS
    assert failures == [timed_out(DETAILS)] * SLOW_POLLS
    assert poll_durations(caplog) == ["10.000 seconds"] * SLOW_POLLS
    assert loud(caplog) == [timeout_logged(DETAILS)]

    # Answers come at once again: the next poll, 30 s after the last gave up.
    caplog.clear()
    sim.reset_requests()
    sim.clear_faults()
    for _ in range(int(SCAN.total_seconds()) - 1):
        await step_slow(hass, nz.freezer, coordinator, slow, sim.now)
    assert sim.requests == []
    assert nz.unavailable() == ids
    await step_slow(hass, nz.freezer, coordinator, slow, sim.now)
    assert paths(sim) == [DETAILS]  # the next ping round is due at 300 s
    assert not nz.unavailable()
    assert ours(caplog) == [f"INFO Fetching {COORDINATOR} data recovered"]
    assert loud(caplog) == []
    assert len(slow.hangs) == SLOW_POLLS
    assert entry.runtime_data is coordinator


def backoff_bounds(attempt: int) -> tuple[int, int]:
    """Whole seconds between a failed stream attempt and the next handshake.

    ``Backoff`` waits between half and all of ``2**attempt`` s (cap 300 s), and
    async_fire_time_changed fires a timer up to 0.5 s early: with 1 s steps the
    handshake comes between ``2**(attempt - 1)`` and ``2**attempt`` s later.
    """
    return min(150, 2 ** (attempt - 1)), min(300, 2**attempt)


async def test_slow_dashboard_v1(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    v1_sim: NezhaSimulator,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same on v1 with the stream cut: REST polls one at a time, 40 s apart.

    Every request is slow, the stream's handshakes too: those run beside the
    polls (one at a time, each given up after 10 s, spaced by the backoff), so
    at most one REST request and one handshake are in flight at once.
    """
    sim = v1_sim
    entry = v1_entry(sim)
    coordinator = await setup_frozen(hass, entry)
    runner = coordinator.stream
    assert runner is not None and runner.connected
    ids = entity_ids(hass, entry)
    slow = SlowAnswers(sim, monkeypatch)
    polls = scheduled_polls(monkeypatch, coordinator, sim.now)
    origin = sim.now()

    caplog.clear()
    sim.reset_requests()
    make_slow(sim)
    await sim.drop_websockets()
    await wait_for(lambda: not runner.connected, "the stream to notice")
    await settle_slow(hass, coordinator, slow, sim.now)
    failures: list[tuple[str, str | None, str, str]] = []
    for _ in range(SLOW_SECONDS):
        failed = failed_polls(caplog)
        await step_slow(hass, frozen, coordinator, slow, sim.now)
        if failed_polls(caplog) > failed:
            failures.append(failure_of(coordinator))
        # The last data stays while the first request hangs; then all unavailable.
        assert unavailable(hass, ids) == (ids if failures else set())
        assert entry.state is ConfigEntryState.LOADED

    assert slow.peak == {False: 1, True: 1}  # one poll and one handshake at most
    starts = [origin + k * CYCLE + SCAN.total_seconds() for k in range(SLOW_POLLS)]
    assert polls == starts  # 30, 70, ..., 230 s
    # One /server per poll (the groups request never follows a failed one).
    assert slow.rest() == [(t, t + TIMEOUT, SERVERS, True) for t in starts]
    assert count(sim, SERVERS) == SLOW_POLLS
    assert failed_polls(caplog) == SLOW_POLLS
    assert failures == [timed_out(SERVERS)] * SLOW_POLLS
    assert poll_durations(caplog) == ["10.000 seconds"] * SLOW_POLLS
    # The handshakes: each given up after 10 s, the next one after the backoff
    # (the seventh may still wait at the end); nothing else was asked.
    handshakes = [h for h in slow.hangs if h.stream]
    done = [h for h in handshakes if h.ended is not None]
    assert len(done) == runner.attempts - 1  # the drop, then each failed handshake
    assert 6 <= len(handshakes) <= 7
    assert [(h.ended, h.cancelled) for h in done] == [
        (h.started + TIMEOUT, True) for h in done
    ]
    previous_end = origin
    for attempt, hang in enumerate(handshakes, start=1):
        low, high = backoff_bounds(attempt)
        assert low <= hang.started - previous_end <= high, (attempt, hang)
        previous_end = hang.ended or hang.started
    assert count(sim, WS) == len(handshakes)
    assert len(sim.requests) == SLOW_POLLS + len(handshakes)
    interrupted = (
        f"INFO Live updates from {TITLE} interrupted (stream closed (CLOSED)); "
        "polling until they resume"
    )
    assert ours(caplog) == [interrupted, timeout_logged(SERVERS)]
    assert loud(caplog) == [timeout_logged(SERVERS)]

    # Answers come at once again. Whichever comes first ends it: the next poll,
    # 30 s after the last gave up, which wakes the stream from its backoff, or a
    # handshake of the stream, whose first frame triggers the update at once. (No
    # handshake sent while the dashboard was slow is still waiting by then.)
    caplog.clear()
    sim.reset_requests()
    sim.clear_faults()
    next_poll = starts[-1] + CYCLE
    for _ in range(int(SCAN.total_seconds())):
        await step_slow(hass, frozen, coordinator, slow, sim.now)
        if not unavailable(hass, ids):
            break
    assert not unavailable(hass, ids)
    assert runner.connected  # on the same step
    recovered_at = sim.now()
    assert [r.time for r in sim.requests if r.path == WS] == [recovered_at]
    if recovered_at < next_poll:
        by = "stream"
        assert count(sim, SERVERS) == 0  # the update took the stream's data
    else:
        by = "poll"
        assert recovered_at == next_poll
        assert [p for p in paths(sim) if p != WS] == [SERVERS, GROUPS]
    assert slow.open() == slow.open(stream=True) == []
    assert sorted(ours(caplog)) == [
        f"INFO Fetching {COORDINATOR} data recovered",
        f"INFO Live updates from {TITLE} are back",
    ]
    assert loud(caplog) == []
    assert entry.runtime_data is coordinator
    assert coordinator.stream is runner
    print(  # noqa: T201 - numbers for the report
        f"\nv1 slow: polls at {[p - origin for p in polls]}, handshakes at "
        f"{[(h.started - origin, h.ended and h.ended - origin) for h in handshakes]}"
        f", recovered (stream back) at {recovered_at - origin} by the {by}"
    )


LATENCY_ROUNDS = 20  # samples of each kind per simulated second


def stamp(done: asyncio.Future[float]) -> None:
    """Resolve ``done`` with the real time at which the loop ran this callback."""
    done.set_result(wall())


async def loop_latencies(hass: HomeAssistant, rounds: int) -> dict[str, list[float]]:
    """Real seconds the loop took to serve small pieces of work, ``rounds`` each.

    A ``sleep(0)`` round trip, a ``call_soon`` callback, a Home Assistant task
    (not started eagerly) and ``hass.async_block_till_done()``.
    """
    loop = asyncio.get_running_loop()
    latencies: dict[str, list[float]] = {
        "sleep(0)": [],
        "call_soon": [],
        "hass task": [],
        "block_till_done": [],
    }

    async def now() -> float:
        return wall()

    for _ in range(rounds):
        begin = wall()
        await asyncio.sleep(0)
        latencies["sleep(0)"].append(wall() - begin)
        done: asyncio.Future[float] = loop.create_future()
        begin = wall()
        loop.call_soon(stamp, done)
        latencies["call_soon"].append(await done - begin)
        begin = wall()
        task = hass.async_create_task(now(), eager_start=False)
        latencies["hass task"].append(await task - begin)
        begin = wall()
        await hass.async_block_till_done()
        latencies["block_till_done"].append(wall() - begin)
    return latencies


async def sample_while_hanging(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    coordinator: NezhaCoordinator,
    slow: SlowAnswers,
    sim: NezhaSimulator,
) -> tuple[list[float], dict[str, list[float]]]:
    """Step through one poll cycle; time the loop at each second a poll hangs.

    Returns the seconds (since the start) at which a poll was hanging, and the
    latencies of :func:`loop_latencies` over all of them.
    """
    origin = sim.now()
    hanging_at: list[float] = []
    latencies: dict[str, list[float]] = {}
    for _ in range(CYCLE):
        await step_slow(hass, freezer, coordinator, slow, sim.now)
        hanging = slow.open()
        if not hanging:
            continue
        hanging_at.append(sim.now() - origin)
        for kind, values in (await loop_latencies(hass, LATENCY_ROUNDS)).items():
            latencies.setdefault(kind, []).extend(values)
        assert slow.open() == hanging  # still the same request, still waiting
        assert coordinator.last_update_success  # it has not given up yet
    return hanging_at, latencies


def report_latencies(title: str, latencies: dict[str, list[float]]) -> None:
    """Print the largest and the median latency of each kind, in ms."""
    parts = [
        f"{kind} n={len(v)} max {max(v) * 1000:.2f} median "
        f"{sorted(v)[len(v) // 2] * 1000:.3f}"
        for kind, v in latencies.items()
    ]
    print(f"\n{title} loop latency (ms): " + "; ".join(parts))  # noqa: T201


async def test_slow_poll_leaves_the_loop_free_v0(
    nz: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a poll waits for the dashboard, the loop serves other work at once.

    From the moment the poll's request hangs at the dashboard (30 s) until it
    gives up (40 s), at every simulated second the loop is timed serving small
    work (:func:`loop_latencies`), 20 times each; every sample must take less
    than 50 ms of real time. ``block_till_done`` returning shows the hanging
    poll is a background task nothing else waits for. Real time is read from
    CLOCK_MONOTONIC (:func:`wall`): freezegun also freezes ``time.monotonic``,
    ``time.perf_counter`` and their ``_ns`` variants.
    """
    hass, sim = nz.hass, nz.sim
    coordinator = nz.entry.runtime_data
    slow = SlowAnswers(sim, monkeypatch)
    origin = sim.now()
    sim.reset_requests()
    make_slow(sim)

    hanging_at, latencies = await sample_while_hanging(
        hass, nz.freezer, coordinator, slow, sim
    )
    assert hanging_at == [float(s) for s in range(30, 40)]
    assert slow.rest() == [(origin + 30, origin + 40, DETAILS, True)]
    assert paths(sim) == [DETAILS]
    assert failure_of(coordinator) == timed_out(DETAILS)
    assert nz.unavailable() == nz.entity_ids()
    report_latencies("v0", latencies)
    for kind, values in latencies.items():
        assert len(values) == len(hanging_at) * LATENCY_ROUNDS
        assert max(values) < LATENCY_LIMIT, (kind, max(values))


async def test_slow_poll_leaves_the_loop_free_v1(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    v1_sim: NezhaSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The same on v1 while the stream is cut and REST is polled instead."""
    sim = v1_sim
    entry = v1_entry(sim)
    coordinator = await setup_frozen(hass, entry)
    ids = entity_ids(hass, entry)
    runner = coordinator.stream
    assert runner is not None
    slow = SlowAnswers(sim, monkeypatch)
    origin = sim.now()
    sim.reset_requests()
    make_slow(sim)
    await sim.drop_websockets()
    await wait_for(lambda: not runner.connected, "the stream to notice")

    hanging_at, latencies = await sample_while_hanging(
        hass, frozen, coordinator, slow, sim
    )
    assert hanging_at == [float(s) for s in range(30, 40)]
    assert slow.rest() == [(origin + 30, origin + 40, SERVERS, True)]
    assert failure_of(coordinator) == timed_out(SERVERS)
    assert unavailable(hass, ids) == ids
    report_latencies("v1", latencies)
    for kind, values in latencies.items():
        assert len(values) == len(hanging_at) * LATENCY_ROUNDS
        assert max(values) < LATENCY_LIMIT, (kind, max(values))
