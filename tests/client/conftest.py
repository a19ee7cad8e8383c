"""Fixtures of the client tests."""

from collections.abc import AsyncIterator

import aiohttp
import pytest

from custom_components.nezha.client import NezhaV0Client
from nezha_dev.simulator import NezhaSimulator
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
