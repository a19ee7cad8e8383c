"""Event entities: the alerts the dashboard pushes to the entry's webhook.

One on the dashboard device gets every alert; one per server gets the alerts
about that server. They exist only while the alerts webhook is enabled.
"""

from collections.abc import Iterable

from homeassistant.components.event import DOMAIN as EVENT_DOMAIN, EventEntity
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .client import Server
from .client.alerts import AlertKind, NezhaAlert
from .coordinator import NezhaConfigEntry, NezhaCoordinator
from .entity import NezhaDashboardEntity, NezhaEntity, NezhaServerEntity
from .new_entities import add_entities_for_new_servers
from .webhook import alert_attributes, alert_signal, webhook_id_of

PARALLEL_UPDATES = 0
EVENT_TYPES = [kind.value for kind in AlertKind]


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NezhaConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create the alert events when the webhook is enabled, else remove them."""
    if webhook_id_of(entry) is None:
        registry = er.async_get(hass)
        for entity in er.async_entries_for_config_entry(registry, entry.entry_id):
            if entity.domain == EVENT_DOMAIN:
                registry.async_remove(entity.entity_id)
        return
    async_add_entities([NezhaDashboardAlerts(entry.runtime_data)])
    add_entities_for_new_servers(
        entry, async_add_entities, _server_entities, Platform.EVENT
    )


def _server_entities(
    coordinator: NezhaCoordinator, server: Server, known: set[str]
) -> Iterable[Entity]:
    if "alerts" not in known:
        known.add("alerts")
        yield NezhaServerAlerts(coordinator, server.id)


class _AlertEvents(NezhaEntity, EventEntity):
    """Fires the entry's alerts that concern this entity."""

    _attr_translation_key = "alerts"
    _attr_event_types = EVENT_TYPES

    def _concerns(self, alert: NezhaAlert) -> bool:
        return True

    async def async_added_to_hass(self) -> None:
        """Listen for the entry's alerts."""
        await super().async_added_to_hass()
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass,
                alert_signal(self.coordinator.config_entry.entry_id),
                self._async_alert,
            )
        )

    @callback
    def _async_alert(self, alert: NezhaAlert) -> None:
        if self._concerns(alert):
            self._trigger_event(alert.kind.value, alert_attributes(alert))
            self.async_write_ha_state()


class NezhaDashboardAlerts(NezhaDashboardEntity, _AlertEvents):
    """Every alert the dashboard sends."""

    def __init__(self, coordinator: NezhaCoordinator) -> None:
        """Create the entity of the dashboard device."""
        super().__init__(coordinator, "alerts")

    @property
    def available(self) -> bool:
        """Alerts come over the webhook, also while polling the dashboard fails."""
        return True


class NezhaServerAlerts(NezhaServerEntity, _AlertEvents):
    """The alerts about one server."""

    def __init__(self, coordinator: NezhaCoordinator, server_id: int) -> None:
        """Create the entity of one server."""
        super().__init__(coordinator, server_id, "alerts")

    @property
    def available(self) -> bool:
        """Available while the server is known, also while polling fails."""
        return self.server_id in self.coordinator.data.servers

    def _concerns(self, alert: NezhaAlert) -> bool:
        return alert.server_id == self.server_id
