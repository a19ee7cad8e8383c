"""Fixtures of the config-flow tests: simulators of both generations, stand-in servers."""

from collections.abc import AsyncGenerator, Generator
import contextlib
from typing import Any
from unittest.mock import AsyncMock, patch

from aiohttp import web
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.nezha.const import DOMAIN
from nezha_dev.simulator import NezhaSimulator
from tests.client import common
from tests.config_flow.helpers import TOKENS, MakeSim, Serve
from tests.helpers import PAT, nezha_entry, setup_integration


@pytest.fixture
def mock_setup_entry() -> Generator[AsyncMock]:
    """Skip the real setup in tests that only exercise the flow."""
    with patch("custom_components.nezha.async_setup_entry", return_value=True) as mock:
        yield mock


@pytest.fixture
async def serve(socket_enabled: None) -> AsyncGenerator[Serve]:
    """Start aiohttp apps on 127.0.0.1; all are stopped after the test."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(app: web.Application) -> str:
            return await stack.enter_async_context(common.serve(app))

        yield start


@pytest.fixture
async def make_sim(
    hass: HomeAssistant, socket_enabled: None
) -> AsyncGenerator[MakeSim]:
    """Start v1 simulators (token ``PAT``); set-up entries unload before they stop."""
    started: list[NezhaSimulator] = []

    async def make(**kwargs: Any) -> NezhaSimulator:
        sim = NezhaSimulator(generation="v1", servers=5, seed=1, token=PAT, **kwargs)
        sim.ws_interval = 0.2
        await sim.start()
        started.append(sim)
        return sim

    yield make
    for entry in hass.config_entries.async_entries(DOMAIN):
        if hasattr(entry, "runtime_data"):  # set up for real (the stream never ends)
            assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    for sim in started:
        await sim.stop()


@pytest.fixture
async def v1(make_sim: MakeSim) -> NezhaSimulator:
    """A current (2.3.7) v1 dashboard."""
    return await make_sim()


@pytest.fixture
def sims(simulator: NezhaSimulator, v1: NezhaSimulator) -> dict[str, NezhaSimulator]:
    """A dashboard of each generation."""
    return {"v0": simulator, "v1": v1}


@pytest.fixture(params=["v0", "v1"])
def gen(request: pytest.FixtureRequest) -> str:
    """The API generation under test."""
    return str(request.param)


@pytest.fixture
async def loaded(
    hass: HomeAssistant, gen: str, sims: dict[str, NezhaSimulator]
) -> MockConfigEntry:
    """A set-up entry for the dashboard of the generation under test."""
    entry = nezha_entry(sims[gen].url, gen, TOKENS[gen])
    await setup_integration(hass, entry, background=False)
    return entry
