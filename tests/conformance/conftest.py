"""Fixtures of the conformance tests."""

from collections.abc import AsyncIterator

import aiohttp
import pytest

from nezha_dev.conformance.replay import ReplayServer

from .helpers import Served


@pytest.fixture
def frame_gap() -> float:
    """Seconds between replayed stream frames; a test module may override it."""
    return 0.05


@pytest.fixture
async def served(
    request: pytest.FixtureRequest, frame_gap: float, socket_enabled: None
) -> AsyncIterator[Served]:
    """The parametrised recording (indirect), served on loopback, and a session."""
    async with (
        ReplayServer(request.param, frame_gap=frame_gap) as server,
        aiohttp.ClientSession() as session,
    ):
        yield Served(request.param, server, session)
