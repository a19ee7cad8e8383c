"""Device identity and facts, shared by the coordinator and the entities."""

from __future__ import annotations

from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo

from .client import ApiGeneration, Server
from .const import DOMAIN, MANUFACTURER
from .unique_id import dashboard_identifier, server_id_in, server_identifier


def server_id_of(device: dr.DeviceEntry, entry_id: str) -> int | None:
    """Return the server id behind one of our devices, or None for the dashboard."""
    return server_id_in(device.identifiers, entry_id)


def server_device_fields(server: Server) -> dict[str, str | None]:
    """Return the registry fields that follow the agent's reports."""
    host = server.host
    model = " ".join(part for part in (host.platform, host.platform_version) if part)
    cpu = host.cpu[0] if host.cpu else ""
    hardware = f"{cpu} ({host.arch})" if cpu and host.arch else cpu or host.arch
    return {
        "name": server.name or f"Server {server.id}",
        "model": model or None,
        "sw_version": host.agent_version or None,
        "hw_version": hardware or None,
    }


def server_page(base_url: str, generation: ApiGeneration, server_id: int) -> str:
    """Return the dashboard page of one server.

    v0 has no per-server status page; its per-server network (ping) page is the
    closest. v1 frontends have a server detail page.
    """
    if generation is ApiGeneration.V1:
        return f"{base_url}/server/{server_id}"
    return f"{base_url}/network/{server_id}"


def server_device_info(
    entry_id: str, base_url: str, generation: ApiGeneration, server: Server
) -> DeviceInfo:
    """Describe a server as a device, linking to its page on the dashboard."""
    fields = server_device_fields(server)
    return DeviceInfo(
        identifiers={(DOMAIN, server_identifier(entry_id, server.id))},
        manufacturer=MANUFACTURER,
        name=fields["name"],
        model=fields["model"],
        sw_version=fields["sw_version"],
        hw_version=fields["hw_version"],
        configuration_url=server_page(base_url, generation, server.id),
    )


def dashboard_device_info(entry_id: str, title: str, base_url: str) -> DeviceInfo:
    """Describe the dashboard itself as a service device."""
    return DeviceInfo(
        identifiers={(DOMAIN, dashboard_identifier(entry_id))},
        entry_type=DeviceEntryType.SERVICE,
        manufacturer=MANUFACTURER,
        model="Dashboard",
        name=title,
        configuration_url=base_url,
    )
