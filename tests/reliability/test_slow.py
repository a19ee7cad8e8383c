"""A dashboard slower than the timeout: one request at a time, the loop stays free."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiohttp import web
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers.update_coordinator import UpdateFailed
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.nezha.client import NezhaTimeoutError
from custom_components.nezha.client.transport import DEFAULT_TIMEOUT
from custom_components.nezha.coordinator import NezhaCoordinator
from custom_components.nezha.coordinator_v1 import NezhaStreamCoordinator
from nezha_dev.simulator import Fault
from nezha_dev.simulator.faults import Handler
from tests.helpers import DETAILS, GROUPS, SERVERS, WS, entity_ids, paths, wait_for
from tests.reliability.helpers import (
    INTERRUPTED,
    SCAN,
    Rig,
    assert_recovered,
    error_line,
    failed_polls,
    loud,
    ours,
    stream_at_rest,
    wall,
)

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
    stream: bool  # the v1 stream's WebSocket handshake (not REST)
    ended: float | None = None
    cancelled: bool = False  # the client gave up and closed the connection


class SlowAnswers:
    """Times each SLOW answer (ended when the client gives up) and each poll fired."""

    def __init__(self, rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
        """Wrap the simulator's fault hook (undone by ``monkeypatch``)."""
        self.rig, sim = rig, rig.sim
        self.hangs: list[Hang] = []
        self.peak = {False: 0, True: 0}  # most waiting at once, by Hang.stream
        apply = sim._faults.apply

        async def timed(
            kind: Fault, request: web.Request, handler: Handler
        ) -> web.StreamResponse:
            if kind is not Fault.SLOW:
                return await apply(kind, request, handler)
            hang = Hang(request.path, sim.now(), request.path == WS)
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
        self.polls: list[float] = []  # when HA's update interval fired a poll
        handle = rig.coordinator._handle_refresh_interval  # what loop.call_at calls

        async def counted(_now: Any = None) -> None:
            self.polls.append(sim.now())
            await handle(_now)

        monkeypatch.setattr(rig.coordinator, "_handle_refresh_interval", counted)

    def open(self, *, stream: bool = False) -> list[Hang]:
        """The requests of one kind still waiting for their answer."""
        return [h for h in self.hangs if h.ended is None and h.stream is stream]

    async def settle(self) -> None:
        """Wait until each request ended or hangs with time to go (or two do)."""
        coordinator, clock = self.rig.coordinator, self.rig.sim.now
        entry = coordinator.config_entry
        stream = getattr(coordinator, "_stream_task", None)

        def pending(hangs: list[Hang]) -> bool:
            return len(hangs) == 1 and clock() < hangs[0].started + TIMEOUT

        def quiet() -> bool:
            rest, handshake = self.open(), self.open(stream=True)
            if len(rest) > 1 or len(handshake) > 1:
                return True
            busy = any(task is not stream for task in entry._background_tasks)
            rest_quiet = busy and pending(rest) if rest else not busy
            if stream is None:
                return rest_quiet
            assert isinstance(coordinator, NezhaStreamCoordinator)
            stream_quiet = (
                pending(handshake) if handshake else stream_at_rest(coordinator)
            )
            return rest_quiet and stream_quiet

        await self.rig.hass.async_block_till_done()
        await wait_for(quiet, "each request to hang with time to go, or to end")

    async def step(self) -> None:
        """Move the clock on by one second, fire what is due and let it settle."""
        self.rig.freezer.tick(timedelta(seconds=1))
        async_fire_time_changed(self.rig.hass)
        await self.settle()


def failure_of(coordinator: NezhaCoordinator) -> tuple[str, str | None, str, str]:
    """The last failed update: error type, translation key, cause type, cause."""
    err = coordinator.last_exception
    assert isinstance(err, UpdateFailed), repr(err)
    cause = err.__cause__
    return (type(err).__name__, err.translation_key, type(cause).__name__, str(cause))


