"""The v1 StreamRunner and its Backoff on 127.0.0.1; seeded jitter, so delays replay."""

import asyncio
from collections.abc import AsyncIterator
import contextlib
import json
import random
import time
from typing import Any

from aiohttp import ClientSession, ClientWebSocketResponse, web
import pytest

from custom_components.nezha.client import (
    NezhaAuthError,
    NezhaConnectionError,
    NezhaError,
    NezhaV1Client,
    NezhaWafBlockedError,
)
from custom_components.nezha.client.stream import FRAME_INTERVAL, Backoff, StreamRunner
from custom_components.nezha.client.v1 import GROUPS_PATH, SERVERS_PATH
from custom_components.nezha.client.v1_parse import StreamFrame
from custom_components.nezha.client.v1_ws import WS_PATH
from nezha_dev.simulator import Fault, NezhaSimulator
from tests.client.common import assert_secret_free, json_app, serve
from tests.helpers import PAT, until

SILENCE = 0.5
BACKOFF = Backoff(base=0.05, cap=0.2)
SEED = 3

pytestmark = pytest.mark.usefixtures("socket_enabled")


class Recorder:
    """Collects what the runner reports through its callbacks."""

    def __init__(self) -> None:
        self.frames: list[StreamFrame] = []
        self.downs: list[NezhaError] = []
        self.auth_failures: list[NezhaAuthError] = []

    def runner(self, client: NezhaV1Client, **options: Any) -> StreamRunner:
        """A runner with the test timings (unless overridden) that reports here."""
        return StreamRunner(
            client,
            **{
                "on_frame": self.frames.append,
                "on_down": self.downs.append,
                "on_auth_failure": self.auth_failures.append,
                "silence_timeout": SILENCE,
                "parse_interval": 0,  # every frame (the throttle has its own tests)
                "backoff": BACKOFF,
                "rng": random.Random(SEED),
                **options,
            },
        )


@pytest.fixture
async def api(session: ClientSession, sim: NezhaSimulator) -> NezhaV1Client:
    """A client whose inventory is loaded, as the coordinator does first."""
    client = NezhaV1Client(session, sim.url, PAT)
    await client.async_get_fleet()
    sim.reset_requests()
    return client


