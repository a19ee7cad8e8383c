"""scripts/check-dashboard: what it reports against the simulator and recordings."""

from __future__ import annotations

import re

import aiohttp
import pytest

from nezha_dev.simulator import NezhaSimulator

from .check import check
from .recording import all_recordings
from .replay import ReplayServer, role_token


async def test_v0_report(socket_enabled: None) -> None:
    async with NezhaSimulator(servers=3, seed=2) as sim, aiohttp.ClientSession() as s:
        assert sim.token is not None
        report = await check(s, sim.url, sim.token)
        requests = [r.path for r in sim.requests]
    assert report.generation == "v0"
    assert report.servers == 3
    assert not report.deviations, report.deviations
    text = report.render()
    assert "servers: 3" in text
    assert "No deviations" in text
    assert sim.token not in text
    # The probe, one fleet request, then one history request per server.
    assert requests[:2] == ["/api/v1/setting", "/api/v1/server/details"]
    assert len(requests) == 2 + 3


async def test_v1_report_with_stream(socket_enabled: None) -> None:
    sim = NezhaSimulator(servers=2, generation="v1", seed=2)
    sim.ws_interval = 0.3
    async with sim, aiohttp.ClientSession() as s:
        assert sim.token is not None
        report = await check(s, sim.url, sim.token)
    text = report.render()
    assert report.generation == "v1"
    assert not report.deviations, report.deviations
    assert "stream: 3 frames" in text
    assert "tsdb: on" in text
    assert sim.token not in text


async def test_stops_at_the_first_refused_token(socket_enabled: None) -> None:
    """One request with the token, then nothing: on v1 that is one WAF strike."""
    sim = NezhaSimulator(servers=2, generation="v1", seed=2)
    async with sim, aiohttp.ClientSession() as s:
        report = await check(s, sim.url, "nzp_" + "A" * 32)
        with_token = [r for r in sim.requests if r.path != "/api/v1/setting"]
        strikes = sim.waf_strikes()
    assert report.auth_failed
    assert len(with_token) == 1
    assert strikes == 1
    assert "first authentication failure" in report.render()


async def test_reports_deviations(socket_enabled: None) -> None:
    """A dashboard whose clock is off and a record without a readable id."""
    sim = NezhaSimulator(servers=2, seed=2)
    sim.shift_clock(-600)
    async with sim, aiohttp.ClientSession() as s:
        sim.set_malformed(1, "id", "one")
        assert sim.token is not None
        report = await check(s, sim.url, sim.token)
    text = "\n".join(report.deviations)
    assert re.search(r"clock is -60[01] s off", text), text  # 600 s plus latency
    assert "no readable id" in text


@pytest.mark.parametrize(
    "recording", all_recordings(), ids=[r.directory.name for r in all_recordings()]
)
async def test_recorded_real_dashboards(recording, socket_enabled: None) -> None:
    """The recorded real dashboards give a report without surprises.

    The recordings are hours old, so their servers read offline and the clock
    offset is large: those two are the only deviations allowed.
    """
    server = ReplayServer(recording, frame_gap=0.3)
    await server.start()
    try:
        async with aiohttp.ClientSession() as s:
            report = await check(
                s, server.url, role_token("full", recording.generation)
            )
    finally:
        await server.stop()
    assert report.generation == recording.generation
    assert report.servers == len(recording.meta["server_ids"])
    unexpected = [d for d in report.deviations if "clock is" not in d]
    assert not unexpected, unexpected
