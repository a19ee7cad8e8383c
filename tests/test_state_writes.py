"""Entities write their state only when what they show changed (both generations).

Every state write fires ``state_changed`` (something changed) or
``state_reported`` (nothing did), so counting both over a real refresh against
the simulator counts the writes.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import (
    EVENT_STATE_CHANGED,
    EVENT_STATE_REPORTED,
    STATE_UNAVAILABLE,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.nezha.const import (
    CONF_ALERTS_WEBHOOK,
    CONF_WEBHOOK_ID,
    CONF_WEBHOOK_LOCAL_ONLY,
)
from nezha_dev.simulator import NezhaSimulator
from nezha_dev.simulator.notify import JSON, AlertServer, alert_message, render
from tests.conftest import setup_integration
from tests.helpers import (
    DETAILS,
    PAT,
    entity_ids,
    paths,
    ping_round_done,
    setup_frozen,
    state,
    v1_entry,
    wait_for,
)

HK, FRA, NAS = 1, 2, 4


pytestmark = pytest.mark.usefixtures("frozen")


@dataclass
class Writes:
    """The state writes of a set of entities, by kind."""

    changed: list[str] = field(default_factory=list)
    reported: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Every write: a changed state or an unchanged one reported."""
        return len(self.changed) + len(self.reported)


@contextmanager
def counted(hass: HomeAssistant, ids: set[str]) -> Iterator[Writes]:
    """Count the writes of ``ids`` meanwhile."""
    writes = Writes()

    @callback
    def ours(data: Mapping[str, Any]) -> bool:
        return data["entity_id"] in ids

    unsubs = [
        hass.bus.async_listen(
            EVENT_STATE_CHANGED,
            lambda event: writes.changed.append(event.data["entity_id"]),
            event_filter=ours,
        ),
        hass.bus.async_listen(
            EVENT_STATE_REPORTED,
            lambda event: writes.reported.append(event.data["entity_id"]),
            event_filter=ours,
        ),
    ]
    try:
        yield writes
    finally:
        for unsub in unsubs:
            unsub()


def shown(hass: HomeAssistant, ids: set[str]) -> dict[str, tuple[str, dict[str, Any]]]:
    """What each entity shows: its state and attributes."""
    states = {eid: hass.states.get(eid) for eid in ids}
    return {
        eid: (found.state, dict(found.attributes))
        for eid, found in states.items()
        if found is not None
    }


def differing(
    before: dict[str, tuple[str, dict[str, Any]]],
    after: dict[str, tuple[str, dict[str, Any]]],
) -> set[str]:
    """The entities whose state or attributes differ."""
    return {eid for eid in after if before.get(eid) != after[eid]}


