"""Base entities: one device per server, plus the dashboard's own device."""

import asyncio
from typing import Any, Final

from homeassistant.components.binary_sensor import BinarySensorEntity
from homeassistant.components.sensor import SensorEntity
from homeassistant.core import HomeAssistant, State, callback
from homeassistant.helpers.entity_platform import EntityPlatform
from homeassistant.helpers.update_coordinator import CoordinatorEntity
from homeassistant.util import slugify

from .client import Server, ServiceStatus
from .const import DOMAIN
from .coordinator import NezhaCoordinator
from .device import dashboard_device_info, server_device_info
from .unique_id import dashboard_unique_id, server_unique_id, service_key

# What an unavailable entity shows: no value and no attributes of its own.
_UNAVAILABLE: Final = (False,)


class NezhaEntity(CoordinatorEntity[NezhaCoordinator]):
    """Base of every entity: a coordinator update writes only what changed.

    Much of an answer repeats the last one (online flags, boot times, idle
    servers' totals), and writing an unchanged state still costs Home Assistant
    most of a write. So an update compares what the entity would show, cheaply
    (availability, native value or ``is_on``, attributes), with what its last
    write showed, and writes only when they differ. Every write, also those
    Home Assistant makes itself (when added, on registry changes) and an
    event's trigger, goes through ``_async_write_ha_state``, which records what
    it showed and the state object it left; if that object is no longer the
    current state (removed, or set by someone else), the next update writes.
    Skipped writes leave ``last_reported`` where it was.
    """

    _shown: tuple[object, ...] | None = None  # what the last write showed
    _written: State | None = None  # the state object that write left
    _pending: tuple[object, ...] | None = None  # computed by an update, for the write
    _value_attr = "state"  # the cheapest property that is the entity's value

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Pick the value property once per class (a sensor's state converts units)."""
        super().__init_subclass__(**kwargs)
        if issubclass(cls, SensorEntity):
            cls._value_attr = "native_value"
        elif issubclass(cls, BinarySensorEntity):
            cls._value_attr = "is_on"

    def _showing(self) -> tuple[object, ...]:
        """What a state write would show now, without building the state."""
        if not self.available:
            return _UNAVAILABLE
        value = getattr(self, self._value_attr)
        # The type too: 1 and 1.0 are equal but are written as "1" and "1.0".
        return (
            value.__class__,
            value,
            self.state_attributes,
            self.extra_state_attributes,
        )

    @callback
    def _handle_coordinator_update(self) -> None:
        """Write the state if what the entity shows changed since its last write."""
        shown = self._showing()
        if (
            shown == self._shown
            and (current := self.hass.states.get(self.entity_id)) is not None
            and current is self._written
            and not self.force_update
        ):
            return
        self._pending = shown
        try:
            self.async_write_ha_state()
        finally:
            self._pending = None

    @callback
    def _async_write_ha_state(self) -> None:
        """Write the state and remember what it showed."""
        shown = self._pending
        self._pending = None
        if shown is None:
            shown = self._showing()
        super()._async_write_ha_state()
        self._shown = shown
        self._written = self.hass.states.get(self.entity_id)


class NezhaServerEntity(NezhaEntity):
    """An entity of one server device.

    Entities that describe live metrics set ``requires_online`` so that they turn
    unavailable while the agent is offline instead of showing stale numbers.
    """

    _attr_has_entity_name = True
    requires_online = True

    def __init__(self, coordinator: NezhaCoordinator, server_id: int, key: str) -> None:
        """Bind the entity to a server id, which never changes."""
        super().__init__(coordinator)
        self.server_id = server_id
        entry = coordinator.config_entry
        self._attr_unique_id = server_unique_id(entry.entry_id, server_id, key)
        self._attr_device_info = server_device_info(
            entry.entry_id,
            coordinator.client.base_url,
            coordinator.client.generation,
            coordinator.data.servers[server_id],
        )

    @property
    def server(self) -> Server | None:
        """Return the server's latest record, or None if the last answer lacked it."""
        return self.coordinator.data.servers.get(self.server_id)

    @property
    def server_online(self) -> bool:
        """Return True when the server reported within the offline threshold."""
        return self.coordinator.data.online.get(self.server_id, False)

    @property
    def available(self) -> bool:
        """Unavailable when the dashboard is unreachable or the server is unknown."""
        # Read twice per update of every entity: CoordinatorEntity's check and
        # the same as ``server`` and ``server_online``, without their calls.
        coordinator = self.coordinator
        if not coordinator.last_update_success:
            return False
        data = coordinator.data
        server_id = self.server_id
        if self.requires_online:
            return server_id in data.servers and data.online.get(server_id, False)
        return server_id in data.servers


class NezhaDashboardEntity(NezhaEntity):
    """An entity of the dashboard (service) device: fleet-wide figures.

    The device is named after the entry title, the dashboard's host and port, so
    Home Assistant would derive entity ids such as
    ``sensor.127_0_0_1_8008_servers_online`` from it. A new entity suggests
    ``nezha_`` + its English name instead (``sensor.nezha_servers_online``;
    Home Assistant appends ``_2`` for a second dashboard). An entity already in the
    entity registry keeps its entity id: the registry's wins over a suggested one.
    """

    _attr_has_entity_name = True

    def __init__(self, coordinator: NezhaCoordinator, key: str) -> None:
        """Bind the entity to the config entry."""
        super().__init__(coordinator)
        entry = coordinator.config_entry
        self._attr_unique_id = dashboard_unique_id(entry.entry_id, key)
        self._attr_device_info = dashboard_device_info(
            entry.entry_id, entry.title, coordinator.client.base_url
        )

    def add_to_platform_start(
        self,
        hass: HomeAssistant,
        platform: EntityPlatform,
        parallel_updates: asyncio.Semaphore | None,
    ) -> None:
        """Suggest the entity id once the platform's English names are known."""
        super().add_to_platform_start(hass, platform, parallel_updates)
        # suggested_object_id is the entity's name in English (placeholders
        # filled in), which Home Assistant would otherwise prefix with the device's.
        if name := self.suggested_object_id:
            self.entity_id = f"{platform.domain}.{slugify(f'{DOMAIN} {name}')}"


class SideDataEntity(CoordinatorEntity[NezhaCoordinator]):
    """An entity showing side data (side.py): the side coordinator updates it too."""

    async def async_added_to_hass(self) -> None:
        """Also listen to the side coordinator of the entry."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self.coordinator.side.async_add_listener(self._handle_coordinator_update)
        )


class NezhaServiceEntity(SideDataEntity, NezhaDashboardEntity):
    """A v1 service monitor, shown on the dashboard device."""

    def __init__(
        self, coordinator: NezhaCoordinator, service: ServiceStatus, key: str
    ) -> None:
        """Bind to the service id; its name only feeds the entity name."""
        super().__init__(coordinator, service_key(service.id, key))
        self.service_id = service.id
        self._attr_translation_placeholders = {"service": service.name}

    @property
    def service(self) -> ServiceStatus | None:
        """Return the latest status, or None when the dashboard stopped listing it."""
        return self.coordinator.side.data.services.get(self.service_id)

    @property
    def available(self) -> bool:
        """Unavailable while the dashboard is unreachable or the service is gone."""
        return super().available and self.service is not None
