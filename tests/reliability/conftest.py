"""Fixtures of the reliability tests: a frozen clock, a v0 and a v1 dashboard."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from tests.helpers import FROZEN_AT, Harness
from tests.helpers_v1 import PAT
from tests.reliability.helpers import unload_all
from tests.simulator import NezhaSimulator


@pytest.fixture(autouse=True)
def frozen(freezer: FrozenDateTimeFactory) -> FrozenDateTimeFactory:
    """Freeze time before any simulator is created so its values are fixed."""
    freezer.move_to(FROZEN_AT)
    return freezer


@pytest.fixture
def nz(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: NezhaSimulator,
    frozen: FrozenDateTimeFactory,
) -> Harness:
    """The integration set up against the five-server v0 simulator."""
    return Harness(hass, init_integration, simulator, frozen)


@pytest.fixture
async def v1_sim(
    hass: HomeAssistant, socket_enabled: None
) -> AsyncGenerator[NezhaSimulator]:
    """The five-server fleet of seed 1 as a v2.3.7 dashboard (2 s frames).

    Entries of the test are unloaded before it stops (their stream never ends).
    """
    sim = NezhaSimulator(generation="v1", servers=5, seed=1, token=PAT)
    await sim.start()
    yield sim
    await unload_all(hass)
    await sim.stop()
