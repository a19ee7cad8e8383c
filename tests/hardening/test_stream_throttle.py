"""A flood of stream frames is read, but parsed at most once per frame interval.

A frame holds every server and parsing it is what costs; a dashboard (or a
proxy replaying frames) that sends hundreds per second must not make Home
Assistant parse hundreds per second. The newest frame is kept and parsed when
the interval is up, so an online/offline change still shows within one interval.
CPU figures are measured by tests/bench/test_stream.py, not here.
"""

from __future__ import annotations

import asyncio
import contextlib
from itertools import pairwise
import time

import aiohttp
from homeassistant.const import STATE_OFF
from homeassistant.core import HomeAssistant
import pytest

from custom_components.nezha.client import NezhaV1Client
from custom_components.nezha.client.stream import StreamRunner
from custom_components.nezha.client.v1 import StreamFrame
from custom_components.nezha.coordinator_v1 import NezhaStreamCoordinator
from nezha_dev.simulator import NezhaSimulator
from tests.helpers import PAT, start_live, until

pytestmark = pytest.mark.usefixtures("socket_enabled")

INTERVAL = 0.5
FLOOD = 0.005  # seconds between frames: 200 a second
WINDOW = 3.0


async def test_flood_is_parsed_once_per_interval(v1_sim: NezhaSimulator) -> None:
    """200 frames a second for 3 s: every one read, at most 7 parsed, the newest."""
    v1_sim.ws_interval = FLOOD
    async with aiohttp.ClientSession() as session:
        client = NezhaV1Client(session, v1_sim.url, PAT)
        await client.async_get_fleet()
        parses = 0
        parse = client.parse_frame

        def counting(text: str | bytes, tag: str | None = None) -> StreamFrame:
            nonlocal parses
            parses += 1
            return parse(text, tag)

        client.parse_frame = counting  # type: ignore[method-assign]
        frames: list[tuple[float, StreamFrame]] = []
        runner = StreamRunner(
            client,
            on_frame=lambda frame: frames.append((time.monotonic(), frame)),
            on_down=lambda err: None,
            on_auth_failure=lambda err: None,
            parse_interval=INTERVAL,
        )
        task = asyncio.create_task(runner.run())
        await asyncio.sleep(WINDOW)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert parses == len(frames)
    assert 3 <= len(frames) <= WINDOW / INTERVAL + 1
    gaps = [b - a for (a, _), (b, _) in pairwise(frames)]
    assert min(gaps) >= INTERVAL * 0.95
    assert max(gaps) <= INTERVAL * 1.6  # the kept frame is parsed when due


async def test_transition_shows_within_one_interval_during_a_flood(
    hass: HomeAssistant, v1_sim: NezhaSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server going offline in a flood of frames is written within the interval."""
    monkeypatch.setattr(NezhaStreamCoordinator, "frame_interval", INTERVAL)
    live = await start_live(hass, v1_sim, scan_interval=30)
    v1_sim.ws_interval = FLOOD
    await asyncio.sleep(1)
    before = live.coordinator.frames_received
    started = time.monotonic()
    v1_sim.set_online(5, False)
    latency = await until(lambda: live.online(5) == STATE_OFF, "server 5 offline")
    assert latency <= INTERVAL + 0.5
    await asyncio.sleep(WINDOW - (time.monotonic() - started))
    parsed = live.coordinator.frames_received - before
    assert parsed <= WINDOW / INTERVAL + 1
    await live.unload()