@contextlib.asynccontextmanager
async def running(runner: StreamRunner) -> AsyncIterator[asyncio.Task[None]]:
    """Run the runner in a task; cancel it (and wait for it) afterwards."""
    task = asyncio.create_task(runner.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def handshakes(sim: NezhaSimulator) -> list[float]:
    """Simulator-clock times of the stream handshakes received."""
    return [r.time for r in sim.requests if r.kind == "ws"]


def test_backoff() -> None:
    """Exponential with jitter up to the cap, reproducible, with sane defaults."""
    backoff = Backoff(base=1.0, cap=300.0)
    rng = random.Random(SEED)
    previous_ceiling = 0.0
    for attempt in range(1, 12):
        ceiling = min(300.0, 2.0**attempt)
        draws = [backoff.delay(attempt, rng) for _ in range(40)]
        assert all(ceiling / 2 <= d <= ceiling for d in draws)
        assert len(set(draws)) == len(draws)  # jitter: no two clients in lockstep
        if ceiling < 300:
            # Uncapped, an attempt never waits less than the previous one could.
            assert min(draws) >= previous_ceiling
        previous_ceiling = ceiling
    # Capped, also for attempts whose 2**n would not even fit in a float.
    for attempt in (9, 100, 10_000):
        assert 150.0 <= backoff.delay(attempt, rng) <= 300.0
    first = [BACKOFF.delay(n, random.Random(SEED)) for n in range(1, 6)]
    assert first == [BACKOFF.delay(n, random.Random(SEED)) for n in range(1, 6)]
    assert 0.05 <= first[0] <= 0.1
    assert all(0.1 <= d <= 0.2 for d in first[2:])
    default = Backoff()
    assert default.base >= 1 and default.cap >= 60
    # Spec §C v1.10: treat 10-15 s without a frame as a dead stream.
    silence = StreamRunner.__init__.__kwdefaults__["silence_timeout"]
    assert 10 <= silence <= 15


@pytest.mark.parametrize("tag", [None, "Lab"])
async def test_frames_are_delivered(
    sim: NezhaSimulator, api: NezhaV1Client, tag: str | None
) -> None:
    """Frames carry the inventory's servers (those with the tag, if one is set)."""
    seen = Recorder()
    runner = seen.runner(api, tag=tag)
    assert (runner.connected, runner.attempts) == (False, 0)
    async with running(runner):
        await until(lambda: len(seen.frames) >= 3, "3 frames")
        assert (runner.connected, runner.attempts) == (True, 0)
        assert sim.ws_connections == 1
    expected = {sid for sid, s in sim.fleet.servers.items() if tag in (None, s.tag)}
    assert expected and (tag is None) == (expected == set(api.inventory))
    for frame in seen.frames:
        assert set(frame.fleet.servers) == expected
        assert frame.unknown_ids == frame.missing_ids == frozenset()
        for sid, server in frame.fleet.servers.items():
            assert server.tag == sim.fleet.servers[sid].tag
            known = api.inventory[sid]
            assert (server.ipv4, server.ipv6) == (known.ipv4, known.ipv6)
    assert seen.downs == [] and seen.auth_failures == []
    (request,) = sim.requests  # the handshake, nothing else
    assert request.kind == "ws"
    assert request.headers["Authorization"] == f"Bearer {PAT}"
    assert "Origin" not in request.headers


async def test_silent_or_dropped_stream_is_reconnected(
    sim: NezhaSimulator, api: NezhaV1Client
) -> None:
    """Silence: one reconnect; then a drop: reconnects with growing backoff."""
    seen = Recorder()
    runner = seen.runner(api)
    replay = random.Random(SEED)
    BACKOFF.delay(1, replay)  # drawn for the reconnect after the silence
    expected = [BACKOFF.delay(attempt, replay) for attempt in range(1, 5)]
    async with running(runner):
        await until(lambda: len(seen.frames) >= 1, "1 frame")
        sim.pause_ws(True)
        paused_at = time.monotonic()
        await until(lambda: len(seen.downs) >= 1, "1 down")
        assert time.monotonic() - paused_at >= SILENCE - 0.1
        (down,) = seen.downs
        assert not isinstance(down, NezhaAuthError)
        assert "no frame for 0.5 s" in str(down)
        assert (runner.connected, runner.attempts) == (False, 1)
        before = len(seen.frames)
        sim.pause_ws(False)
        await until(lambda: len(seen.frames) > before, "a new frame")
        await until(lambda: sim.ws_connections == 1, "one connection")
        assert (runner.connected, runner.attempts) == (True, 0)
        assert len(handshakes(sim)) == 2
        # The next three reconnects are refused by a dead upstream.
        sim.inject_fault(Fault.HTML_502, count=3, path=WS_PATH)
        dropped_at = sim.now()
        assert await sim.drop_websockets() == 1
        before = len(seen.frames)
        await until(lambda: len(seen.frames) > before, "a new frame")
        assert (runner.connected, runner.attempts) == (True, 0)
    assert "stream closed" in str(seen.downs[1])
    assert [type(e) for e in seen.downs[2:]] == [NezhaConnectionError] * 3
    times = handshakes(sim)[1:]
    assert len(times) == 5
    gaps = [b - a for a, b in zip([dropped_at, *times[1:]], times[1:], strict=False)]
    for gap, delay in zip(gaps, expected, strict=True):
        assert delay - 0.001 <= gap < delay + 1.0
    assert expected[0] < expected[-1]  # 2 ** attempt grows faster than the jitter
    assert seen.auth_failures == []


async def test_reconnect_now_cuts_a_long_backoff_short(
    sim: NezhaSimulator, api: NezhaV1Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The owner says the dashboard is back: the runner stops waiting at once."""
    seen = Recorder()
    # 30 to 60 s of backoff: longer than the test.
    runner = seen.runner(
        api, backoff=Backoff(base=60.0, cap=60.0), parse_interval=FRAME_INTERVAL
    )
    runner.reconnect_now()  # no wait in progress: ignored, as after a connect
    async with running(runner):
        await until(lambda: len(seen.frames) >= 1, "1 frame")
        assert await sim.drop_websockets() == 1
        await until(lambda: len(seen.downs) == 1, "1 down")
        await asyncio.sleep(0.2)
        assert len(handshakes(sim)) == 1  # still waiting out the backoff
        runner.reconnect_now()
        before = len(seen.frames)
        await until(lambda: len(seen.frames) > before, "a new frame", 2)
        assert len(handshakes(sim)) == 2
        assert runner.connected
        runner.reconnect_now()  # while connected: nothing to cut short, forgotten

        # Asked while a reconnect attempt is under way: honoured once it fails.
        connect = api.async_connect_stream
        attempt_started = asyncio.Event()

        async def slow_connect() -> ClientWebSocketResponse:
            attempt_started.set()
            await asyncio.sleep(0.2)
            return await connect()

        monkeypatch.setattr(api, "async_connect_stream", slow_connect)
        sim.inject_fault(Fault.HTML_502, count=1, path=WS_PATH)
        assert await sim.drop_websockets() == 1
        await until(lambda: len(seen.downs) == 2, "2 downs")
        await asyncio.sleep(0.5)
        assert not attempt_started.is_set()  # waiting out the 30-60 s backoff
        assert len(handshakes(sim)) == 2
        runner.reconnect_now()  # cuts the wait; the next attempt gets the 502
        await asyncio.wait_for(attempt_started.wait(), 2)
        runner.reconnect_now()  # during that attempt
        await until(lambda: len(seen.downs) == 3, "3 downs", 2)
        before = len(seen.frames)
        await until(lambda: len(seen.frames) > before, "a new frame", 2)
        assert len(handshakes(sim)) == 4
    assert seen.auth_failures == []


@pytest.mark.parametrize("how", ["revoke", "waf_block", "revoke_first"])
async def test_refused_handshake_stops_the_runner_for_good(
    sim: NezhaSimulator, api: NezhaV1Client, how: str
) -> None:
    """Refused at once or on a reconnect: run() returns and asks nothing more."""
    seen = Recorder()
    runner = seen.runner(api)
    strikes = 1
    if how == "revoke_first":
        sim.revoke_token()
    async with running(runner) as task:
        if how != "revoke_first":
            await until(lambda: len(seen.frames) >= 1, "1 frame")
        if how == "revoke":
            sim.revoke_token()  # also closes the token's live streams
        elif how == "waf_block":
            sim.block_ip()
            strikes = sim.waf_strikes()
            await sim.drop_websockets()
        async with asyncio.timeout(5):
            await task  # run() returns by itself
    (failure,) = seen.auth_failures
    expected = NezhaWafBlockedError if how == "waf_block" else NezhaAuthError
    assert type(failure) is expected
    assert_secret_free(failure, *seen.downs)
    assert runner.connected is False
    assert sim.waf_strikes() == strikes
    # WAF safety: not a single request more, whatever the backoff would allow.
    requests = len(sim.requests)
    await asyncio.sleep(max(1.0, 4 * BACKOFF.cap))
    assert len(sim.requests) == requests
    if how == "revoke_first":  # the handshake was the only request
        assert seen.frames == [] and seen.downs == [] and requests == 1
    assert len(handshakes(sim)) == (1 if how == "revoke_first" else 2)


async def test_leaving_is_prompt(sim: NezhaSimulator, api: NezhaV1Client) -> None:
    """The dashboard never answers a close frame; leaving must not wait for one."""
    sim.ws_interval = 0.01
    seen = Recorder()
    task = asyncio.create_task(seen.runner(api).run())
    await until(lambda: len(seen.frames) >= 3, "3 frames")
    started = time.monotonic()
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=3)
    assert done == {task} and task.cancelled()
    assert time.monotonic() - started < 1.0
    await until(lambda: sim.ws_connections == 0, "no connection")

    # A bug in on_frame surfaces at once, not after close() waits for a close frame.
    def broken(frame: StreamFrame) -> None:
        raise RuntimeError("bug in the caller")

    seen = Recorder()
    runner = seen.runner(api, on_frame=broken, parse_interval=FRAME_INTERVAL)
    started = time.monotonic()
    async with asyncio.timeout(3):
        with pytest.raises(RuntimeError, match="bug in the caller"):
            await runner.run()
    assert time.monotonic() - started < 1.0
    assert seen.downs == [] and seen.auth_failures == []
    await until(lambda: sim.ws_connections == 0, "no connection")


# -- unreadable frames (the simulator cannot send any: Go skips what it cannot marshal) ---


# How a frame's servers merge with the REST inventory is test_v1's to check.
RECORD = {"id": 7, "name": "box"}
GOOD_FRAME = {"now": 1786939202000, "servers": [{**RECORD, "state": {"cpu": 42.5}}]}


async def test_unreadable_frames_are_skipped_without_reconnecting(
    socket_enabled: None, session: ClientSession
) -> None:
    connections: list[web.Request] = []

    async def stream(request: web.Request) -> web.WebSocketResponse:
        connections.append(request)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str("this is not JSON")
        await ws.send_bytes(b"\x00\x01binary")
        for text in ("[1, 2, 3]", '{"servers": {"7": {}}}', json.dumps(GOOD_FRAME)):
            await ws.send_str(text)
        async for _ in ws:  # unlike the dashboard, this one answers a close
            pass
        return ws

    routes = {SERVERS_PATH: {"success": True, "data": [RECORD]}}
    app = json_app({**routes, GROUPS_PATH: {"success": True}})
    app.router.add_get(WS_PATH, stream)
    async with serve(app) as url:
        client = NezhaV1Client(session, url, PAT)
        await client.async_get_fleet()
        seen = Recorder()
        runner = seen.runner(client)
        async with running(runner):
            await until(lambda: len(seen.frames) >= 1, "1 frame")
            await asyncio.sleep(SILENCE / 5)
            assert runner.connected
    (frame,) = seen.frames
    assert seen.downs == [] and seen.auth_failures == []
    assert len(connections) == 1
    assert frame.fleet.servers[7].state.cpu == 42.5  # the readable one
    assert frame.unknown_ids == frame.missing_ids == frozenset()
