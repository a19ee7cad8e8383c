"""Tests of the anonymous generation probe (``GET /api/v1/setting``), over real HTTP."""

from typing import Any

import aiohttp
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
from tests.client.common import expect, json_app, serve, status_server

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
    ("version", "tsdb", "forced"),
    [
        *((version, True, False) for version in ("2.3.7", "2.1.0", "2.0.5")),
        *((version, False, False) for version in ("1.14.14", "1.0.3")),  # 1.0.3: flat
        ("v0", False, False),
        # No strike under force_auth; the TSDB key counts even when disabled.
        (None, True, True),
    ],
)
async def test_generation_is_detected(
    session: aiohttp.ClientSession, version: str | None, tsdb: bool, forced: bool
) -> None:
    generation = ApiGeneration.V0 if version == "v0" else ApiGeneration.V1
    expected = Detection(generation, tsdb=tsdb)
    version = None if version == "v0" else version
    sim = NezhaSimulator(generation=generation.value, servers=1, version=version)
    if forced:
        sim.force_auth = True
        sim.v1.tsdb_enabled = False
    async with sim:
        assert await async_detect_generation(session, sim.url) == expected
        assert_anonymous_probe(sim)
        if generation is ApiGeneration.V1:
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


OTHER_ANSWERS = [
    *(Fault.HTML_502, Fault.HTML_200, Fault.EMPTY_200, Fault.NOT_JSON),
    *(Fault.TRUNCATED_JSON, [1, 2], "success", {"success": "true"}, False),
    *({"error": "404 Not Found"}, {}),
]


@pytest.mark.parametrize("answer", OTHER_ANSWERS)
async def test_anything_else_is_left_to_the_v0_check(
    session: aiohttp.ClientSession, sim: NezhaSimulator, answer: Any
) -> None:
    """Proxies' pages, broken JSON, other JSON: the v0 request that follows decides."""
    async with sim, serve(json_app({SETTING_PATH: answer})) as app_url:
        url = sim.url if isinstance(answer, Fault) else app_url
        if isinstance(answer, Fault):
            sim.inject_fault(answer)
        detection = await async_detect_generation(session, url)
    assert detection == Detection(ApiGeneration.V0)


async def test_transport_errors_propagate(
    session: aiohttp.ClientSession, sim: NezhaSimulator
) -> None:
    """A timeout, a refused connection; a redirect is not followed."""
    async with sim:
        url = sim.url
        sim.inject_fault(Fault.SLOW)
        await expect(
            NezhaTimeoutError,
            async_detect_generation(session, url, request_timeout=0.2),
        )
    await expect(NezhaConnectionError, async_detect_generation(session, url))
    elsewhere = "https://elsewhere.example/api/v1/setting"
    async with status_server(302, elsewhere) as (url, seen):
        with pytest.raises(NezhaResponseError, match="redirects"):
            await async_detect_generation(session, url)
    assert seen == [SETTING_PATH]
