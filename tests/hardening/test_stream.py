"""The v1 stream: no redirects, TLS errors named, a flood parsed once per interval."""

import asyncio
from collections.abc import AsyncIterator
import contextlib
from itertools import pairwise
from pathlib import Path
import time

import aiohttp
from aiohttp import web
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_OFF
from homeassistant.core import HomeAssistant
import pytest

from custom_components.nezha.client import (
    NezhaRedirectError,
    NezhaTLSError,
    NezhaV1Client,
)
from custom_components.nezha.client.stream import StreamRunner
from custom_components.nezha.client.v1 import StreamFrame, refuse_redirects
from custom_components.nezha.coordinator_v1 import NezhaStreamCoordinator
from nezha_dev.simulator import NezhaSimulator
from tests.client.common import expect, serve
from tests.helpers import PAT, SERVERS, WS, paths, start_live, until, v0_entry, v1_entry
from tests.reliability.helpers import ours
from tests.tls import tls_server

pytestmark = pytest.mark.usefixtures("socket_enabled")


@contextlib.asynccontextmanager
async def redirecting_stream(dashboard: str, target: str) -> AsyncIterator[str]:
    """A reverse proxy to ``dashboard`` whose stream path redirects to ``target``."""

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path == WS:
            raise web.HTTPFound(target + WS)
        headers = {k: v for k, v in request.headers.items() if k == "Authorization"}
        async with (
            aiohttp.ClientSession() as http,
            http.get(dashboard + request.path_qs, headers=headers) as answer,
        ):
            return web.Response(
                status=answer.status,
                body=await answer.read(),
                headers={
                    "Content-Type": answer.headers.get("Content-Type", ""),
                    "Date": answer.headers.get("Date", ""),
                },
            )

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    async with serve(app) as url:
        yield url


async def test_stream_never_follows_a_redirect(
    hass: HomeAssistant, v1_sim: NezhaSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Neither the client nor the entry (it polls REST instead) reaches the target."""
    async with (
        # Another v1 dashboard, which streams to anybody (guests see its servers).
        NezhaSimulator(generation="v1", servers=3, seed=7) as elsewhere,
        redirecting_stream(v1_sim.url, elsewhere.url) as url,
        aiohttp.ClientSession() as session,
        aiohttp.ClientSession(trace_configs=[refuse_redirects()]) as stream_session,
    ):
        elsewhere.ws_interval = 0.2
        client = NezhaV1Client(session, url, PAT, stream_session=stream_session)
        err = await expect(NezhaRedirectError, client.async_connect_stream())
        assert err.location == elsewhere.url + WS
        assert "HTTP 302" in str(err)
        assert elsewhere.requests == []

        entry = v1_entry(v1_sim, scan_interval=1)
        entry.add_to_hass(hass)
        hass.config_entries.async_update_entry(entry, data={**entry.data, "url": url})
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        coordinator = entry.runtime_data
        polls = paths(v1_sim).count(SERVERS)
        # The handshake is refused and REST keeps the entities fresh meanwhile.
        await until(lambda: paths(v1_sim).count(SERVERS) > polls, "a REST poll")
        await asyncio.sleep(0.5)
        assert coordinator.frames_received == 0
        assert elsewhere.requests == []
        assert set(coordinator.data.servers) == set(v1_sim.fleet.servers)
        assert any("redirects (HTTP 302)" in line for line in ours(caplog))
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


async def test_certificate_failure_is_a_tls_error(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """The stream's error is REST's (the same advice); the entry names the certificate."""
    async with (
        tls_server(tmp_path, web.Application()) as (url, aborted),
        aiohttp.ClientSession() as session,
    ):
        client = NezhaV1Client(session, url, PAT)
        err = await expect(NezhaTLSError, client.async_connect_stream())
        await asyncio.wait_for(aborted.wait(), 5)
        assert "TLS handshake failed" in str(err)
        aborted.clear()
        entry = v0_entry(url)
        entry.add_to_hass(hass)
        assert not await hass.config_entries.async_setup(entry.entry_id)
        await asyncio.wait_for(aborted.wait(), 5)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.reason is not None and "TLS certificate" in entry.reason


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
