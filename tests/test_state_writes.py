"""Entities write their state only when what they show changed (both generations).

Every state write fires ``state_changed`` (something changed) or
``state_reported`` (nothing did), so counting both over a real refresh against
the simulator counts the writes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
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
from tests.helpers import (
    DETAILS,
    counted,
    entity_ids,
    paths,
    ping_round_done,
    setup_integration,
    state,
    v0_entry,
    wait_for,
)

HK, FRA, NAS = 1, 2, 4
GOES_OFFLINE = {"v0": NAS, "v1": HK}

pytestmark = pytest.mark.usefixtures("frozen")

type Shown = dict[str, tuple[str, dict[str, Any]]]


@pytest.fixture(params=["v0", "v1"])
def loaded(request: pytest.FixtureRequest) -> tuple[NezhaSimulator, MockConfigEntry]:
    """A loaded entry of each generation (v1: the seven-server fleet) and its simulator."""
    if request.param == "v0":
        return request.getfixturevalue("simulator"), request.getfixturevalue(
            "init_integration"
        )
    return request.getfixturevalue("fleet_sim"), request.getfixturevalue("fleet_entry")


def shown(hass: HomeAssistant, ids: set[str]) -> Shown:
    """What each entity shows: its state and attributes."""
    states = {eid: hass.states.get(eid) for eid in ids}
    return {e: (s.state, dict(s.attributes)) for e, s in states.items() if s}


async def refresh(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """One coordinator refresh, its listeners included."""
    await entry.runtime_data.async_refresh()
    await hass.async_block_till_done()


async def poll(
    hass: HomeAssistant, frozen: FrozenDateTimeFactory, entry: MockConfigEntry
) -> None:
    """Refresh 31 s later (a frozen v1 stream is stale by then, so REST answers)."""
    frozen.tick(timedelta(seconds=31))
    await refresh(hass, entry)
    await wait_for(lambda: ping_round_done(entry.runtime_data), "the ping round")
    await hass.async_block_till_done()


async def test_identical_answer_writes_nothing(
    hass: HomeAssistant, loaded: tuple[NezhaSimulator, MockConfigEntry]
) -> None:
    """A poll that returns the same answer leaves every state as it was."""
    sim, entry = loaded
    ids = entity_ids(hass, entry)
    assert len(ids) > 40
    before = {eid: hass.states.get(eid) for eid in ids}
    sim.reset_requests()
    with counted(hass, ids) as writes:
        await refresh(hass, entry)
        await refresh(hass, entry)
    if entry.data["api_generation"] == "v0":
        assert paths(sim, DETAILS) == [DETAILS, DETAILS]  # two real polls
    assert writes.total == 0
    # Not even last_reported moved: the state objects are the same ones.
    assert all(hass.states.get(eid) is old for eid, old in before.items())


async def test_changed_values_write_only_what_changed(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    loaded: tuple[NezhaSimulator, MockConfigEntry],
) -> None:
    """After 31 s metrics move, boot times do not (v1: a note's attribute changes)."""
    sim, entry = loaded
    ids = entity_ids(hass, entry)
    v1 = entry.data["api_generation"] == "v1"
    if v1:
        note = sim.fleet.servers[FRA].public_note
        assert '"200EUR"' in note
        sim.set_public_note(FRA, note.replace('"200EUR"', '"210EUR"'))
    before = shown(hass, ids)
    with counted(hass, ids) as writes:
        await poll(hass, frozen, entry)
    after = shown(hass, ids)
    changed = {eid for eid in after if before.get(eid) != after[eid]}
    assert writes.reported == []
    assert sorted(writes.changed) == sorted(changed)
    assert 0 < len(changed) < len(ids)
    assert state(hass, entry, f"{HK}_last_boot").entity_id not in changed
    assert state(hass, entry, f"{HK}_cpu_usage").entity_id in changed
    if v1:  # same date: only an attribute changed
        expiry = state(hass, entry, f"{FRA}_expiry")
        old_state, old_attributes = before[expiry.entity_id]
        assert expiry.entity_id in changed and expiry.state == old_state
        assert (old_attributes["amount"], expiry.attributes["amount"]) == (
            "200EUR",
            "210EUR",
        )
    # Unchanged since: the next identical answer writes nothing.
    with counted(hass, ids) as writes:
        await refresh(hass, entry)
    assert writes.total == 0


async def test_availability_flips_are_written(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    loaded: tuple[NezhaSimulator, MockConfigEntry],
) -> None:
    """Going offline and coming back are written once each; offline, nothing more."""
    sim, entry = loaded
    sid = GOES_OFFLINE[entry.data["api_generation"]]
    ids = entity_ids(hass, entry)
    online = state(hass, entry, f"{sid}_online", "binary_sensor").entity_id
    cpu = state(hass, entry, f"{sid}_cpu_usage").entity_id

    sim.set_online(sid, False)
    for _ in range(10):  # poll every 31 s until the sensors turn unavailable
        frozen.tick(timedelta(seconds=31))
        with counted(hass, ids) as writes:
            await refresh(hass, entry)
        if hass.states.get(cpu).state == STATE_UNAVAILABLE:  # type: ignore[union-attr]
            break
    else:
        raise AssertionError(f"{cpu} stayed available")
    assert hass.states.get(online).state == "off"  # type: ignore[union-attr]
    assert {cpu, online} <= set(writes.changed)
    assert writes.reported == []

    with counted(hass, ids) as writes:
        await refresh(hass, entry)  # the same answer: still offline
    assert writes.total == 0
    assert hass.states.get(cpu).state == STATE_UNAVAILABLE  # type: ignore[union-attr]

    sim.set_online(sid, True)
    frozen.tick(timedelta(seconds=31))
    with counted(hass, ids) as writes:
        await refresh(hass, entry)
    assert hass.states.get(cpu).state != STATE_UNAVAILABLE  # type: ignore[union-attr]
    assert hass.states.get(online).state == "on"  # type: ignore[union-attr]
    assert {cpu, online} <= set(writes.changed)
    assert writes.reported == []


async def test_state_replaced_from_outside_is_rewritten(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A state set or removed by someone else is written back on the next update."""
    cpu = state(hass, init_integration, f"{HK}_cpu_usage")
    load = state(hass, init_integration, f"{HK}_load_1")
    hass.states.async_set(cpu.entity_id, "12345", {"set": "by hand"})
    hass.states.async_remove(load.entity_id)
    with counted(hass, {cpu.entity_id, load.entity_id}) as writes:
        await refresh(hass, init_integration)
    assert writes.total == 2
    for old in (cpu, load):
        new = hass.states.get(old.entity_id)
        assert new is not None
        assert (new.state, new.attributes) == (old.state, old.attributes)


async def test_after_reload_and_reenable(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    init_integration: MockConfigEntry,
) -> None:
    """New entities (a restart, a re-enabled entity) write once when added, then not."""
    entry = init_integration
    cpu = state(hass, entry, f"{HK}_cpu_usage").entity_id
    for disabled_by in (er.RegistryEntryDisabler.USER, None):
        entity_registry.async_update_entity(cpu, disabled_by=disabled_by)
        await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
        assert (hass.states.get(cpu) is None) is (disabled_by is not None)
    ids = entity_ids(hass, entry)
    assert cpu in ids
    before = shown(hass, ids)
    with counted(hass, ids) as writes:
        await refresh(hass, entry)
    assert writes.total == 0
    assert shown(hass, ids) == before


async def test_alerts_are_never_held_back(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    frozen: FrozenDateTimeFactory,
    simulator: NezhaSimulator,
) -> None:
    """Event entities write every alert; an unchanged poll does not rewrite them."""
    webhook_id = "a1" * 32
    options = {CONF_WEBHOOK_ID: webhook_id, CONF_WEBHOOK_LOCAL_ONLY: True}
    entry = v0_entry(simulator.url, **{CONF_ALERTS_WEBHOOK: True, **options})
    await setup_integration(hass, entry)
    client = await hass_client_no_auth()
    nas = AlertServer(NAS, simulator.fleet.servers[NAS].name)
    message = alert_message("Incident", nas.name, "192.168.*.*", "CPU > 90%")
    events = {
        state(hass, entry, "alerts", "event").entity_id,
        on_server := state(hass, entry, f"{NAS}_alerts", "event").entity_id,
    }
    fired: list[str] = []
    for second in range(2):  # the same alert twice: two events
        frozen.tick(timedelta(seconds=1))
        body, content_type = render(message, nas, request_type=JSON, generation="v0")
        with counted(hass, events) as writes:
            response = await client.post(
                f"/api/webhook/{webhook_id}",
                data=body,
                headers={"Content-Type": content_type},
            )
            assert response.status == 200
            await hass.async_block_till_done(wait_background_tasks=True)
        assert sorted(writes.changed) == sorted(events), second
        fired.append(hass.states.get(on_server).state)  # type: ignore[union-attr]
    assert fired[0] != fired[1]
    assert hass.states.get(on_server).attributes["rule"] == "CPU > 90%"  # type: ignore[union-attr]

    with counted(hass, events) as writes:
        await refresh(hass, entry)
    assert writes.total == 0
    assert hass.states.get(on_server).state == fired[1]  # type: ignore[union-attr]
