"""Diagnostics with the token, addresses and the dashboard host redacted."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_API_TOKEN, CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr

from .coordinator import NezhaConfigEntry, NezhaCoordinator
from .device import server_id_of

TO_REDACT = {CONF_API_TOKEN, CONF_URL, "title", "ipv4", "ipv6", "valid_ip"}


def _server(coordinator: NezhaCoordinator, server_id: int) -> dict[str, Any]:
    server = coordinator.data.servers.get(server_id)
    return {
        "server": async_redact_data(asdict(server), TO_REDACT) if server else None,
        "online": coordinator.data.online.get(server_id),
        "ping_monitors": [
            asdict(monitor) for monitor in coordinator.pings.get(server_id, {}).values()
        ],
    }


def _coordinator(coordinator: NezhaCoordinator) -> dict[str, Any]:
    error = coordinator.last_exception
    return {
        "api_generation": coordinator.client.generation.value,
        "last_update_success": coordinator.last_update_success,
        "last_error": f"{type(error).__name__}: {error}" if error else None,
        "server_time": coordinator.data.server_time.isoformat(),
        "server_group": coordinator.tag,
    }


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: NezhaConfigEntry
) -> dict[str, Any]:
    """Return the entry, its options and the parsed snapshot of every server."""
    coordinator = entry.runtime_data
    return {
        "entry": async_redact_data(
            {
                "title": entry.title,
                "data": dict(entry.data),
                "options": dict(entry.options),
            },
            TO_REDACT,
        ),
        "coordinator": _coordinator(coordinator),
        "servers": {
            str(server_id): _server(coordinator, server_id)
            for server_id in coordinator.data.servers
        },
    }


async def async_get_device_diagnostics(
    hass: HomeAssistant, entry: NezhaConfigEntry, device: dr.DeviceEntry
) -> dict[str, Any]:
    """Return one server's parsed record, or the fleet summary for the dashboard."""
    coordinator = entry.runtime_data
    server_id = server_id_of(device, entry.entry_id)
    if server_id is None:
        return {
            "coordinator": _coordinator(coordinator),
            "servers": len(coordinator.data.servers),
        }
    return {"coordinator": _coordinator(coordinator), **_server(coordinator, server_id)}
