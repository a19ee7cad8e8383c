"""Which entities to add, and when: new servers and services, within the entity budget."""

from collections.abc import Callable, Iterable

from homeassistant.core import callback
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .client import Server, ServiceStatus
from .coordinator import NezhaConfigEntry, NezhaCoordinator

type ServerBuilder = Callable[[NezhaCoordinator, Server, set[str]], Iterable[Entity]]

# Each platform's builder of per-server entities, registered when its module is
# imported. Home Assistant imports every platform of an entry before it sets up
# any, so a server can be admitted to the entity budget with all its entities.
_SERVER_BUILDERS: dict[str, ServerBuilder] = {}


def register_server_entities(domain: str, build: ServerBuilder) -> None:
    """Make ``build`` count when a new server's entities are budgeted."""
    _SERVER_BUILDERS[domain] = build


class _Keys(set[str]):
    """A server's entity keys, remembering those added since the last reset."""

    def __init__(self) -> None:
        super().__init__()
        self.added: list[str] = []

    def add(self, key: str) -> None:
        super().add(key)
        self.added.append(key)


def _plan(
    coordinator: NezhaCoordinator, server: Server
) -> tuple[int, dict[str, tuple[_Keys, list[Entity], list[str]]]]:
    """Build a server's entities of every platform; return their cost and them."""
    budget = coordinator.entity_budget
    plan: dict[str, tuple[_Keys, list[Entity], list[str]]] = {}
    for domain, build in _SERVER_BUILDERS.items():
        keys = _Keys()
        entities = list(build(coordinator, server, keys))
        plan[domain] = keys, entities, budget.cost(domain, entities)
    return sum(len(ids) for _, _, ids in plan.values()), plan


def _admit_new(coordinator: NezhaCoordinator, servers: dict[int, Server]) -> None:
    """Admit new servers, in the dashboard's order, while all their entities fit.

    What an admitted server takes is reserved at once, so the platform that
    adds its part later in the same update still finds the room it was counted
    with. While the fleet does not fit, the first ping round is awaited: its
    ping sensors count too, and servers should come whole, not without them.
    """
    budget = coordinator.entity_budget
    room = budget.room() - budget.reserve
    # A server refused before waits until the room reaches what it needed then:
    # planning builds all of a server's entities, which for every refused server
    # on every update was most of the refresh of a fleet beyond the limit.
    refused = budget.refused
    new = [
        server
        for sid, server in servers.items()
        if sid not in budget.admitted and refused.get((None, sid), 0) <= room
    ]
    if not new:
        return
    first_cost, first_plan = _plan(coordinator, new[0])
    if first_cost * len(new) > room and not coordinator.side.first_round_done:
        return
    for server in new:
        cost, plan = (
            (first_cost, first_plan) if server is new[0] else _plan(coordinator, server)
        )
        if cost > room:
            budget.refused[None, server.id] = cost
            continue
        room -= cost
        for domain, (keys, entities, ids) in plan.items():
            budget.take(domain, ids)
            budget.prepared[domain, server.id] = keys, entities
        budget.refused.pop((None, server.id), None)
        budget.admitted.add(server.id)


def add_entities_for_new_servers(
    entry: NezhaConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    build: ServerBuilder,
    domain: str,
) -> None:
    """Add entities now and whenever a later answer brings something new.

    ``build`` receives the set of keys already created for that server and returns
    only entities whose key it adds to that set, so each entity is created once.
    When the coordinator removed a server's device (the server left the answer or
    the group) and the server comes back, its entities are created anew.

    The entry's entity budget (budget.py) comes first: a new server gets its
    entities (of every platform) only if all of them fit, and entities a known
    server gets later only if they fit; what does not fit is counted for the
    repair issue and tried again on the next update.
    """
    coordinator = entry.runtime_data
    budget = coordinator.entity_budget
    known: dict[int, _Keys] = {}
    removals_seen: dict[int, int] = {}

    @callback
    def add_new() -> None:
        if not coordinator.last_update_success:
            return
        new: list[Entity] = []
        room: int | None = None
        servers = coordinator.data.servers
        _admit_new(coordinator, servers)
        # This loop runs for every server on every update: the usual case (no
        # removed device, nothing prepared) skips those lookups.
        removals_map = coordinator.device_removals
        prepared_map = budget.prepared
        admitted_ids = budget.admitted
        for server in servers.values():
            if removals_map:
                removals = removals_map.get(server.id, 0)
                if removals_seen.get(server.id, 0) != removals:
                    removals_seen[server.id] = removals
                    known.pop(server.id, None)
            if server.id not in admitted_ids:
                continue
            if prepared_map and (
                prepared := prepared_map.pop((domain, server.id), None)
            ):
                keys, admitted = prepared  # built (and counted) to admit it
                known[server.id] = keys
                new.extend(admitted)
                budget.refused.pop((domain, server.id), None)
            else:
                keys = known.setdefault(server.id, _Keys())
            # Built afresh even when prepared: the first ping round may have
            # ended since, before this platform's listener existed.
            keys.added.clear()
            entities = list(build(coordinator, server, keys))
            if not entities:
                continue
            cost = budget.cost(domain, entities)
            if cost:
                if room is None:
                    room = budget.room()
                if len(cost) > room:
                    keys.difference_update(keys.added)  # asked for again next time
                    budget.refused[domain, server.id] = len(cost)
                    continue
                room -= len(cost)
                budget.take(domain, cost)
            budget.refused.pop((domain, server.id), None)
            new.extend(entities)
        budget.forget_gone(servers)
        _add(coordinator, async_add_entities, new)

    _follow(entry, add_new)


def add_entities_for_new_services(
    entry: NezhaConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    build: Callable[[NezhaCoordinator, ServiceStatus], Entity],
    domain: str,
) -> None:
    """Add one entity per service as services first appear (v1 dashboards).

    Like a server's, a service's entity waits while the entry's budget is full
    (it counts as left out, under the negated service id).
    """
    coordinator = entry.runtime_data
    budget = coordinator.entity_budget
    known: set[int] = set()

    @callback
    def add_new() -> None:
        new: list[Entity] = []
        for service_id, service in coordinator.side.data.services.items():
            if service_id in known:
                continue
            entity = build(coordinator, service)
            cost = budget.cost(domain, [entity])
            if len(cost) > budget.room():
                budget.refused[domain, -service_id] = len(cost)
                continue
            budget.take(domain, cost)
            budget.refused.pop((domain, -service_id), None)
            known.add(service_id)
            new.append(entity)
        _add(coordinator, async_add_entities, new)

    _follow(entry, add_new)


def _add(
    coordinator: NezhaCoordinator,
    async_add_entities: AddConfigEntryEntitiesCallback,
    new: list[Entity],
) -> None:
    coordinator.update_entity_issue()
    if new:
        async_add_entities(new)


def _follow(entry: NezhaConfigEntry, add_new: Callable[[], None]) -> None:
    """Add what is there now, then after every fleet or side-data update."""
    coordinator = entry.runtime_data
    add_new()
    entry.async_on_unload(coordinator.async_add_listener(add_new))
    entry.async_on_unload(coordinator.side.async_add_listener(add_new))
