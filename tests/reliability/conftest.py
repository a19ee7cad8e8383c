"""The reliability tests run on the frozen clock (fixtures in tests/conftest.py)."""

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest

from tests.helpers import Dashboard, entity_ids
from tests.reliability.helpers import Rig


@pytest.fixture(autouse=True)
def _frozen_clock(frozen: None) -> None:
    """Every reliability test starts on the frozen clock."""


@pytest.fixture
async def rig(
    hass: HomeAssistant, dashboard: Dashboard, frozen: FrozenDateTimeFactory
) -> Rig:
    """An entry set up for ``dashboard`` (v1: from exactly one frame, the stream up)."""
    entry = await dashboard.setup(hass)
    coordinator = entry.runtime_data
    if dashboard.generation == "v1":
        assert coordinator.stream is not None and coordinator.stream.connected
    return Rig(hass, entry, dashboard.sim, frozen, coordinator, entity_ids(hass, entry))
