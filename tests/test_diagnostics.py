"""Tests of the diagnostics: useful content, and nothing secret in it."""

from __future__ import annotations

import json
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
    get_diagnostics_for_device,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.nezha.diagnostics import redact_text
from nezha_dev.simulator import NezhaSimulator
from tests.conftest import TOKEN
from tests.helpers import entry_device, server_device, tick

GPU_BOX = 3


pytestmark = pytest.mark.usefixtures("frozen")


def _assert_nothing_secret(data: Any, sim: NezhaSimulator, url: str) -> None:
    """The token, the dashboard's address and the fleet's IPs are all absent."""
    dump = json.dumps(data, ensure_ascii=False)
    secrets = {TOKEN, url, url.split("//", 1)[1], "127.0.0.1"}
    for server in sim.fleet.servers.values():
        secrets.update(part for part in server.host.ip.split("/") if part)
    assert len(secrets) > 8  # the fleet has v4, v6 and dual-stack servers
    for secret in secrets:
        assert secret not in dump, f"{secret!r} leaked into diagnostics"


async def test_entry_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    simulator: NezhaSimulator,
    snapshot: SnapshotAssertion,
) -> None:
    """The parsed snapshot of every server, options and status, redacted."""
    data = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    _assert_nothing_secret(data, simulator, simulator.url)
    assert data["coordinator"]["api_generation"] == "v0"  # type: ignore[index,call-overload]
    assert len(data["servers"]) == 5  # type: ignore[arg-type]
    assert data == snapshot


async def test_device_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    simulator: NezhaSimulator,
    snapshot: SnapshotAssertion,
) -> None:
    """One server's record and ping monitors; the fleet summary for the dashboard."""
    device = server_device(hass, init_integration, GPU_BOX)
    assert device is not None
    server = await get_diagnostics_for_device(
        hass, hass_client, init_integration, device
    )
    _assert_nothing_secret(server, simulator, simulator.url)
    assert server["online"] is True  # type: ignore[index,call-overload]
    assert server == snapshot(name="server")

    dashboard = entry_device(hass, init_integration.entry_id, init_integration.entry_id)
    assert dashboard is not None
    fleet = await get_diagnostics_for_device(
        hass, hass_client, init_integration, dashboard
    )
    _assert_nothing_secret(fleet, simulator, simulator.url)
    assert fleet == snapshot(name="dashboard")


async def test_diagnostics_after_connection_failure(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    simulator: NezhaSimulator,
    frozen: FrozenDateTimeFactory,
) -> None:
    """The last error is kept, without the host and port it names."""
    url = simulator.url
    await simulator.stop()  # connection refused: aiohttp names host and port
    await tick(hass, frozen)
    data = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    _assert_nothing_secret(data, simulator, url)
    coordinator = data["coordinator"]
    assert coordinator["last_update_success"] is False  # type: ignore[index,call-overload]
    error = coordinator["last_error"]  # type: ignore[index,call-overload]
    assert error.startswith("UpdateFailed: Could not reach the dashboard")
    assert "Cannot connect to host **REDACTED**" in error


def test_redact_text() -> None:
    """URL, host and addresses go; times of day and paths stay."""
    text = (
        "/api/v1/server/details: Cannot connect to host nezha.example.com:8443 "
        "ssl:default [Connect call failed ('203.0.113.7', 8443)] at 12:00:00; "
        "also https://nezha.example.com:8443/x, 2001:db8::5 and fe80:0:0:0:1:2:3:4"
    )
    redacted = redact_text(text, "https://nezha.example.com:8443")
    for gone in ("nezha.example.com", "203.0.113.7", "2001:db8::5", "fe80:0:0"):
        assert gone not in redacted
    assert "12:00:00" in redacted
    assert redacted.startswith("/api/v1/server/details: Cannot connect to host ")
