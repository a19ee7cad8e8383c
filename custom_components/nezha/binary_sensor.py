"""Binary sensors: each server's online state and "any server offline"."""

from collections.abc import Iterable

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
)
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .client import Server, ServiceStatus
from .coordinator import NezhaConfigEntry, NezhaCoordinator
from .entity import NezhaDashboardEntity, NezhaServerEntity, NezhaServiceEntity
from .new_entities import (
    add_entities_for_new_servers,
    add_entities_for_new_services,
    register_server_entities,
)

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NezhaConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create the fleet problem sensor, then one online sensor per server."""
    dashboard = [NezhaAnyOfflineSensor(entry.runtime_data)]
    budget = entry.runtime_data.entity_budget  # fleet-wide: first, unconditionally
    budget.take(Platform.BINARY_SENSOR, budget.cost(Platform.BINARY_SENSOR, dashboard))
    async_add_entities(dashboard)
    add_entities_for_new_servers(
        entry, async_add_entities, _server_entities, Platform.BINARY_SENSOR
    )
    add_entities_for_new_services(
        entry, async_add_entities, NezhaServiceUpSensor, Platform.BINARY_SENSOR
    )


def _server_entities(
    coordinator: NezhaCoordinator, server: Server, known: set[str]
) -> Iterable[Entity]:
    if str(server.id) not in known:
        known.add(str(server.id))
        yield NezhaOnlineSensor(coordinator, server.id)


register_server_entities(Platform.BINARY_SENSOR, _server_entities)


class NezhaOnlineSensor(NezhaServerEntity, BinarySensorEntity):
    """On while the agent reports within the offline threshold.

    It stays available while the server is offline; that is the point of it.
    """

    _attr_translation_key = "online"
    _attr_device_class = BinarySensorDeviceClass.CONNECTIVITY
    requires_online = False

    def __init__(self, coordinator: NezhaCoordinator, server_id: int) -> None:
        """Create the sensor for one server."""
        super().__init__(coordinator, server_id, "online")

    @property
    def is_on(self) -> bool:
        """Return True when the server is online."""
        return self.server_online


class NezhaAnyOfflineSensor(NezhaDashboardEntity, BinarySensorEntity):
    """A problem when at least one server is offline, for fleet-wide automations."""

    _attr_translation_key = "any_offline"
    _attr_device_class = BinarySensorDeviceClass.PROBLEM

    def __init__(self, coordinator: NezhaCoordinator) -> None:
        """Create the sensor for the dashboard."""
        super().__init__(coordinator, "any_offline")

    @property
    def is_on(self) -> bool:
        """Return True when any server is offline."""
        return not all(self.coordinator.data.online.values())


class NezhaServiceUpSensor(NezhaServiceEntity, BinarySensorEntity):
    """On while most of a v1 service's latest checks succeed."""

    _attr_translation_key = "service_up"
    _attr_device_class = BinarySensorDeviceClass.CONNECTIVITY

    def __init__(self, coordinator: NezhaCoordinator, service: ServiceStatus) -> None:
        """Create the sensor for one service."""
        super().__init__(coordinator, service, "up")

    @property
    def is_on(self) -> bool | None:
        """Return the majority of the latest checks; None before any check."""
        service = self.service
        return None if service is None else service.is_up
