"""Shared pytest fixtures for the Nezha integration tests."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
import logging
from unittest.mock import PropertyMock, patch

from homeassistant.const import CONF_API_TOKEN, CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion

# Import the project's package before any test requests `hass`: that fixture puts
# PHCC's own testing_config/custom_components on sys.path, which would otherwise
# shadow ours ("Integration 'nezha' not found").
import custom_components.nezha  # noqa: F401
from custom_components.nezha.const import DOMAIN
from tests.simulator import NezhaSimulator
from tests.snapshot import NormalisedSnapshotExtension


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load integrations from custom_components/ in every test."""


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Enable entities that are disabled by default (PHCC does not ship this fixture).

    `snapshot_platform` asserts that every entity is enabled, so request this fixture
    in platform snapshot tests.
    """
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


# --------------------------------------------------------------- the simulated dashboard


TOKEN = "hAsS7tokenX9q2W4e6R8t0Y1u3I5o7P9"
ENTRY_ID = "01NEZHATESTENTRY000000000A"
ENTRY_TITLE = "Nezha test dashboard"

# Every token a test hands to the integration; the autouse leak check scans for all.
SECRETS: set[str] = {TOKEN}


def register_secret(token: str) -> str:
    """Add a token to the set the leak check scans for, and return it."""
    SECRETS.add(token)
    return token


@pytest.fixture(autouse=True)
def no_token_in_logs(caplog: pytest.LogCaptureFixture) -> Generator[None]:
    """Fail any test in which a log record (at any level) contains a token."""
    caplog.set_level(logging.DEBUG)
    yield
    records = [
        record
        for when in ("setup", "call", "teardown")
        for record in caplog.get_records(when)
    ]
    for record in records:
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        for secret in SECRETS:
            assert secret not in text, f"token leaked in log record from {record.name}"


@pytest.fixture
async def simulator(socket_enabled: None) -> AsyncGenerator[NezhaSimulator]:
    """A simulated v0 dashboard with five servers on 127.0.0.1."""
    sim = NezhaSimulator(servers=5, token=TOKEN, seed=1)
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture
def config_entry(simulator: NezhaSimulator) -> MockConfigEntry:
    """A config entry pointing at the simulator."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=ENTRY_TITLE,
        entry_id=ENTRY_ID,
        data={
            CONF_URL: simulator.url,
            CONF_API_TOKEN: TOKEN,
            CONF_VERIFY_SSL: True,
            "api_generation": "v0",
        },
    )


async def setup_integration(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Add the entry and set it up, waiting for the first ping fetch too."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


@pytest.fixture
async def init_integration(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> MockConfigEntry:
    """Set up the integration against the simulator and return its entry."""
    await setup_integration(hass, config_entry)
    return config_entry