async def refresh(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """One coordinator refresh, its listeners included."""
    await entry.runtime_data.async_refresh()
    await hass.async_block_till_done()


# ------------------------------------------------------------------------ v0


@pytest.fixture
async def v0(
    hass: HomeAssistant, simulator: NezhaSimulator, config_entry: MockConfigEntry
) -> MockConfigEntry:
    """The five-server v0 fleet, set up."""
    await setup_integration(hass, config_entry)
    return config_entry


async def test_identical_answer_writes_nothing_v0(
    hass: HomeAssistant, simulator: NezhaSimulator, v0: MockConfigEntry
) -> None:
    """A poll that returns the same answer leaves every state as it was."""
    ids = entity_ids(hass, v0)
    assert len(ids) > 40
    before = {eid: hass.states.get(eid) for eid in ids}
    simulator.reset_requests()
    with counted(hass, ids) as writes:
        await refresh(hass, v0)
        await refresh(hass, v0)
    assert paths(simulator, DETAILS) == [DETAILS, DETAILS]  # two real polls
    assert writes.total == 0
    # Not even last_reported moved: the state objects are the same ones.
    assert all(hass.states.get(eid) is old for eid, old in before.items())


async def test_changed_values_write_only_what_changed_v0(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    simulator: NezhaSimulator,
    v0: MockConfigEntry,
) -> None:
    """After 31 s metrics move, boot times do not: one write per changed entity."""
    ids = entity_ids(hass, v0)
    before = shown(hass, ids)
    frozen.tick(timedelta(seconds=31))
    with counted(hass, ids) as writes:
        await refresh(hass, v0)
    changed = differing(before, shown(hass, ids))
    assert writes.reported == []
    assert sorted(writes.changed) == sorted(changed)
    assert 0 < len(changed) < len(ids)
    unchanged = ids - changed
    assert state(hass, v0, f"{HK}_last_boot").entity_id in unchanged
    assert state(hass, v0, f"{HK}_cpu_usage").entity_id in changed


async def goes_offline(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    entity: str,
    ids: set[str],
) -> Writes:
    """Poll every 31 s until ``entity`` turns unavailable; the writes of that poll."""
    for _ in range(10):
        frozen.tick(timedelta(seconds=31))
        with counted(hass, ids) as writes:
            await refresh(hass, entry)
        if hass.states.get(entity).state == STATE_UNAVAILABLE:  # type: ignore[union-attr]
            return writes
    raise AssertionError(f"{entity} stayed available")


async def test_availability_flips_are_written_v0(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    simulator: NezhaSimulator,
    v0: MockConfigEntry,
) -> None:
    """Going offline and coming back are written once each; offline, nothing more."""
    ids = entity_ids(hass, v0)
    online = state(hass, v0, f"{NAS}_online", "binary_sensor").entity_id
    cpu = state(hass, v0, f"{NAS}_cpu_usage").entity_id

    simulator.set_online(NAS, False)
    writes = await goes_offline(hass, frozen, v0, cpu, ids)
    assert hass.states.get(online).state == "off"  # type: ignore[union-attr]
    assert {cpu, online} <= set(writes.changed)
    assert writes.reported == []

    with counted(hass, ids) as writes:
        await refresh(hass, v0)  # the same answer: NAS still offline
    assert writes.total == 0

    simulator.set_online(NAS, True)
    frozen.tick(timedelta(seconds=31))
    with counted(hass, ids) as writes:
        await refresh(hass, v0)
    assert hass.states.get(cpu).state != STATE_UNAVAILABLE  # type: ignore[union-attr]
    assert hass.states.get(online).state == "on"  # type: ignore[union-attr]
    assert {cpu, online} <= set(writes.changed)
    assert writes.reported == []


async def test_state_replaced_from_outside_is_rewritten(
    hass: HomeAssistant, v0: MockConfigEntry
) -> None:
    """A state set or removed by someone else is written back on the next update."""
    cpu = state(hass, v0, f"{HK}_cpu_usage")
    load = state(hass, v0, f"{HK}_load_1")
    hass.states.async_set(cpu.entity_id, "12345", {"set": "by hand"})
    hass.states.async_remove(load.entity_id)
    with counted(hass, {cpu.entity_id, load.entity_id}) as writes:
        await refresh(hass, v0)
    assert writes.total == 2
    for old in (cpu, load):
        new = hass.states.get(old.entity_id)
        assert new is not None
        assert (new.state, new.attributes) == (old.state, old.attributes)


async def test_after_reload_and_reenable(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    v0: MockConfigEntry,
) -> None:
    """New entities (a restart, a re-enabled entity) write once when added, then not."""
    cpu = state(hass, v0, f"{HK}_cpu_usage").entity_id
    entity_registry.async_update_entity(cpu, disabled_by=er.RegistryEntryDisabler.USER)
    await hass.config_entries.async_reload(v0.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get(cpu) is None

    entity_registry.async_update_entity(cpu, disabled_by=None)
    await hass.config_entries.async_reload(v0.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    ids = entity_ids(hass, v0)
    assert cpu in ids
    before = shown(hass, ids)
    with counted(hass, ids) as writes:
        await refresh(hass, v0)
    assert writes.total == 0
    assert shown(hass, ids) == before


async def test_alerts_are_never_held_back(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    frozen: FrozenDateTimeFactory,
    simulator: NezhaSimulator,
    config_entry: MockConfigEntry,
) -> None:
    """Event entities write every alert; an unchanged poll does not rewrite them."""
    webhook_id = "a1" * 32
    entry = MockConfigEntry(
        domain=config_entry.domain,
        title=config_entry.title,
        data=config_entry.data,
        options={
            CONF_ALERTS_WEBHOOK: True,
            CONF_WEBHOOK_ID: webhook_id,
            CONF_WEBHOOK_LOCAL_ONLY: True,
        },
    )
    await setup_integration(hass, entry)
    client = await hass_client_no_auth()
    nas = AlertServer(NAS, simulator.fleet.servers[NAS].name)
    message = alert_message("Incident", nas.name, "192.168.*.*", "CPU > 90%")
    dashboard = state(hass, entry, "alerts", "event").entity_id
    on_server = state(hass, entry, f"{NAS}_alerts", "event").entity_id

    fired: list[str] = []
    for second in range(2):  # the same alert twice: two events
        frozen.tick(timedelta(seconds=1))
        body, content_type = render(message, nas, request_type=JSON, generation="v0")
        with counted(hass, {dashboard, on_server}) as writes:
            response = await client.post(
                f"/api/webhook/{webhook_id}",
                data=body,
                headers={"Content-Type": content_type},
            )
            assert response.status == 200
            await hass.async_block_till_done(wait_background_tasks=True)
        assert sorted(writes.changed) == sorted([dashboard, on_server]), second
        fired.append(hass.states.get(on_server).state)  # type: ignore[union-attr]
    assert fired[0] != fired[1]
    assert hass.states.get(on_server).attributes["rule"] == "CPU > 90%"  # type: ignore[union-attr]

    with counted(hass, {dashboard, on_server}) as writes:
        await refresh(hass, entry)
    assert writes.total == 0
    assert hass.states.get(on_server).state == fired[1]  # type: ignore[union-attr]


# ------------------------------------------------------------------------ v1


@pytest.fixture
async def v1_sim(socket_enabled: None) -> AsyncGenerator[NezhaSimulator]:
    """Seven servers of seed 1 as a v1 dashboard (public notes of every kind)."""
    sim = NezhaSimulator(generation="v1", servers=7, seed=1, token=PAT)
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture
async def v1(
    hass: HomeAssistant, v1_sim: NezhaSimulator
) -> AsyncGenerator[MockConfigEntry]:
    """The v1 entry, set up from one frame and one ping round (time frozen)."""
    entry = v1_entry(v1_sim)
    await setup_frozen(hass, entry)
    yield entry
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def poll_v1(
    hass: HomeAssistant, frozen: FrozenDateTimeFactory, entry: MockConfigEntry
) -> None:
    """Poll 31 s later: the frozen stream is stale by then, so REST answers."""
    frozen.tick(timedelta(seconds=31))
    await refresh(hass, entry)
    await wait_for(lambda: ping_round_done(entry.runtime_data), "the ping round")
    await hass.async_block_till_done()


async def test_identical_answer_writes_nothing_v1(
    hass: HomeAssistant, v1_sim: NezhaSimulator, v1: MockConfigEntry
) -> None:
    """The same v1 answer again writes no state."""
    ids = entity_ids(hass, v1)
    assert len(ids) > 40
    before = {eid: hass.states.get(eid) for eid in ids}
    with counted(hass, ids) as writes:
        await refresh(hass, v1)
        await refresh(hass, v1)
    assert writes.total == 0
    assert all(hass.states.get(eid) is old for eid, old in before.items())


async def test_changed_values_and_attributes_v1(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    v1_sim: NezhaSimulator,
    v1: MockConfigEntry,
) -> None:
    """Moved metrics and a changed note (attributes only) are written, nothing else."""
    ids = entity_ids(hass, v1)
    expiry = state(hass, v1, f"{FRA}_expiry")
    note = v1_sim.fleet.servers[FRA].public_note
    assert '"200EUR"' in note
    v1_sim.set_public_note(FRA, note.replace('"200EUR"', '"210EUR"'))
    before = shown(hass, ids)
    with counted(hass, ids) as writes:
        await poll_v1(hass, frozen, v1)
    changed = differing(before, shown(hass, ids))
    assert writes.reported == []
    assert sorted(writes.changed) == sorted(changed)
    assert 0 < len(changed) < len(ids)
    new = state(hass, v1, f"{FRA}_expiry")
    assert expiry.entity_id in changed
    assert new.state == expiry.state  # same date: only an attribute changed
    assert (expiry.attributes["amount"], new.attributes["amount"]) == (
        "200EUR",
        "210EUR",
    )
    # Unchanged since: the next identical answer writes nothing.
    with counted(hass, ids) as writes:
        await refresh(hass, v1)
    assert writes.total == 0


async def test_availability_flips_are_written_v1(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    v1_sim: NezhaSimulator,
    v1: MockConfigEntry,
) -> None:
    """A v1 server going offline turns its live sensors unavailable, written once."""
    ids = entity_ids(hass, v1)
    cpu = state(hass, v1, f"{HK}_cpu_usage").entity_id
    v1_sim.set_online(HK, False)
    writes = await goes_offline(hass, frozen, v1, cpu, ids)
    assert cpu in writes.changed
    assert writes.reported == []
    with counted(hass, ids) as writes:
        await refresh(hass, v1)
    assert writes.total == 0
    assert hass.states.get(cpu).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
