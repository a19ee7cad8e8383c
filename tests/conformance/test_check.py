"""scripts/check-dashboard: what it reports against the simulator and recordings."""

import re

import aiohttp
import pytest

from nezha_dev.conformance.check import Report, check
from nezha_dev.conformance.replay import role_token
from nezha_dev.simulator import NezhaSimulator

from .helpers import RECORDINGS, Served, by_recording


@pytest.fixture
def frame_gap() -> float:
    """Stream frames a little apart, as a dashboard sends them."""
    return 0.3


async def _check(sim: NezhaSimulator, token: str | None = None) -> Report:
    """Check the running simulator with its own token (or ``token``)."""
    assert sim.token is not None
    async with aiohttp.ClientSession() as session:
        return await check(session, sim.url, token or sim.token)


async def test_v0_report(socket_enabled: None) -> None:
    """A clean v0 report: the probe, the fleet, one history request per server."""
    async with NezhaSimulator(servers=3, seed=2) as sim:
        report = await _check(sim)
        requests = [r.path for r in sim.requests]
    assert (report.generation, report.servers) == ("v0", 3)
    assert not report.deviations, report.deviations
    text = report.render()
    assert "servers: 3" in text
    assert "No deviations" in text
    assert sim.token not in text
    assert requests[:2] == ["/api/v1/setting", "/api/v1/server/details"]
    assert len(requests) == 2 + 3


async def test_v1_report_with_stream(socket_enabled: None) -> None:
    """A clean v1 report reads three stream frames and the tsdb setting."""
    sim = NezhaSimulator(servers=2, generation="v1", seed=2)
    sim.ws_interval = 0.3
    async with sim:
        report = await _check(sim)
    text = report.render()
    assert report.generation == "v1"
    assert not report.deviations, report.deviations
    assert "stream: 3 frames" in text
    assert "tsdb: on" in text
    assert sim.token not in text


async def test_stops_at_the_first_refused_token(socket_enabled: None) -> None:
    """One request with the token, then nothing: on v1 that is one WAF strike."""
    async with NezhaSimulator(servers=2, generation="v1", seed=2) as sim:
        report = await _check(sim, "nzp_" + "A" * 32)
        with_token = [r for r in sim.requests if r.path != "/api/v1/setting"]
        strikes = sim.waf_strikes()
    assert report.auth_failed
    assert (len(with_token), strikes) == (1, 1)
    assert "first authentication failure" in report.render()


async def test_reports_deviations(socket_enabled: None) -> None:
    """A dashboard whose clock is off and a record without a readable id."""
    sim = NezhaSimulator(servers=2, seed=2)
    sim.shift_clock(-600)
    async with sim:
        sim.set_malformed(1, "id", "one")
        report = await _check(sim)
    text = "\n".join(report.deviations)
    assert re.search(r"clock is -60[01] s off", text), text  # 600 s plus latency
    assert "no readable id" in text


@by_recording(RECORDINGS, served=True)
async def test_recorded_real_dashboards(served: Served) -> None:
    """No surprises: hours-old recordings only read offline and off by the clock."""
    recording = served.recording
    token = role_token("full", recording.generation)
    report = await check(served.session, served.server.url, token)
    assert report.generation == recording.generation
    assert report.servers == len(recording.meta["server_ids"])
    unexpected = [d for d in report.deviations if "clock is" not in d]
    assert not unexpected, unexpected
