"""The reliability tests run on the frozen clock (fixtures in tests/conftest.py)."""

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest

from nezha_dev.simulator import NezhaSimulator
from tests.helpers import (
    entity_ids,
    setup_frozen,
    setup_integration,
    v0_entry,
    v1_entry,
)
from tests.reliability.helpers import Rig


@pytest.fixture(autouse=True)
def _frozen_clock(frozen: None) -> None:
    """Every reliability test starts on the frozen clock."""


@pytest.fixture
def sim(request: pytest.FixtureRequest, generation: str) -> NezhaSimulator:
    """The five-server fleet of seed 1 as a ``generation`` dashboard."""
    name = "simulator" if generation == "v0" else "v1_sim"
    found: NezhaSimulator = request.getfixturevalue(name)
    return found


@pytest.fixture
async def rig(
    hass: HomeAssistant,
    sim: NezhaSimulator,
    generation: str,
    frozen: FrozenDateTimeFactory,
) -> Rig:
    """An entry set up for ``sim`` (v1: from exactly one frame, the stream up)."""
    if generation == "v0":
        entry = v0_entry(sim.url)
        await setup_integration(hass, entry)
        coordinator = entry.runtime_data
    else:
        entry = v1_entry(sim)
        coordinator = await setup_frozen(hass, entry)
        assert coordinator.stream is not None and coordinator.stream.connected
    return Rig(hass, entry, sim, frozen, coordinator, entity_ids(hass, entry))
