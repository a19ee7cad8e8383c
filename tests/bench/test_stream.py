"""CPU per minute of the v1 stream, at the dashboard's pace and in a flood (``scripts/bench``)."""

# docs/performance.md describes the method: two real frames replayed from a thread
# of their own; "before" parses every frame, "after" one per 2 s; the floor is
# ``json.loads`` of the frames the runner parsed.

import asyncio
from collections.abc import Iterator
import contextlib
from dataclasses import dataclass
import json
import threading
import time

import aiohttp
from aiohttp import web
import pytest

from custom_components.nezha.client import NezhaV1Client
from custom_components.nezha.client.stream import FRAME_INTERVAL, StreamRunner
from tests.bench.conftest import print_table
from tests.client.common import serve, v1_sim
from tests.helpers import PAT, WS

SIZES = (100, 1000)
SECONDS = 12.0
# Seconds between frames of the flood: 200 a second of 100 servers (the review
# saw 483), 20 a second of 1000 (14 MB/s over loopback).
FLOOD = {100: 0.005, 1000: 0.05}
RESULTS: list[str] = []  # the table's rows


async def capture(servers: int) -> tuple[dict[int, object], list[str]]:
    """The inventory and two consecutive frames of an N-server dashboard."""
    async with v1_sim(servers=servers) as sim, aiohttp.ClientSession() as session:
        client = NezhaV1Client(session, sim.url, PAT)
        await client.async_get_fleet()
        ws = await client.async_connect_stream()
        frames = [(await ws.receive()).data for _ in range(2)]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.5):
                await ws.close()
        return dict(client.inventory), frames


@dataclass
class Replay:
    """Where the replaying server listens, and how many frames it sent so far."""

    url: str = ""
    sent: int = 0


@contextlib.contextmanager
def replaying(frames: list[str], interval: float) -> Iterator[Replay]:
    """A WebSocket server in its own thread, sending the frames in turn every interval s."""
    replay = Replay()
    ready, stop = threading.Event(), threading.Event()

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        with contextlib.suppress(ConnectionError):
            while not ws.closed and not stop.is_set():
                await ws.send_str(frames[replay.sent % len(frames)])
                replay.sent += 1
                await asyncio.sleep(interval)
        return ws

    async def run() -> None:
        app = web.Application()
        app.router.add_get(WS, handler)
        async with serve(app) as url:
            replay.url = url
            ready.set()
            await asyncio.to_thread(stop.wait)

    thread = threading.Thread(target=asyncio.run, args=(run(),), daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield replay
    finally:
        stop.set()
        thread.join(10)


async def run_stream(
    inventory: dict[int, object], url: str, parse_interval: float
) -> tuple[float, list[str], float]:
    """Event-loop CPU seconds over SECONDS, the frames parsed, the worst loop lag."""
    parsed: list[str] = []
    lag = 0.0

    async def probe() -> None:
        nonlocal lag
        while True:
            started = time.monotonic()
            await asyncio.sleep(0.05)
            lag = max(lag, time.monotonic() - started - 0.05)

    async with aiohttp.ClientSession() as session:
        client = NezhaV1Client(session, url, PAT)
        client.inventory = inventory  # type: ignore[assignment]
        parse = client.parse_frame

        def keeping(text: str | bytes, tag: str | None = None) -> object:
            parsed.append(str(text))
            return parse(text, tag)

        client.parse_frame = keeping  # type: ignore[assignment,method-assign]
        runner = StreamRunner(
            client,
            on_frame=lambda frame: None,
            on_down=lambda err: None,
            on_auth_failure=lambda err: None,
            parse_interval=parse_interval,
        )
        task = asyncio.create_task(runner.run())
        await asyncio.sleep(0.5)  # connected, first frame parsed
        parsed.clear()
        prober = asyncio.create_task(probe())
        cpu = time.thread_time()
        await asyncio.sleep(SECONDS)
        cpu = time.thread_time() - cpu
        for running in (task, prober):
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
    return cpu, parsed, lag


@pytest.mark.parametrize("servers", SIZES)
async def test_stream_cpu(servers: int, socket_enabled: None) -> None:
    """Measure pace and flood, before and after the throttle."""
    inventory, frames = await capture(servers)
    per_minute = 60 / SECONDS
    for mode, interval in (("pace", FRAME_INTERVAL), ("flood", FLOOD[servers])):
        for label, parse_interval in (("before", 0.0), ("after", FRAME_INTERVAL)):
            with replaying(frames, interval) as replay:
                sent = replay.sent
                cpu, parsed, lag = await run_stream(
                    inventory, replay.url, parse_interval
                )
                received = replay.sent - sent
            floor = time.thread_time()  # json.loads of the frames the runner parsed
            for frame in parsed:
                json.loads(frame)
            floor = time.thread_time() - floor
            RESULTS.append(
                f"{servers} | {mode} | {label} | {len(frames[0]) / 1024:.0f} "
                f"| {round(received * per_minute)} | {round(len(parsed) * per_minute)} "
                f"| {cpu * per_minute:.2f} | {floor * per_minute:.2f} "
                f"| {lag * 1000:.0f}"
            )


def test_report() -> None:
    """Print the table (Markdown)."""
    print_table(
        "servers | frames | code | frame KiB | received/min | parsed/min | CPU s/min"
        " | json.loads floor s/min | worst loop lag ms",
        RESULTS,
    )
