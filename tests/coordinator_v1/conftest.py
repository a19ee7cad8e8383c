"""Fixtures of the v1 coordinator tests: a streaming dashboard and live entries."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from homeassistant.core import HomeAssistant
import pytest

from custom_components.nezha.coordinator_v1 import NezhaStreamCoordinator
from nezha_dev.simulator import NezhaSimulator
from tests.helpers import FRAME, PAT, Live, MakeLive, start_live


@pytest.fixture
async def sim(
    socket_enabled: None, monkeypatch: pytest.MonkeyPatch
) -> AsyncGenerator[NezhaSimulator]:
    """A v2.3.7 dashboard with five servers, streaming ten times faster than a real one."""
    monkeypatch.setattr(NezhaStreamCoordinator, "frame_interval", FRAME)
    sim = NezhaSimulator(generation="v1", servers=5, seed=1, token=PAT)
    sim.ws_interval = FRAME
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture
async def make_live(
    hass: HomeAssistant, sim: NezhaSimulator
) -> AsyncGenerator[MakeLive]:
    """Set up v1 entries with the given options; unloaded after the test."""
    lives: list[Live] = []

    async def make(token: str = PAT, **options: float | str) -> Live:
        live = await start_live(hass, sim, token, **options)
        lives.append(live)
        return live

    yield make
    for live in lives:
        await live.unload()
