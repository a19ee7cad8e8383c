"""Fixtures of the client tests."""

from collections.abc import AsyncIterator

import aiohttp
import pytest

from custom_components.nezha.client import NezhaV0Client
from nezha_dev.simulator import NezhaSimulator
from tests.client.common import FROZEN_AT, v1_sim
from tests.conftest import TOKEN


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session, closed after the test."""
    async with aiohttp.ClientSession() as http:
        yield http


@pytest.fixture
def client(session: aiohttp.ClientSession, simulator: NezhaSimulator) -> NezhaV0Client:
    """A client with the valid token."""
    return NezhaV0Client(session, simulator.url, TOKEN)


@pytest.fixture
async def sim(
    socket_enabled: None, request: pytest.FixtureRequest
) -> AsyncIterator[NezhaSimulator]:
    """A running dashboard: v2.3.7, five servers unless ``v1_sim`` kwargs (param).

    ``frozen=True`` (param) freezes it at noon of its +08:00 day.
    """
    kwargs = dict(getattr(request, "param", {}))
    if kwargs.pop("frozen", False):
        # A frozen clock freezes the loop's too: read only a stream's first frame.
        request.getfixturevalue("freezer").move_to(FROZEN_AT)
    async with v1_sim(**kwargs) as simulator:
        yield simulator
