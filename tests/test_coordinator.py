"""Polling, availability, side data and the device lifecycle, against the v0 simulator."""

import asyncio
from collections import Counter
from dataclasses import replace
from itertools import pairwise
import logging
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
import pytest

from custom_components.nezha import device as device_module
from custom_components.nezha.device import server_device_fields as fields
from nezha_dev.simulator import Fault, NezhaSimulator
from tests.helpers import (
    DETAILS,
    FROZEN_AT,
    MONITOR,
    POLL,
    Harness,
    counted,
    paths,
    registry_entry,
    server_entity_count,
    v0_entry,
    wait_for,
)

HK, FRA, GPU_BOX, NAS, TOKYO = 1, 2, 3, 4, 5
PRODUCTION = {HK, FRA, TOKYO}  # servers tagged "Production" in the default fleet


pytestmark = pytest.mark.usefixtures("frozen")


def _messages(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


def pinged(harness: Harness) -> list[str]:
    """The ping-history paths requested, sorted."""
    return sorted(paths(harness.sim, MONITOR))


def monitors(*sids: int) -> list[str]:
    """The ping-history paths of these servers."""
    return [f"{MONITOR}{sid}" for sid in sids]


# -- requests --------------------------------------------------------------------


async def test_group_filter(nz: Harness) -> None:
    """A group: other devices go, pings for its servers only; a server back returns."""
    assert nz.devices() == {1, 2, 3, 4, 5}
    count = server_entity_count(nz.hass, nz.entry, HK)
    nz.sim.reset_requests()
    nz.hass.config_entries.async_update_entry(
        nz.entry, options={"server_group": "tag:Production"}
    )
    await nz.hass.config_entries.async_reload(nz.entry.entry_id)
    await nz.hass.async_block_till_done(wait_background_tasks=True)
    assert nz.devices() == PRODUCTION
    assert server_entity_count(nz.hass, nz.entry, GPU_BOX) == 0
    # Ping history is fetched only for the servers in the group.
    assert pinged(nz) == monitors(1, 2, 5)
    nz.sim.fleet.servers[HK].tag = "Lab"
    await nz.tick()
    assert nz.device(HK) is None
    nz.sim.fleet.servers[HK].tag = "Production"
    await nz.tick()
    assert nz.device(HK) is not None
    assert nz.online(HK) == STATE_ON
    await nz.tick(9)  # ping sensors return with the next round
    assert server_entity_count(nz.hass, nz.entry, HK) == count


async def test_request_rates(nz: Harness) -> None:
    """/monitor once per online server per 300 s, two at once at most; one details
    poll, 5 servers or 45."""
    assert pinged(nz) == monitors(1, 2, 3, 4, 5)
    nz.sim.set_online(NAS, False)
    nz.sim.reset_requests()
    await nz.tick(40)  # 20 min 40 s
    monitor = [r for r in nz.sim.requests if r.path.startswith(MONITOR)]
    per_server = Counter(r.path for r in monitor)
    assert sorted(per_server) == monitors(1, 2, 3, 5)  # not the offline 4
    assert set(per_server.values()) == {4}  # rounds at 310, 620, 930 and 1240 s
    for path in per_server:
        times = [r.time for r in monitor if r.path == path]
        assert all(b - a >= 300 for a, b in pairwise(times))
    assert len(paths(nz.sim, DETAILS)) == 40
    nz.sim.reset_requests()
    await nz.tick(3)  # up to 1333 s: the next ping round is due at 1550 s
    assert paths(nz.sim) == [DETAILS] * 3
    for index in range(40):
        nz.sim.add_server(f"extra-{index}")
    nz.sim.reset_requests()
    await nz.tick(3)
    assert paths(nz.sim) == [DETAILS] * 3
    assert all(r.query == {} for r in nz.sim.requests)
    assert len(nz.devices()) == 45

    # Never more than two ping-history requests at once, even for 44 servers.
    seen = {"now": 0, "max": 0, "calls": 0}
    client = nz.entry.runtime_data.client
    original = client.async_get_ping_monitors

    async def counting(server_id: int) -> Any:  # instrumentation: the real call runs
        seen["now"] += 1
        seen["calls"] += 1
        seen["max"] = max(seen["max"], seen["now"])
        try:
            return await original(server_id)
        finally:
            seen["now"] -= 1

    client.async_get_ping_monitors = counting
    nz.sim.reset_requests()
    await nz.tick(10)  # past the next ping round (1550 s)
    assert seen["max"] == 2
    assert len(paths(nz.sim, MONITOR)) == seen["calls"] == 44  # not the offline 4


async def test_ping_history_skipped_when_all_its_sensors_are_disabled(
    nz: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """No pings for a server with its ping sensors off; a broken /monitor: debug log."""
    registry = er.async_get(nz.hass)
    pings = {
        sid: [
            e.entity_id
            for e in er.async_entries_for_config_entry(registry, nz.entry.entry_id)
            if e.unique_id.startswith(f"{nz.entry.entry_id}_{sid}_ping_")
            and e.disabled_by is None  # the 24 h statistics are off by default
        ]
        for sid in (HK, FRA)
    }
    assert len(pings[HK]) == 2 and pings[FRA]
    # Per-sensor temperatures are off by default too.
    one = registry_entry(nz.hass, nz.entry, f"{NAS}_temperature_acpitz")
    assert one.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    for entity_id in [*pings[FRA], pings[HK][0]]:  # all of FRA's, one of HK's two
        registry.async_update_entity(
            entity_id, disabled_by=er.RegistryEntryDisabler.USER
        )
    await nz.hass.async_block_till_done()
    nz.sim.reset_requests()
    await nz.tick(10)  # past the ping interval
    assert pinged(nz) == monitors(1, 3, 4, 5)

    # The first round after a (re)start asks every server, so that monitors added
    # on the dashboard meanwhile are found; later rounds skip FRA again.
    nz.sim.reset_requests()
    await nz.hass.config_entries.async_reload(nz.entry.entry_id)
    await nz.hass.async_block_till_done(wait_background_tasks=True)
    assert pinged(nz) == monitors(1, 2, 3, 4, 5)
    nz.sim.reset_requests()
    await nz.tick(10)
    assert pinged(nz) == monitors(1, 3, 4, 5)

    nz.sim.inject_fault(Fault.HTML_502, count=None, path=MONITOR)
    nz.sim.reset_requests()
    caplog.clear()
    await nz.tick(10)
    assert pinged(nz) == monitors(1, 3, 4, 5)
    assert nz.entry.runtime_data.last_update_success
    assert not nz.unavailable()
    ours = [r for r in caplog.records if r.name.startswith("custom_components")]
    assert not [r for r in ours if r.levelno >= logging.WARNING]
    assert len([r for r in ours if "Ping history of server" in r.getMessage()]) == 4


async def test_slow_ping_history_does_not_delay_metrics(nz: Harness) -> None:
    """Monitor requests that hang (then time out) leave the server metrics alone."""
    coordinator = nz.entry.runtime_data
    nz.sim.inject_fault(Fault.SLOW, count=None, path=MONITOR)
    await nz.tick(9)
    nz.sim.reset_requests()
    await nz.tick(background=False)  # starts the ping round, which hangs
    await wait_for(lambda: len(paths(nz.sim, MONITOR)) == 2, "two pings")
    for _ in range(50):
        await asyncio.sleep(0)
    assert len(paths(nz.sim, MONITOR)) == 2  # two at once at most, the rest wait
    assert paths(nz.sim, DETAILS) == [DETAILS]
    assert coordinator.last_update_success
    for polls in range(2, 5):  # polls go on every 30 s while the pings time out
        cpu = nz.state(f"{HK}_cpu_usage")
        await nz.tick(background=False)
        await wait_for(lambda n=polls: len(paths(nz.sim, DETAILS)) == n, "poll")
        await wait_for(lambda c=cpu: nz.state(f"{HK}_cpu_usage") != c, "new value")
        assert coordinator.last_update_success
        assert coordinator.data.server_time.timestamp() == pytest.approx(
            FROZEN_AT.timestamp() + 31 * (9 + polls), abs=1
        )
    nz.sim.clear_faults()
    await nz.tick(3)
    assert len(paths(nz.sim, DETAILS)) == 7
    assert not nz.unavailable()


# -- failures --------------------------------------------------------------------


@pytest.mark.parametrize("in_round", [False, True], ids=["poll", "ping_round"])
async def test_auth_failure_starts_reauth_and_stops_requests(
    nz: Harness, in_round: bool
) -> None:
    """Revoked token: reauth, no reload, no request (ping rounds too) till a new one."""
    coordinator = nz.entry.runtime_data
    if in_round:
        nz.sim.inject_fault(Fault.SLOW, count=None, path=MONITOR)
    await nz.tick(9)  # the next poll would also start a ping round
    if in_round:
        await nz.tick(background=False)  # the ping round starts and hangs
        await wait_for(lambda: len(paths(nz.sim, MONITOR)) == 5 + 2, "ping round")
    nz.sim.revoke_token()
    await (coordinator.async_refresh() if in_round else nz.tick())
    assert len(nz.reauth_flows()) == 1
    assert nz.entry.state is ConfigEntryState.LOADED
    assert nz.entry.runtime_data is coordinator  # not reloaded
    nz.sim.reset_requests()
    if in_round:  # over 10 minutes; the hanging round cannot be awaited
        for _ in range(20):
            await nz.tick(background=False)
            for _ in range(20):
                await asyncio.sleep(0)
    else:
        await nz.tick(20)  # 10 minutes, ping rounds awaited
    assert nz.sim.requests == []
    assert nz.unavailable() == nz.entity_ids()


# Every failure mode of the simulator but SLOW (a timeout: reliability/test_slow.py).
@pytest.mark.parametrize("fault", [f for f in Fault if f is not Fault.SLOW])
async def test_outage_and_recovery(
    nz: Harness, caplog: pytest.LogCaptureFixture, fault: Fault
) -> None:
    """Down: unavailable, logged once, no pings; back, no reload, the missed round."""
    coordinator = nz.entry.runtime_data
    ids = nz.entity_ids()
    caplog.clear()
    nz.sim.inject_fault(fault, count=None)
    nz.sim.reset_requests()
    await nz.tick(11)  # past the ping interval: no ping round while polls fail
    assert paths(nz.sim, MONITOR) == []
    assert nz.unavailable() == ids
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors == _messages(caplog, "Error fetching Nezha")
    nz.sim.clear_faults()
    nz.sim.reset_requests()
    await nz.tick()  # the skipped round comes with the first answer
    assert pinged(nz) == monitors(1, 2, 3, 4, 5)
    await nz.tick()
    assert not nz.unavailable()
    assert nz.entity_ids() == ids
    assert len(_messages(caplog, "data recovered")) == 1
    assert nz.entry.runtime_data is coordinator


async def test_malformed_record_leaves_others_intact(nz: Harness) -> None:
    """One unreadable server is unavailable; its device, deleted meanwhile, comes back."""
    ids = nz.entity_ids()
    count = server_entity_count(nz.hass, nz.entry, FRA)
    fra = {i for i in ids if i.startswith(("sensor.fra_db_02", "binary_sensor.fra"))}
    nz.sim.set_malformed(FRA, "status", "oops")
    await nz.tick(3)
    assert nz.unavailable() == fra
    device = nz.device(FRA)
    assert device is not None
    dr.async_get(nz.hass).async_remove_device(device.id)  # as the UI would
    await nz.hass.async_block_till_done()
    assert server_entity_count(nz.hass, nz.entry, FRA) == 0
    nz.sim.clear_malformed(FRA)
    await nz.tick()
    assert not nz.unavailable()
    assert nz.device(FRA) is not None
    assert float(nz.state(f"{FRA}_cpu_usage")) >= 0
    await nz.tick(9)  # its ping sensors come with the next round
    assert server_entity_count(nz.hass, nz.entry, FRA) == count
    assert nz.entity_ids() == ids


# -- devices ---------------------------------------------------------------------


def hk_facts(nz: Harness) -> tuple[str | None, ...]:
    """Name, model and agent version of HK's device."""
    device = nz.device(HK)
    assert device is not None
    return device.name, device.model, device.sw_version


async def test_devices_follow_the_fleet(nz: Harness) -> None:
    """Identical polls touch no device; an upgrade or rename updates it once, an edit
    is undone; servers come and go, no reload; failed or empty answers remove none."""
    coordinator = nz.entry.runtime_data
    updated: list[str] = []

    @callback
    def _seen(event: Event[dr.EventDeviceRegistryUpdatedData]) -> None:
        if event.data["action"] == "update":
            updated.append(event.data["device_id"])

    nz.hass.bus.async_listen(dr.EVENT_DEVICE_REGISTRY_UPDATED, _seen)
    await nz.tick()  # each device checked once against the agent's record
    with patch.object(device_module, "server_device_fields", wraps=fields) as computed:
        await nz.tick(2)
    assert updated == []
    assert computed.call_count == 0  # unchanged records: nothing recomputed
    server = nz.sim.fleet.servers[HK]
    server.host = replace(server.host, version="0.20.6", platform_version="13.0")
    await nz.tick(2)
    hk = nz.device(HK)
    assert hk is not None
    assert updated == [hk.id]
    assert hk_facts(nz) == ("hk-edge-01", "debian 13.0", "0.20.6")
    server.name = "hk-renamed"  # a rename alone
    await nz.tick()
    assert updated == [hk.id, hk.id]
    facts = ("hk-renamed", "debian 13.0", "0.20.6")
    assert hk_facts(nz) == facts
    # The registry's copy is checked again once anyone changed it.
    dr.async_get(nz.hass).async_update_device(
        hk.id, name="edited", model="edited", sw_version="edited"
    )
    assert hk_facts(nz) == ("edited",) * 3
    await nz.tick()  # the same record as before
    assert hk_facts(nz) == facts

    sid = nz.sim.add_server("new-node", "Lab", monitors=(2, 4))
    await nz.tick()
    device = nz.device(sid)
    assert device is not None and device.name == "new-node"
    assert float(nz.state(f"{sid}_cpu_usage")) >= 0
    assert nz.online(sid) == STATE_ON
    assert nz.state("servers_total") == "6"
    await nz.tick(9)  # its ping sensors come with the next round
    assert float(nz.state(f"{sid}_ping_4")) > 0

    ids = nz.entity_ids()
    assert server_entity_count(nz.hass, nz.entry, TOKYO) > 0
    nz.sim.remove_server(TOKYO)
    nz.sim.inject_fault(Fault.HTML_502, count=1)
    await nz.tick()
    assert nz.device(TOKYO) is not None
    await nz.tick()
    assert nz.device(TOKYO) is None
    assert server_entity_count(nz.hass, nz.entry, TOKYO) == 0
    gone = {i for i in ids if "dong_jing_web_03" in i}
    assert gone and nz.entity_ids() == ids - gone
    assert nz.devices() == {HK, FRA, GPU_BOX, NAS, sid}

    # An empty fleet is more likely a dashboard mishap than a deliberate wipe.
    for server_id in list(nz.sim.fleet.servers):
        nz.sim.remove_server(server_id)
    await nz.tick(2)
    assert nz.devices() == {HK, FRA, GPU_BOX, NAS, sid}
    assert nz.online(HK) == STATE_UNAVAILABLE
    assert nz.state("servers_total") == "0"
    assert nz.entry.runtime_data is coordinator


async def test_no_churn_on_identical_polls(nz: Harness) -> None:
    """Polls that return the same payload write no new state (pings included)."""
    ids = nz.entity_ids()
    with counted(nz.hass, ids) as writes:
        for _ in range(11):  # 341 s: eleven polls and a ping round
            nz.sim.shift_clock(-POLL.total_seconds())  # the dashboard's clock stands
            await nz.tick()
        await nz.entry.runtime_data.async_refresh()
        await nz.hass.async_block_till_done()
    assert len(paths(nz.sim, DETAILS)) == 13
    assert len(paths(nz.sim, MONITOR)) == 10
    assert writes.changed == []
    with counted(nz.hass, ids) as writes:  # a real change does write states
        await nz.tick()
    assert writes.changed


async def test_refreshes_bring_due_ping_rounds_without_polling(
    hass: HomeAssistant, simulator: NezhaSimulator, frozen: FrozenDateTimeFactory
) -> None:
    """With polling off, a refresh asks for pings once the interval (300 s) is up."""
    entry = v0_entry(simulator.url)
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, pref_disable_polling=True)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_setup_component(hass, "homeassistant", {})
    nz = Harness(hass, entry, simulator, frozen)
    online = nz.entity_id("1_online", "binary_sensor")

    def requests() -> tuple[int, int]:
        return len(paths(simulator, DETAILS)), len(paths(simulator, MONITOR))

    async def refresh() -> None:
        await hass.services.async_call(
            "homeassistant", "update_entity", {"entity_id": online}, blocking=True
        )
        await hass.async_block_till_done(wait_background_tasks=True)

    assert requests() == (1, 5)  # the first round, with setup
    await nz.tick(12)  # 372 s: no poll and no round without refreshes
    assert requests() == (1, 5)
    await refresh()
    assert requests() == (2, 10)  # the interval was up
    await nz.tick(5)  # 155 s later
    await refresh()
    assert requests() == (3, 10)  # not yet due again
    await nz.tick(5)  # 310 s after the last round
    await refresh()
    assert requests() == (4, 15)
    assert entry.runtime_data.side.first_round_done
