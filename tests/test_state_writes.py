"""Entities write a state (state_changed or state_reported) only when it changed."""

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest

from tests.helpers import (
    DETAILS,
    Harness,
    counted,
    paths,
    ping_round_done,
    state,
    wait_for,
)

HK, FRA, NAS = 1, 2, 4

pytestmark = pytest.mark.usefixtures("frozen")


@pytest.fixture(params=["v0", "v1"])
def h(
    request: pytest.FixtureRequest, hass: HomeAssistant, frozen: FrozenDateTimeFactory
) -> Harness:
    """A loaded entry of each generation (v1: the seven-server fleet), time frozen."""
    v0 = request.param == "v0"
    sim = request.getfixturevalue("simulator" if v0 else "fleet_sim")
    entry = request.getfixturevalue("init_integration" if v0 else "fleet_entry")
    return Harness(hass, entry, sim, frozen)


def shown(hass: HomeAssistant, ids: set[str]) -> dict[str, tuple[str, dict[str, Any]]]:
    """What each entity shows: its state and attributes."""
    states = {eid: hass.states.get(eid) for eid in ids}
    return {e: (s.state, dict(s.attributes)) for e, s in states.items() if s}


async def refresh(h: Harness, seconds: int = 0) -> None:
    """One coordinator refresh ``seconds`` later, its listeners included."""
    h.freezer.tick(timedelta(seconds=seconds))
    await h.entry.runtime_data.async_refresh()
    await h.hass.async_block_till_done()


async def test_only_changes_are_written(h: Harness) -> None:
    """The same answer writes nothing; 31 s later metrics move, boot times do not."""
    hass, sim, entry, ids = h.hass, h.sim, h.entry, h.entity_ids()
    assert len(ids) > 40
    v1 = entry.data["api_generation"] == "v1"
    olds = {eid: hass.states.get(eid) for eid in ids}
    sim.reset_requests()
    with counted(hass, ids) as writes:
        await refresh(h)
        await refresh(h)
    if not v1:
        assert paths(sim, DETAILS) == [DETAILS, DETAILS]  # two real polls
    assert writes.total == 0
    # Not even last_reported moved: the state objects are the same ones.
    assert all(hass.states.get(eid) is old for eid, old in olds.items())

    if v1:  # a note's attribute changes too
        note = sim.fleet.servers[FRA].public_note  # the amount is checked below
        sim.set_public_note(FRA, note.replace('"200EUR"', '"210EUR"'))
    before = shown(hass, ids)
    with counted(hass, ids) as writes:
        # 31 s later (a frozen v1 stream is stale by then, so REST answers).
        await refresh(h, 31)
        await wait_for(lambda: ping_round_done(entry.runtime_data), "the ping round")
        await hass.async_block_till_done()
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
        assert old_attributes["amount"] == "200EUR"
        assert expiry.attributes["amount"] == "210EUR"
    # Unchanged since: the next identical answer writes nothing.
    with counted(hass, ids) as writes:
        await refresh(h)
    assert writes.total == 0


async def test_availability_flips_are_written(h: Harness) -> None:
    """Going offline and coming back are written once each; offline, nothing more."""
    hass, sim, entry, ids = h.hass, h.sim, h.entry, h.entity_ids()
    sid = NAS if entry.data["api_generation"] == "v0" else HK
    online = state(hass, entry, f"{sid}_online", "binary_sensor").entity_id
    cpu = state(hass, entry, f"{sid}_cpu_usage").entity_id

    sim.set_online(sid, False)
    for _ in range(10):  # poll every 31 s until the sensors turn unavailable
        with counted(hass, ids) as writes:
            await refresh(h, 31)
        if h.state(f"{sid}_cpu_usage") == STATE_UNAVAILABLE:
            break
    else:
        raise AssertionError(f"{cpu} stayed available")
    assert h.online(sid) == "off"
    assert {cpu, online} <= set(writes.changed)
    assert writes.reported == []

    with counted(hass, ids) as writes:
        await refresh(h)  # the same answer: still offline
    assert writes.total == 0
    assert h.state(f"{sid}_cpu_usage") == STATE_UNAVAILABLE

    sim.set_online(sid, True)
    with counted(hass, ids) as writes:
        await refresh(h, 31)
    assert h.state(f"{sid}_cpu_usage") != STATE_UNAVAILABLE
    assert h.online(sid) == "on"
    assert {cpu, online} <= set(writes.changed)
    assert writes.reported == []


async def test_outside_changes_reload_and_reenable(nz: Harness) -> None:
    """States set or removed by others are written back; new entities write once."""
    hass, entry = nz.hass, nz.entry
    cpu = state(hass, entry, f"{HK}_cpu_usage")
    load = state(hass, entry, f"{HK}_load_1")
    hass.states.async_set(cpu.entity_id, "12345", {"set": "by hand"})
    hass.states.async_remove(load.entity_id)
    with counted(hass, {cpu.entity_id, load.entity_id}) as writes:
        await refresh(nz)
    assert writes.total == 2
    for old in (cpu, load):
        new = hass.states.get(old.entity_id)
        assert new is not None
        assert (new.state, new.attributes) == (old.state, old.attributes)

    # A restart or a re-enabled entity: written once when added, then not.
    for disabled_by in (er.RegistryEntryDisabler.USER, None):
        er.async_get(hass).async_update_entity(cpu.entity_id, disabled_by=disabled_by)
        await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
        assert (hass.states.get(cpu.entity_id) is None) is (disabled_by is not None)
    ids = nz.entity_ids()
    assert cpu.entity_id in ids
    before = shown(hass, ids)
    with counted(hass, ids) as writes:
        await refresh(nz)
    assert writes.total == 0
    assert shown(hass, ids) == before
