"""Fixtures of the hardening tests: v0 and v1 dashboards in real time."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from homeassistant.core import HomeAssistant
import pytest

from custom_components.nezha.coordinator_v1 import NezhaStreamCoordinator
from nezha_dev.simulator import NezhaSimulator
from tests.helpers import FRAME, PAT, TOKEN, unload_all


@pytest.fixture
async def v0_sim(
    hass: HomeAssistant, socket_enabled: None
) -> AsyncGenerator[NezhaSimulator]:
    """The five-server v0 fleet of seed 1."""
    sim = NezhaSimulator(servers=5, seed=1, token=TOKEN)
    await sim.start()
    yield sim
    await unload_all(hass)
    await sim.stop()


@pytest.fixture
async def v1_sim(
    hass: HomeAssistant, socket_enabled: None, monkeypatch: pytest.MonkeyPatch
) -> AsyncGenerator[NezhaSimulator]:
    """The five-server fleet of seed 1 as a v2.3.7 dashboard, streaming every 0.2 s.

    The integration is told that frame interval (it parses one frame per interval).
    """
    monkeypatch.setattr(NezhaStreamCoordinator, "frame_interval", FRAME)
    sim = NezhaSimulator(generation="v1", servers=5, seed=1, token=PAT)
    sim.ws_interval = FRAME
    await sim.start()
    yield sim
    await unload_all(hass)
    await sim.stop()
