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
V1_WITH_TSDB = ("2.3.7", "2.1.0", "2.0.5")


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
    ("generation", "version", "expected"),
    [
        *(("v1", v, Detection(ApiGeneration.V1, tsdb=True)) for v in V1_WITH_TSDB),
        ("v1", "1.14.14", Detection(ApiGeneration.V1, tsdb=False)),
        ("v1", "1.0.3", Detection(ApiGeneration.V1, tsdb=False)),  # a flat config
        ("v0", None, Detection(ApiGeneration.V0, tsdb=False)),
    ],
)
async def test_generation_is_detected(
    session: aiohttp.ClientSession,
    generation: str,
    version: str | None,
    expected: Detection,
) -> None:
    async with NezhaSimulator(generation=generation, servers=1, version=version) as sim:
        assert await async_detect_generation(session, sim.url) == expected
        assert_anonymous_probe(sim)
        if generation == "v1":
            assert sim.waf_strikes() == 0


async def test_probe_costs_no_strike_and_tsdb_key_counts_even_when_disabled(
    session: aiohttp.ClientSession, sim: NezhaSimulator
) -> None:
    sim.force_auth = True
    sim.v1.tsdb_enabled = False
    async with sim:
        detection = await async_detect_generation(session, sim.url)
        assert detection == Detection(ApiGeneration.V1, tsdb=True)
        assert_anonymous_probe(sim)
        assert sim.waf_strikes() == 0
        assert not sim.waf_blocked()


@pytest.mark.parametrize(
    ("error", "words"),
    [(NezhaWafBlockedError, "WAF"), (NezhaProxyHeaderError, "reverse proxy")],
)
async def test_refusals_of_the_probe(
    session: aiohttp.ClientSession,
    sim: NezhaSimulator,
    error: type[NezhaWafBlockedError | NezhaProxyHeaderError],
    words: str,
) -> None:
    """A WAF block page, or a reverse proxy that does not send the real-IP header."""
    if error is NezhaProxyHeaderError:
        sim.real_ip_header = "X-Real-IP"
    async with sim:
        if error is NezhaWafBlockedError:
            sim.add_waf_strike()
        err = await expect(error, async_detect_generation(session, sim.url))
        assert words in str(err)
        assert_anonymous_probe(sim)
        assert sim.waf_strikes() == (error is NezhaWafBlockedError)  # blocked adds none


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
