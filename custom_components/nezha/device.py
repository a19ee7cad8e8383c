"""Device facts and their sync with the fleet, shared by coordinators and entities."""

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo

from .client import ApiGeneration, Fleet, Host, Server
from .const import DOMAIN, LOGGER, MANUFACTURER
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


class DeviceSync:
    """Keeps the entry's server devices in step with the fleet."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Sync the devices of one config entry."""
        self._hass = hass
        self._entry_id = entry_id
        # Device id -> the device entry last checked, its server id and the
        # name and host it was checked against. Every poll parses new records,
        # so comparing them is what spares recomputing each device's fields.
        # A device changed by anyone is a new entry object, and checked again.
        self._checked: dict[str, tuple[dr.DeviceEntry, int, str, Host]] = {}

    @callback
    def __call__(self, fleet: Fleet) -> None:
        """Remove devices of deleted servers and refresh changed device facts."""
        registry = dr.async_get(self._hass)
        # An empty answer is more likely a renamed group or a dashboard restart
        # than a fleet that was deleted on purpose; never wipe everything for it.
        may_remove = fleet.complete and bool(fleet.servers)
        checked: dict[str, tuple[dr.DeviceEntry, int, str, Host]] = {}
        for device in dr.async_entries_for_config_entry(registry, self._entry_id):
            last = self._checked.get(device.id)
            server_id: int | None
            if last is not None and last[0] is device:
                server_id = last[1]
            else:
                server_id = server_id_of(device, self._entry_id)
            if server_id is None:
                continue  # the dashboard's own device
            server = fleet.servers.get(server_id)
            if server is None:
                if may_remove and not fleet.may_have(server_id):
                    LOGGER.info("Removing device %s: the server is gone", device.name)
                    registry.async_remove_device(device.id)
                continue
            current = device
            if (
                last is None
                or last[0] is not device
                or last[2] != server.name
                or last[3] != server.host
            ):
                current = _refresh_device(registry, device, server)
            checked[device.id] = (current, server_id, server.name, server.host)
        self._checked = checked


def _refresh_device(
    registry: dr.DeviceRegistry, device: dr.DeviceEntry, server: Server
) -> dr.DeviceEntry:
    # A server that has not reported since the dashboard restarted comes with
    # a zeroed host; keep the facts we know rather than wiping them.
    fields = {
        key: getattr(device, key) if value is None else value
        for key, value in server_device_fields(server).items()
    }
    if all(getattr(device, key) == value for key, value in fields.items()):
        return device
    return (
        registry.async_update_device(
            device.id,
            name=fields["name"],
            model=fields["model"],
            sw_version=fields["sw_version"],
            hw_version=fields["hw_version"],
        )
        or device
    )


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
