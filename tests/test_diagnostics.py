"""The diagnostics: useful content, and nothing secret in it."""

import json
from typing import Any

import pytest
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
    get_diagnostics_for_device,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.nezha.diagnostics import redact_text
from nezha_dev.simulator import NezhaSimulator
from tests.helpers import TOKEN, Harness, entry_device, server_device

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
    nz: Harness, hass_client: ClientSessionGenerator, snapshot: SnapshotAssertion
) -> None:
    """Records, options, status, and after a failure the last error: all redacted."""
    hass, entry, url = nz.hass, nz.entry, nz.sim.url
    data = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    _assert_nothing_secret(data, nz.sim, url)
    assert data == snapshot

    await nz.sim.stop()  # connection refused: aiohttp names host and port
    await nz.tick()
    data = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    _assert_nothing_secret(data, nz.sim, url)
    coordinator = data["coordinator"]
    assert coordinator["last_update_success"] is False  # type: ignore[index,call-overload]
    error = coordinator["last_error"]  # type: ignore[index,call-overload]
    assert error.startswith("UpdateFailed: Could not reach the dashboard")
    assert "Cannot connect to host **REDACTED**" in error


async def test_device_diagnostics(
    nz: Harness, hass_client: ClientSessionGenerator, snapshot: SnapshotAssertion
) -> None:
    """One server's record and ping monitors; the fleet summary for the dashboard."""
    device = server_device(nz.hass, nz.entry, GPU_BOX)
    dashboard = entry_device(nz.hass, nz.entry.entry_id, nz.entry.entry_id)
    assert device is not None and dashboard is not None
    for name, of in (("server", device), ("dashboard", dashboard)):
        data = await get_diagnostics_for_device(nz.hass, hass_client, nz.entry, of)
        _assert_nothing_secret(data, nz.sim, nz.sim.url)
        assert data == snapshot(name=name)


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
