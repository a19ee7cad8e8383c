"""Fixtures of the hardening tests: v0 and v1 dashboards in real time."""

from collections.abc import AsyncGenerator

from homeassistant.core import HomeAssistant
import pytest

from custom_components.nezha.coordinator_v1 import NezhaStreamCoordinator
from nezha_dev.simulator import NezhaSimulator
from tests.helpers import FRAME, unload_all


@pytest.fixture
async def v0_sim(
    hass: HomeAssistant, simulator: NezhaSimulator
) -> AsyncGenerator[NezhaSimulator]:
    """The five-server v0 fleet of seed 1; the test's entries unload before it stops."""
    yield simulator
    await unload_all(hass)


@pytest.fixture
def v1_sim(v1_sim: NezhaSimulator, monkeypatch: pytest.MonkeyPatch) -> NezhaSimulator:
    """The v1 fleet, streaming every 0.2 s (the integration is told that interval)."""
    monkeypatch.setattr(NezhaStreamCoordinator, "frame_interval", FRAME)
    v1_sim.ws_interval = FRAME
    return v1_sim


@pytest.fixture
def sim(request: pytest.FixtureRequest, generation: str) -> NezhaSimulator:
    """``v0_sim`` or ``v1_sim``, by the test's ``generation`` parameter."""
    found: NezhaSimulator = request.getfixturevalue(f"{generation}_sim")
    return found
