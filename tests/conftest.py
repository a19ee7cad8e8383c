"""Shared pytest fixtures for the Nezha integration tests."""

from collections.abc import AsyncGenerator, Generator
import logging
from unittest.mock import PropertyMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

# Import the project's package before any test requests `hass`: that fixture puts
# PHCC's own testing_config/custom_components on sys.path, which would otherwise
# shadow ours ("Integration 'nezha' not found").
import custom_components.nezha  # noqa: F401
from custom_components.nezha.const import CONF_PING_INTERVAL
from nezha_dev.simulator import NezhaSimulator
from tests.helpers import (
    ENTRY_ID,  # noqa: F401 - re-exported: tests import it from here too
    FROZEN_AT,
    PAT,
    SECRETS,
    TOKEN,
    V1_ENTRY_ID,
    Dashboard,
    Harness,
    register_secret,  # noqa: F401 - re-exported
    setup_frozen,
    setup_integration,
    unload_all,
    v0_entry,
    v1_entry,
)
from tests.snapshot import NormalisedSnapshotExtension


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load integrations from custom_components/ in every test."""


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Enable entities disabled by default (`snapshot_platform` wants all enabled)."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Return syrupy's snapshot in the release-neutral notation (tests/snapshots/)."""
    return snapshot.use_extension(NormalisedSnapshotExtension)


@pytest.fixture(autouse=True)
def no_token_in_logs(caplog: pytest.LogCaptureFixture) -> Generator[None]:
    """Fail any test in which a log record (at any level) contains a token."""
    caplog.set_level(logging.DEBUG)
    yield
    for when in ("setup", "call", "teardown"):
        for record in caplog.get_records(when):
            text = record.getMessage()
            if record.exc_info:
                text += logging.Formatter().formatException(record.exc_info)
            for secret in SECRETS:
                assert secret not in text, (
                    f"token leaked in log record from {record.name}"
                )


@pytest.fixture
async def simulator(socket_enabled: None) -> AsyncGenerator[NezhaSimulator]:
    """A simulated v0 dashboard with five servers on 127.0.0.1."""
    async with NezhaSimulator(servers=5, token=TOKEN, seed=1) as sim:
        yield sim


@pytest.fixture
def config_entry(simulator: NezhaSimulator) -> MockConfigEntry:
    """A config entry pointing at the simulator."""
    return v0_entry(simulator.url)


@pytest.fixture
async def init_integration(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> MockConfigEntry:
    """Set up the integration against the simulator and return its entry."""
    await setup_integration(hass, config_entry)
    return config_entry


@pytest.fixture
def frozen(freezer: FrozenDateTimeFactory) -> FrozenDateTimeFactory:
    """Freeze time before any simulator is created, so its values are fixed."""
    freezer.move_to(FROZEN_AT)
    return freezer


@pytest.fixture
def nz(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    simulator: NezhaSimulator,
    frozen: FrozenDateTimeFactory,
) -> Harness:
    """The integration set up against the five-server v0 simulator, time frozen."""
    return Harness(hass, init_integration, simulator, frozen)


@pytest.fixture
async def v1_sim(
    hass: HomeAssistant, socket_enabled: None
) -> AsyncGenerator[NezhaSimulator]:
    """The five-server fleet of seed 1 as a v2.3.7 dashboard; unloads entries first."""
    async with NezhaSimulator(generation="v1", servers=5, seed=1, token=PAT) as sim:
        yield sim
        await unload_all(hass)


@pytest.fixture(params=["v0", "v1"])
def dashboard(request: pytest.FixtureRequest) -> Dashboard:
    """The five-server fleet as v0 and as v1 (not set up: ``dashboard.setup(hass)``)."""
    if request.param == "v0":
        sim = request.getfixturevalue("simulator")
        return Dashboard("v0", sim, request.getfixturevalue("config_entry"))
    sim = request.getfixturevalue("v1_sim")
    return Dashboard("v1", sim, v1_entry(sim, entry_id=V1_ENTRY_ID))


@pytest.fixture
async def fleet_sim(socket_enabled: None) -> AsyncGenerator[NezhaSimulator]:
    """Seven servers of seed 1 as a v2.3.7 dashboard: public notes of every kind."""
    async with NezhaSimulator(generation="v1", servers=7, seed=1, token=PAT) as sim:
        yield sim


@pytest.fixture
async def fleet_entry(
    hass: HomeAssistant, fleet_sim: NezhaSimulator
) -> AsyncGenerator[MockConfigEntry]:
    """A v1 entry for ``fleet_sim`` set up from one frame and one ping round (60 s)."""
    entry = v1_entry(fleet_sim, **{CONF_PING_INTERVAL: 60})
    await setup_frozen(hass, entry)
    yield entry
    await unload_all(hass)
