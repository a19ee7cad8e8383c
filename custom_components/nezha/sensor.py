"""The sensor platform: which sensors the dashboard and each server get, and when.

The entity classes live beside it: a server's own metrics in sensor_server.py,
its public note in sensor_notes.py, pings, quotas and services in sensor_side.py.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial

from homeassistant.components.sensor import (
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .client import Server
from .coordinator import NezhaConfigEntry, NezhaCoordinator, NezhaData
from .entity import NezhaDashboardEntity
from .new_entities import (
    add_entities_for_new_servers,
    add_entities_for_new_services,
    register_server_entities,
)
from .sensor_notes import NOTE_SENSORS, NezhaNoteSensor
from .sensor_server import SERVER_SENSORS, NezhaServerSensor, NezhaTemperatureSensor
from .sensor_side import (
    PING_SENSORS,
    QUOTA_SENSORS,
    SERVICE_SENSORS,
    NezhaPingSensor,
    NezhaQuotaSensor,
    NezhaServiceSensor,
)
from .unique_id import ping_key, quota_key, temperature_key

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class NezhaDashboardSensorDescription(SensorEntityDescription):
    """Describes one fleet-wide sensor."""

    value_fn: Callable[[NezhaData], int]


DASHBOARD_SENSORS: tuple[NezhaDashboardSensorDescription, ...] = (
    NezhaDashboardSensorDescription(
        key="servers_total",
        translation_key="servers_total",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda data: len(data.servers),
    ),
    NezhaDashboardSensorDescription(
        key="servers_online",
        translation_key="servers_online",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda data: sum(data.online.values()),
    ),
    NezhaDashboardSensorDescription(
        key="servers_offline",
        translation_key="servers_offline",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda data: len(data.online) - sum(data.online.values()),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NezhaConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create the dashboard sensors, then server sensors as servers appear."""
    coordinator = entry.runtime_data
    dashboard = [
        NezhaDashboardSensor(coordinator, description)
        for description in DASHBOARD_SENSORS
    ]
    budget = coordinator.entity_budget  # fleet-wide ones go first, unconditionally
    budget.take(Platform.SENSOR, budget.cost(Platform.SENSOR, dashboard))
    async_add_entities(dashboard)
    add_entities_for_new_servers(
        entry, async_add_entities, _server_entities, Platform.SENSOR
    )
    for service_description in SERVICE_SENSORS:
        add_entities_for_new_services(
            entry,
            async_add_entities,
            partial(NezhaServiceSensor, description=service_description),
            Platform.SENSOR,
        )


def _server_entities(
    coordinator: NezhaCoordinator, server: Server, known: set[str]
) -> Iterable[Entity]:
    # This runs for every server on every update, so the common case (nothing
    # new) is kept to a set lookup per key; ``known`` belongs to this server.
    for description in SERVER_SENSORS:
        if description.key not in known and description.exists_fn(server):
            known.add(description.key)
            yield NezhaServerSensor(coordinator, server.id, description)
    if removed := coordinator.removed_temperatures.pop(server.id, None):
        known.difference_update(temperature_key(name) for name in removed)
    allowed = coordinator.temperatures.get(server.id, {})
    for temperature in server.state.temperatures:
        key = temperature_key(temperature.name)
        if key not in known and temperature.name in allowed:
            known.add(key)
            yield NezhaTemperatureSensor(coordinator, server.id, temperature.name)
    yield from _extra_server_entities(coordinator, server, known)


def _extra_server_entities(
    coordinator: NezhaCoordinator, server: Server, known: set[str]
) -> Iterable[Entity]:
    """Public-note, ping and traffic-quota sensors of one server."""
    for note in NOTE_SENSORS:
        if note.key not in known and note.exists_fn(server):
            known.add(note.key)
            yield NezhaNoteSensor(coordinator, server.id, note)
    for monitor_id, monitor in coordinator.side.data.pings.get(server.id, {}).items():
        for ping_description in PING_SENSORS:
            key = ping_key(ping_description.key, monitor_id)
            if key not in known:
                known.add(key)
                yield NezhaPingSensor(coordinator, server.id, monitor, ping_description)
    for quota in coordinator.side.data.quotas.values():
        if server.id not in quota.used:
            continue  # a rule that covers other servers, or none
        for quota_description in QUOTA_SENSORS:
            key = quota_key(quota.id, quota_description.key)
            if key not in known and quota_description.exists_fn(quota):
                known.add(key)
                yield NezhaQuotaSensor(coordinator, server.id, quota, quota_description)


register_server_entities(Platform.SENSOR, _server_entities)


class NezhaDashboardSensor(NezhaDashboardEntity, SensorEntity):
    """A fleet-wide count on the dashboard device."""

    entity_description: NezhaDashboardSensorDescription

    def __init__(
        self,
        coordinator: NezhaCoordinator,
        description: NezhaDashboardSensorDescription,
    ) -> None:
        """Create the sensor from its description."""
        super().__init__(coordinator, description.key)
        self.entity_description = description

    @property
    def native_value(self) -> int:
        """Return the count."""
        return self.entity_description.value_fn(self.coordinator.data)
