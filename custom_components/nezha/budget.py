"""Stay within Home Assistant's limit of enabled entities per config entry.

Home Assistant refuses new enabled entities of an entry beyond 10,000 and logs a
line asking the user to report it to the integration. The platforms ask this
budget before adding a server's entities: a server whose new enabled entities
do not fit gets none of that platform's (never half of them), and a repair issue
says how many servers are left out and how to fix it. Entities already in the
registry, and disabled ones, cost nothing; room freed later (entities disabled,
servers gone) is used on the next update.
"""

from collections.abc import Iterable
from typing import Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity import Entity

from .const import DOMAIN

try:
    from homeassistant.helpers.entity_platform import (
        MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY as ENTITY_LIMIT,
    )
except ImportError:  # releases before the limit existed
    ENTITY_LIMIT = 10_000


class EntityBudget:
    """The enabled entities an entry has, will have, and could not have."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Track the entities of one config entry."""
        self._hass = hass
        self._entry_id = entry_id
        self.limit = ENTITY_LIMIT
        # (domain, unique id) of enabled entities handed to a platform that the
        # registry does not have yet: they count before Home Assistant adds them.
        self._pending: set[tuple[str, str]] = set()
        # Servers whose entities may be created, and the entities built to
        # admit them, for their platform to add: (domain, server id) -> them.
        self.admitted: set[int] = set()
        self.prepared: dict[tuple[str, int], tuple[Any, list[Entity]]] = {}
        # (domain, server id) -> new enabled entities that did not fit; the
        # domain is None for a server that was not admitted at all.
        self.refused: dict[tuple[str | None, int], int] = {}

    @property
    def reserve(self) -> int:
        """Room kept back from new servers for what admitted ones get later.

        Ping sensors arrive after the first ping round; 2 % of the limit keeps
        most of them from being left out at the edge.
        """
        return self.limit // 50

    def _enabled(self) -> int:
        registry = er.async_get(self._hass)
        entries = registry.entities
        if hasattr(entries, "get_enabled_count_for_config_entry_id"):
            count: int = entries.get_enabled_count_for_config_entry_id(self._entry_id)
            return count
        return sum(  # pragma: no cover - releases without the count index
            1
            for entry in er.async_entries_for_config_entry(registry, self._entry_id)
            if entry.disabled_by is None
        )

    @callback
    def room(self) -> int:
        """How many more enabled entities the entry may get now."""
        if self._pending:
            registry = er.async_get(self._hass)
            self._pending = {
                (domain, unique_id)
                for domain, unique_id in self._pending
                if registry.async_get_entity_id(domain, DOMAIN, unique_id) is None
            }
        return self.limit - self._enabled() - len(self._pending)

    @callback
    def cost(self, domain: str, entities: Iterable[Entity]) -> list[str]:
        """Unique ids among ``entities`` that would be new enabled entities.

        Those already counted (handed to a platform, not registered yet) are not.
        """
        registry = er.async_get(self._hass)
        return [
            entity.unique_id
            for entity in entities
            if entity.unique_id is not None
            and entity.entity_registry_enabled_default
            and (domain, entity.unique_id) not in self._pending
            and registry.async_get_entity_id(domain, DOMAIN, entity.unique_id) is None
        ]

    @callback
    def take(self, domain: str, unique_ids: Iterable[str]) -> None:
        """Count entities handed to the platform until the registry has them."""
        self._pending.update((domain, unique_id) for unique_id in unique_ids)

    @property
    def wanted(self) -> int:
        """Enabled entities the entry would have if nothing were left out."""
        return self.limit - self.room() + sum(self.refused.values())

    @callback
    def forget_gone(self, servers: Iterable[int]) -> None:
        """Forget what did not fit of servers that left the answer."""
        present = set(servers)
        for key in [k for k in self.refused if k[1] > 0 and k[1] not in present]:
            del self.refused[key]
        self.admitted &= present

    @property
    def left_out(self) -> set[int]:
        """Servers (and, negated, services) with entities that did not fit."""
        return {server_id for _, server_id in self.refused}
