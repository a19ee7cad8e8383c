"""Buttons that run a v1/v2 dashboard's scheduled tasks once (optional scopes).

They appear only when the API token has ``nezha:cron:read`` and
``nezha:cron:exec``, are disabled by default, and a press sends one request:
a refusal is reported, never retried (each refused token is a WAF strike).
"""

from homeassistant.components.button import DOMAIN as BUTTON_DOMAIN, ButtonEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .client.cron import CronTask
from .coordinator import NezhaConfigEntry, NezhaCoordinator
from .entity import NezhaDashboardEntity, SideDataEntity
from .side import NezhaV1SideCoordinator
from .unique_id import cron_key

# Presses go to the dashboard one at a time.
PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,
    entry: NezhaConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a button per task as the tasks become known (v1/v2 only)."""
    coordinator = entry.runtime_data
    side = coordinator.side
    if not isinstance(side, NezhaV1SideCoordinator):
        return  # v0 dashboards have no tasks
    known: set[int] = set()
    cleaned = False

    @callback
    def add_new() -> None:
        nonlocal cleaned
        if side.cron_access is False:
            if not cleaned:
                cleaned = True
                _remove_buttons(hass, entry)
            return
        crons = side.data.crons
        new = [
            NezhaCronButton(coordinator, side, task)
            for task_id, task in crons.items()
            if task_id not in known
        ]
        known.update(crons)
        if new:
            async_add_entities(new)

    add_new()
    entry.async_on_unload(side.async_add_listener(add_new))


def _remove_buttons(hass: HomeAssistant, entry: NezhaConfigEntry) -> None:
    """Drop the buttons of a token that may no longer run tasks."""
    registry = er.async_get(hass)
    for entity in er.async_entries_for_config_entry(registry, entry.entry_id):
        if entity.domain == BUTTON_DOMAIN:
            registry.async_remove(entity.entity_id)


class NezhaCronButton(SideDataEntity, NezhaDashboardEntity, ButtonEntity):
    """Runs one task now, on the servers the task names."""

    _attr_translation_key = "cron_task"
    _attr_entity_registry_enabled_default = False

    def __init__(
        self,
        coordinator: NezhaCoordinator,
        side: NezhaV1SideCoordinator,
        task: CronTask,
    ) -> None:
        """Bind to the task id; its name only feeds the entity name."""
        super().__init__(coordinator, cron_key(task.id))
        self._side = side
        self.task_id = task.id
        self._attr_translation_placeholders = {"task": task.name}

    @property
    def available(self) -> bool:
        """Unavailable when the dashboard no longer lists the task (or the scope)."""
        return super().available and self.task_id in self._side.data.crons

    async def async_press(self) -> None:
        """Run the task once; a refusal raises a translated error."""
        await self._side.async_trigger_cron(self.task_id)
