"""A five-minute outage of the dashboard, v0 and v1."""

from __future__ import annotations

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
import pytest

from nezha_dev.simulator import NezhaSimulator
from tests.helpers import (
    DETAILS,
    GROUPS,
    MONITOR,
    SERVERS,
    WS,
    Harness,
    entity_ids,
    paths,
    setup_frozen,
    unavailable,
    v1_entry,
    wait_for,
)
from tests.reliability.helpers import (
    COORDINATOR,
    OUTAGE_POLLS,
    OUTAGE_SECONDS,
    OUTAGES,
    SCAN,
    TITLE,
    assert_values_back,
    changes,
    come_back,
    count,
    failed_polls,
    go_down,
    loud,
    ours,
    per_request,
    port_of,
    registry_devices,
    registry_entries,
    settle_v1,
    states_of,
    step_v1,
    watch_entry_state,
)

# -- v0: five minutes without the dashboard ---------------------------------------------


@pytest.mark.parametrize("outage", OUTAGES)
async def test_five_minute_outage_v0(
    nz: Harness, caplog: pytest.LogCaptureFixture, outage: str
) -> None:
    """Down for 5 min: unavailable, one error, polls at the normal pace, no reload."""
    hass, entry, sim = nz.hass, nz.entry, nz.sim
    coordinator = entry.runtime_data
    ids = nz.entity_ids()
    before = states_of(hass, ids)
    entities = registry_entries(hass, entry.entry_id)
    devices = registry_devices(hass, entry.entry_id)
    assert len(devices) == 6 and len(entities) > len(ids)  # some disabled by default
    seen, unsub = watch_entry_state(entry)
    port = port_of(sim)

    caplog.clear()
    sim.reset_requests()
    await go_down(sim, outage)
    for _ in range(OUTAGE_POLLS):  # 10 x 30 s = 5 min
        await nz.tick(delta=SCAN)
        assert nz.unavailable() == ids
        assert entry.state is ConfigEntryState.LOADED
    assert failed_polls(caplog) == OUTAGE_POLLS
    # One request per poll (aiohttp's silent retry doubles it on a reset); no
    # ping history while the dashboard is down.
    assert paths(sim) == [DETAILS] * OUTAGE_POLLS * per_request(outage)
    cause = {
        "html_502": "the dashboard answered HTTP 502",
        "reset": "ClientOSError: [Errno 104] Connection reset by peer",
        "refused": f"ClientConnectorError: Cannot connect to host 127.0.0.1:{port}",
    }[outage]
    errors = loud(caplog)
    assert len(errors) == 1, errors
    assert errors[0].startswith(
        f"ERROR Error fetching {COORDINATOR} data: Could not reach the dashboard: "
        f"{DETAILS}: {cause}"
    )
    assert not [m for m in ours(caplog) if "recovered" in m]

    caplog.clear()
    sim.reset_requests()
    await come_back(sim, outage, port)
    await nz.tick(delta=SCAN)
    assert ours(caplog) == [f"INFO Fetching {COORDINATOR} data recovered"]
    assert loud(caplog) == []
    # The ping round overdue since the outage runs right away.
    assert paths(sim, DETAILS) == [DETAILS]
    assert sorted(paths(sim, MONITOR)) == [f"{MONITOR}{i}" for i in range(1, 6)]
    unsub()

    assert seen == []  # never unloaded, set up again or retried
    assert entry.runtime_data is coordinator
    assert_values_back(before, states_of(hass, ids))
    assert changes(entities, registry_entries(hass, entry.entry_id)) == []
    assert changes(devices, registry_devices(hass, entry.entry_id)) == []


# -- v1: stream and REST down for five minutes ----------------------------------------