LATENCY_ROUNDS = 20  # samples of each kind per simulated second


async def loop_latencies(hass: HomeAssistant) -> dict[str, list[float]]:
    """Real seconds the loop took to serve small work, ``LATENCY_ROUNDS`` of each."""
    loop = asyncio.get_running_loop()

    async def now(work: Awaitable[Any] | None = None) -> float:
        if work is not None:
            await work
        return wall()

    async def call_soon() -> float:
        done: asyncio.Future[float] = loop.create_future()
        loop.call_soon(lambda: done.set_result(wall()))
        return await done

    kinds: dict[str, Callable[[], Awaitable[float]]] = {
        "sleep(0)": lambda: now(asyncio.sleep(0)),
        "call_soon": call_soon,
        # A Home Assistant task, not started eagerly.
        "hass task": lambda: hass.async_create_task(now(), eager_start=False),
        "block_till_done": lambda: now(hass.async_block_till_done()),
    }
    latencies: dict[str, list[float]] = {kind: [] for kind in kinds}
    for _ in range(LATENCY_ROUNDS):
        for kind, work in kinds.items():
            begin = wall()
            latencies[kind].append(await work() - begin)
    return latencies


async def test_slow_dashboard(
    rig: Rig, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Answers 1 h late: a poll per 40 s, never two at once; the loop stays free."""
    sim, coordinator, runner = rig.sim, rig.coordinator, rig.runner
    slow = SlowAnswers(rig, monkeypatch)
    origin = sim.now()
    caplog.clear()
    sim.reset_requests()
    # Every request from now on waits an hour for its answer; v1: the stream is cut.
    sim.slow_seconds = HANG
    sim.inject_fault(Fault.SLOW, count=None)
    if rig.v1:
        await sim.drop_websockets()
        await wait_for(lambda: not runner.connected, "the stream to notice")
    await slow.settle()
    failures: list[tuple[str, str | None, str, str]] = []
    hanging_at: list[float] = []
    latencies: dict[str, list[float]] = {}
    for second in range(1, SLOW_SECONDS + 1):
        failed = len(failed_polls(caplog))
        await slow.step()
        if len(failed_polls(caplog)) > failed:
            failures.append(failure_of(coordinator))
        # The last data stays while the first request hangs; then all unavailable.
        assert rig.unavailable() == (rig.ids if failures else set())
        assert rig.entry.state is ConfigEntryState.LOADED
        if second <= CYCLE and (hanging := slow.open()):
            # The first poll hangs (30-40 s): the loop serves small work at once.
            hanging_at.append(sim.now() - origin)
            for kind, values in (await loop_latencies(rig.hass)).items():
                latencies.setdefault(kind, []).extend(values)
            assert slow.open() == hanging  # still the same request, still waiting
            assert coordinator.last_update_success  # it has not given up yet

    assert hanging_at == [float(s) for s in range(30, 40)]
    parts = [
        f"{kind} n={len(v)} max {max(v) * 1000:.2f} median "
        f"{sorted(v)[len(v) // 2] * 1000:.3f}"
        for kind, v in latencies.items()
    ]
    print(f"\n{rig.sim.generation} loop latency (ms): " + "; ".join(parts))  # noqa: T201
    for kind, values in latencies.items():
        assert len(values) == len(hanging_at) * LATENCY_ROUNDS
        assert max(values) < LATENCY_LIMIT, (kind, max(values))
    assert slow.peak == {False: 1, True: int(rig.v1)}  # one poll (and handshake)
    starts = [origin + k * CYCLE + SCAN.total_seconds() for k in range(SLOW_POLLS)]
    assert slow.polls == starts  # 30, 70, ..., 230 s
    # One request per poll (v1: the groups request never follows a failed one).
    rest = [h for h in slow.hangs if not h.stream]
    assert [(h.started, h.ended, h.path, h.cancelled) for h in rest] == [
        (t, t + TIMEOUT, rig.rest, True) for t in starts
    ]
    assert paths(sim).count(rig.rest) == len(failed_polls(caplog)) == SLOW_POLLS
    no_answer = f"no answer within {TIMEOUT:g} s"
    timed_out = (UpdateFailed.__name__, "timeout", NezhaTimeoutError.__name__)
    assert failures == [(*timed_out, f"{rig.rest}: {no_answer}")] * SLOW_POLLS
    assert failed_polls(caplog) == ["10.000 seconds"] * SLOW_POLLS
    logged = error_line("The dashboard did not answer in time", rig.rest, no_answer)
    # The handshakes: each given up after 10 s, the next one after the backoff
    # (the seventh may still wait at the end); nothing else was asked.
    handshakes = [h for h in slow.hangs if h.stream]
    if rig.v1:
        done = [h for h in handshakes if h.ended is not None]
        assert len(done) == runner.attempts - 1  # the drop, then each failed one
        assert 6 <= len(handshakes) <= 7
        assert [(h.ended, h.cancelled) for h in done] == [
            (h.started + TIMEOUT, True) for h in done
        ]
        previous_end = origin
        for attempt, hang in enumerate(handshakes, start=1):
            # Backoff waits half to all of 2**attempt s (cap 300); timers fire up
            # to 0.5 s early.
            low, high = min(150, 2 ** (attempt - 1)), min(300, 2**attempt)
            assert low <= hang.started - previous_end <= high, (attempt, hang)
            previous_end = hang.ended or hang.started
        interrupted = f"{INTERRUPTED}(CLOSED)); polling until they resume"
        assert ours(caplog) == [interrupted, logged]
    assert paths(sim).count(WS) == len(handshakes)
    assert len(sim.requests) == SLOW_POLLS + len(handshakes)
    assert loud(caplog) == [logged]
    # Said once, at any level, though six polls failed.
    said = [
        r.getMessage() for r in caplog.records if "did not answer" in r.getMessage()
    ]
    assert said == [logged.removeprefix("ERROR ")]

    # Answers come at once again. Whichever comes first ends it: the next poll,
    # 30 s after the last gave up (on v1 it wakes the stream from its backoff), or
    # a v1 handshake, whose first frame triggers the update at once.
    caplog.clear()
    sim.reset_requests()
    sim.clear_faults()
    next_poll = starts[-1] + CYCLE
    for _ in range(int(SCAN.total_seconds())):
        await slow.step()
        if not rig.unavailable():
            break
        assert rig.unavailable() == rig.ids
    assert not rig.unavailable()
    recovered_at = sim.now()
    if rig.v1:
        assert runner.connected  # on the same step
        assert [r.time for r in sim.requests if r.path == WS] == [recovered_at]
        by = "stream" if recovered_at < next_poll else "poll"
        if by == "stream":
            assert paths(sim).count(SERVERS) == 0  # the update took the stream's data
        else:
            assert recovered_at == next_poll
            assert [p for p in paths(sim) if p != WS] == [SERVERS, GROUPS]
        assert coordinator.stream is runner
        print(  # noqa: T201 - numbers for the report
            f"\nv1 slow: polls at {[p - origin for p in slow.polls]}, handshakes at "
            f"{[(h.started - origin, h.ended and h.ended - origin) for h in handshakes]}"
            f", recovered (stream back) at {recovered_at - origin} by the {by}"
        )
    else:
        assert recovered_at == next_poll
        assert paths(sim) == [DETAILS]  # the next ping round is due at 300 s
    assert_recovered(caplog, rig.v1)
    assert slow.open() == slow.open(stream=True) == []
    assert len(slow.hangs) == SLOW_POLLS + len(handshakes)
    assert rig.entry.runtime_data is coordinator
    assert entity_ids(rig.hass, rig.entry) == rig.ids  # none gone, none added
