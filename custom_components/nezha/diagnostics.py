"""Diagnostics with the token, addresses and the dashboard host redacted."""

from dataclasses import asdict
import re
from typing import Any
from urllib.parse import urlsplit

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_API_TOKEN, CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr

from .const import CONF_WEBHOOK_ID
from .coordinator import NezhaConfigEntry, NezhaCoordinator
from .device import server_id_of

# The webhook id is the secret part of the alerts webhook's URL.
TO_REDACT = {
    CONF_API_TOKEN,
    CONF_URL,
    CONF_WEBHOOK_ID,
    "title",
    "ipv4",
    "ipv6",
    "valid_ip",
    # Free text of the public note (prices, routes, remarks).
    "amount",
    "network_routes",
    "extra",
}
REDACTED = "**REDACTED**"

_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")


def _redact_ipv6(match: re.Match[str]) -> str:
    text = match.group(0)
    # "12:00:00" is a time of day, not an address.
    return REDACTED if "::" in text or text.count(":") >= 4 else text


def redact_text(text: str, base_url: str) -> str:
    """Remove the dashboard's URL, host and any IP address from free text.

    Error messages of the HTTP stack name the host and port, and the resolved
    address, of the dashboard ("Cannot connect to host ...").
    """
    parts = urlsplit(base_url)
    for secret in (base_url, parts.netloc, parts.hostname):
        if secret:
            text = text.replace(secret, REDACTED)
    text = _IPV4.sub(REDACTED, text)
    return _IPV6.sub(_redact_ipv6, text)


def _server(coordinator: NezhaCoordinator, server_id: int) -> dict[str, Any]:
    server = coordinator.data.servers.get(server_id)
    return {
        "server": async_redact_data(asdict(server), TO_REDACT) if server else None,
        "online": coordinator.data.online.get(server_id),
        "ping_monitors": [
            asdict(monitor)
            for monitor in coordinator.side.data.pings.get(server_id, {}).values()
        ],
    }


def _coordinator(coordinator: NezhaCoordinator) -> dict[str, Any]:
    error = coordinator.last_exception
    return {
        "api_generation": coordinator.client.generation.value,
        "last_update_success": coordinator.last_update_success,
        "last_error": redact_text(
            f"{type(error).__name__}: {error}", coordinator.client.base_url
        )
        if error
        else None,
        "server_time": coordinator.data.server_time.isoformat(),
        "server_group": coordinator.tag,
        # The effective settings, defaults included (options may be empty).
        "update_interval": coordinator.update_interval.total_seconds()
        if coordinator.update_interval
        else None,
        "offline_threshold": coordinator.offline_threshold,
        "ping_interval": coordinator.ping_interval,
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
        "traffic_quotas": [
            asdict(quota) for quota in coordinator.side.data.quotas.values()
        ],
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
