"""Tests of the anonymous generation probe (``GET /api/v1/setting``), over real HTTP."""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp import web
import pytest

from custom_components.nezha.client import (
    ApiGeneration,
    Detection,
    NezhaConnectionError,
    NezhaProxyHeaderError,
    NezhaResponseError,
    NezhaTimeoutError,
    NezhaWafBlockedError,
    async_detect_generation,
)
from custom_components.nezha.client.detect import SETTING_PATH
from nezha_dev.simulator import Fault, NezhaSimulator
from tests.client.common import expect, json_app, serve

pytestmark = pytest.mark.usefixtures("socket_enabled")


@pytest.fixture
def sim() -> NezhaSimulator:
    """A v2.3.7 dashboard, not started yet (each test uses ``async with``)."""
    return NezhaSimulator(generation="v1", servers=2, seed=1)


def assert_anonymous_probe(sim: NezhaSimulator) -> None:
    """Exactly one request, to /setting, without any credential."""
    (request,) = sim.requests
    assert (request.method, request.path, request.kind) == ("GET", SETTING_PATH, "http")
    assert "Authorization" not in request.headers
    assert "Cookie" not in request.headers
    assert request.query == {}


@pytest.mark.parametrize(
    ("version", "tsdb"),
    [("2.3.7", True), ("2.1.0", True), ("2.0.5", True), ("1.14.14", False)],
)
async def test_v1_line_is_detected(
    session: aiohttp.ClientSession, version: str, tsdb: bool
) -> None:
    async with NezhaSimulator(generation="v1", servers=1, version=version) as sim:
        detection = await async_detect_generation(session, sim.url)
        assert detection == Detection(ApiGeneration.V1, tsdb=tsdb)
        assert_anonymous_probe(sim)
        assert sim.waf_strikes() == 0


async def test_v1_0_flat_config_is_v1_without_tsdb(
    session: aiohttp.ClientSession,
) -> None:
    async with NezhaSimulator(generation="v1", servers=1, version="1.0.3") as sim:
        detection = await async_detect_generation(session, sim.url)
    assert detection == Detection(ApiGeneration.V1, tsdb=False)


async def test_tsdb_key_counts_even_when_disabled(
    session: aiohttp.ClientSession, sim: NezhaSimulator
) -> None:
    sim.v1.tsdb_enabled = False
    async with sim:
        detection = await async_detect_generation(session, sim.url)
    assert detection == Detection(ApiGeneration.V1, tsdb=True)


async def test_v0_dashboard_is_v0(session: aiohttp.ClientSession) -> None:
    async with NezhaSimulator(generation="v0", servers=1) as sim:
        detection = await async_detect_generation(session, sim.url)
        assert detection == Detection(ApiGeneration.V0, tsdb=False)
        (request,) = sim.requests
        assert request.path == SETTING_PATH
        assert "Authorization" not in request.headers


async def test_probe_costs_no_strike_even_with_force_auth(
    session: aiohttp.ClientSession, sim: NezhaSimulator
) -> None:
    sim.force_auth = True
    async with sim:
        assert (await async_detect_generation(session, sim.url)).tsdb
        assert_anonymous_probe(sim)
        assert sim.waf_strikes() == 0
        assert not sim.waf_blocked()


async def test_waf_block_page_is_waf_blocked_error(
    session: aiohttp.ClientSession, sim: NezhaSimulator
) -> None:
    async with sim:
        sim.add_waf_strike()
        err = await expect(
            NezhaWafBlockedError, async_detect_generation(session, sim.url)
        )
        assert "WAF" in str(err)
        assert sim.waf_strikes() == 1  # a blocked request adds none
        assert_anonymous_probe(sim)


async def test_missing_real_ip_header_is_proxy_header_error(
    session: aiohttp.ClientSession, sim: NezhaSimulator
) -> None:
    sim.real_ip_header = "X-Real-IP"
    async with sim:
        err = await expect(
            NezhaProxyHeaderError, async_detect_generation(session, sim.url)
        )
        assert "reverse proxy" in str(err)
        assert_anonymous_probe(sim)


@pytest.mark.parametrize(
    "fault",
    [
        Fault.HTML_502,
        Fault.HTML_200,
        Fault.EMPTY_200,
        Fault.NOT_JSON,
        Fault.TRUNCATED_JSON,
    ],
)
async def test_anything_else_is_left_to_the_v0_check(
    session: aiohttp.ClientSession, sim: NezhaSimulator, fault: Fault
) -> None:
    """Proxies' pages and broken JSON: the v0 request that follows decides."""
    async with sim:
        sim.inject_fault(fault)
        detection = await async_detect_generation(session, sim.url)
    assert detection == Detection(ApiGeneration.V0)


@pytest.mark.parametrize(
    "body",
    [[1, 2], "success", {"success": "true"}, {"error": "404 Not Found"}, {}],
    ids=["list", "string", "success-string", "not-found", "empty"],
)
async def test_other_json_is_left_to_the_v0_check(
    session: aiohttp.ClientSession, body: Any
) -> None:
    async with serve(json_app({SETTING_PATH: body})) as url:
        detection = await async_detect_generation(session, url)
    assert detection == Detection(ApiGeneration.V0)


async def test_transport_errors_propagate(
    session: aiohttp.ClientSession, sim: NezhaSimulator
) -> None:
    async with sim:
        url = sim.url
        sim.inject_fault(Fault.SLOW)
        await expect(
            NezhaTimeoutError,
            async_detect_generation(session, url, request_timeout=0.2),
        )
    await expect(NezhaConnectionError, async_detect_generation(session, url))


async def test_redirects_are_not_followed(session: aiohttp.ClientSession) -> None:
    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("https://elsewhere.example/api/v1/setting")

    app = web.Application()
    app.router.add_get(SETTING_PATH, moved)
    async with serve(app) as url:
        with pytest.raises(NezhaResponseError, match="redirects"):
            await async_detect_generation(session, url)