@pytest.mark.parametrize("outage", OUTAGES)
async def test_five_minute_outage_v1(
    hass: HomeAssistant,
    frozen: FrozenDateTimeFactory,
    v1_sim: NezhaSimulator,
    caplog: pytest.LogCaptureFixture,
    outage: str,
) -> None:
    """Stream and REST down for 5 min: polls go on, one error, stream back, no reload."""
    sim = v1_sim
    entry = v1_entry(sim)
    coordinator = await setup_frozen(hass, entry)
    runner = coordinator.stream
    assert runner is not None and runner.connected
    ids = entity_ids(hass, entry)
    before = states_of(hass, ids)
    entities = registry_entries(hass, entry.entry_id)
    devices = registry_devices(hass, entry.entry_id)
    seen, unsub = watch_entry_state(entry)
    port = port_of(sim)

    caplog.clear()
    sim.reset_requests()
    await go_down(sim, outage)
    await wait_for(lambda: not runner.connected, "the stream to notice")
    await settle_v1(hass, coordinator)
    # The last data stays until the next scheduled update, which polls REST.
    assert not unavailable(hass, ids)
    for _ in range(OUTAGE_SECONDS):
        await step_v1(hass, frozen, coordinator)
        if failed_polls(caplog):
            assert unavailable(hass, ids) == ids
        else:
            assert not unavailable(hass, ids)
        assert entry.state is ConfigEntryState.LOADED
    assert failed_polls(caplog) == OUTAGE_POLLS

    # REST: one /server per poll (the groups request never comes after a failed
    # one). Stream: one handshake per reconnect attempt; ``attempts`` counts the
    # drop plus each failed handshake. With Backoff(base 1 s, cap 300 s) and its
    # jitter the n-th handshake comes between 2**n - 1 and 2**(n+1) - 2 s after
    # the drop: 7 or 8 of them in 300 s.
    handshakes = runner.attempts - 1
    assert 7 <= handshakes <= 8
    unit = per_request(outage)
    assert count(sim, SERVERS) == OUTAGE_POLLS * unit
    assert count(sim, WS) == handshakes * unit
    assert len(sim.requests) == (OUTAGE_POLLS + handshakes) * unit  # nothing else
    cause = {
        "html_502": f"{SERVERS}: the dashboard answered HTTP 502",
        "reset": f"{SERVERS}: ClientOSError: [Errno 104] Connection reset by peer",
        "refused": f"{SERVERS}: ClientConnectorError: Cannot connect to host "
        f"127.0.0.1:{port}",
    }[outage]
    logged = ours(caplog)
    assert len(logged) == 2, logged
    assert logged[0].startswith(
        f"INFO Live updates from {TITLE} interrupted (stream closed "
    )
    assert logged[0].endswith("); polling until they resume")
    assert logged[1].startswith(
        f"ERROR Error fetching {COORDINATOR} data: Could not reach the dashboard: "
        f"{cause}"
    )
    assert loud(caplog) == [logged[1]]

    caplog.clear()
    sim.reset_requests()
    await come_back(sim, outage, port)
    # Whichever comes first ends the outage for both: the next scheduled update
    # (REST answers, which cuts the stream's backoff short) or a reconnect of the
    # stream (its first frame triggers the update at once).
    recovered_after = connected_after = None
    for second in range(1, 2 * OUTAGE_SECONDS + 1):
        await step_v1(hass, frozen, coordinator)
        if recovered_after is None and not unavailable(hass, ids):
            recovered_after = second
        if recovered_after is not None:
            assert not unavailable(hass, ids)
            if runner.connected:
                connected_after = second
                break
    assert recovered_after is not None and recovered_after <= SCAN.total_seconds()
    assert connected_after is not None and connected_after <= recovered_after + 1
    assert sorted(ours(caplog)) == [
        f"INFO Fetching {COORDINATOR} data recovered",
        f"INFO Live updates from {TITLE} are back",
    ]
    assert loud(caplog) == []
    assert count(sim, WS) == 1
    # Until the stream was back each update polled REST (both requests).
    assert count(sim, SERVERS) == count(sim, GROUPS)

    # With the stream back, REST is not asked again for a whole interval.
    sim.reset_requests()
    for _ in range(16):
        frames = coordinator.frames_received
        await step_v1(hass, frozen, coordinator, seconds=2)
        await wait_for(lambda f=frames: coordinator.frames_received > f, "a frame")
    assert count(sim, SERVERS) == count(sim, GROUPS) == 0
    unsub()

    assert seen == []
    assert entry.runtime_data is coordinator
    assert coordinator.stream is runner  # the same stream task reconnected
    assert_values_back(before, states_of(hass, ids))
    assert changes(entities, registry_entries(hass, entry.entry_id)) == []
    assert changes(devices, registry_devices(hass, entry.entry_id)) == []
