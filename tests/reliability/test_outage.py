"""A five-minute outage of the dashboard: unavailable, one error, no reload."""

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
import pytest

from nezha_dev.simulator import Fault
from tests.helpers import DETAILS, GROUPS, MONITOR, SERVERS, WS, paths, wait_for
from tests.reliability.helpers import (
    INTERRUPTED,
    SCAN,
    Rig,
    assert_recovered,
    changes,
    error_line,
    failed_polls,
    loud,
    ours,
    registry_of,
    settle_v1,
)

OUTAGE_SECONDS = 300
OUTAGE_POLLS = 10  # 300 s at the default 30 s interval
# Per outage: the requests the dashboard sees per attempt (aiohttp silently retries
# an idempotent request once on a reset; a refused connection never reaches it, the
# simulator being stopped) and the cause in the outage's one error line.
OUTAGES = {
    "html_502": (1, "the dashboard answered HTTP 502"),
    "reset": (2, "ClientOSError: [Errno 104] Connection reset by peer"),
    "refused": (0, "ClientConnectorError: Cannot connect to host 127.0.0.1:{port}"),
}


@pytest.mark.parametrize("outage", list(OUTAGES))
async def test_five_minute_outage(
    rig: Rig, caplog: pytest.LogCaptureFixture, outage: str
) -> None:
    """Down 5 min: polls at the normal pace, one error, (v1: stream back), no reload."""
    hass, entry, sim, coordinator = rig.hass, rig.entry, rig.sim, rig.coordinator
    runner = rig.runner
    before = registry_of(hass, entry.entry_id)
    entities, devices = before
    assert len(devices) == 6
    assert len(entities) > len(rig.ids)  # some disabled
    states = {i: hass.states.get(i).state for i in rig.ids}  # type: ignore[union-attr]
    seen: list[ConfigEntryState] = []
    unsub = entry.async_on_state_change(lambda: seen.append(entry.state))
    port = int(sim.url.rsplit(":", 1)[1])  # to come back where the entry expects

    caplog.clear()
    sim.reset_requests()
    # Down: every request fails, or nothing listens.
    if outage == "refused":
        await sim.stop()  # also cuts v1 streams
    else:
        sim.inject_fault(Fault(outage), count=None)
        if rig.v1:
            await sim.drop_websockets()  # what a dashboard restart does to streams
    if rig.v1:  # the stream noticed it is cut and the entry is at rest
        await wait_for(lambda: not runner.connected, "the stream to notice")
        await settle_v1(hass, coordinator)
    # The last data stays until the next scheduled update (v1: it polls REST).
    assert not rig.unavailable()
    for _ in range(OUTAGE_SECONDS):
        await rig.step()
        assert rig.unavailable() == (rig.ids if failed_polls(caplog) else set())
    assert len(failed_polls(caplog)) == OUTAGE_POLLS
    # One request per poll (aiohttp's silent retry doubles it on a reset; v1: the
    # groups request never follows a failed one); no ping history meanwhile.
    unit = OUTAGES[outage][0]
    assert paths(sim).count(rig.rest) == OUTAGE_POLLS * unit
    # v1: one handshake per reconnect attempt (``attempts`` counts the drop too).
    # With Backoff(base 1 s, cap 300 s) and its jitter the n-th comes between
    # 2**n - 1 and 2**(n+1) - 2 s after the drop: 7 or 8 of them in 300 s.
    handshakes = runner.attempts - 1 if rig.v1 else 0
    assert 7 <= handshakes <= 8 or not rig.v1
    assert paths(sim).count(WS) == handshakes * unit
    assert len(sim.requests) == (OUTAGE_POLLS + handshakes) * unit  # nothing else
    errors = loud(caplog)
    assert len(errors) == 1, errors
    cause = OUTAGES[outage][1].format(port=port)
    unreachable = error_line("Could not reach the dashboard", rig.rest, cause)
    assert errors[0].startswith(unreachable)
    logged = ours(caplog)
    assert len(logged) == 1 + rig.v1 and logged[-1] == errors[0], logged
    if rig.v1:
        assert logged[0].startswith(INTERRUPTED)
        assert logged[0].endswith("); polling until they resume")

    caplog.clear()
    sim.reset_requests()
    if outage == "refused":  # on the same address
        await sim.start(port=port)
    else:
        sim.clear_faults()
    # Whichever comes first ends the outage for both: the next scheduled update
    # (REST answers, which cuts the stream's backoff short) or a reconnect of the
    # stream (its first frame triggers the update at once).
    recovered_after = connected_after = None
    for second in range(1, 2 * OUTAGE_SECONDS + 1):
        await rig.step()
        if recovered_after is None and not rig.unavailable():
            recovered_after = second
        if recovered_after is not None:
            assert not rig.unavailable()
            if not rig.v1 or runner.connected:
                connected_after = second
                break
    assert recovered_after is not None and recovered_after <= SCAN.total_seconds()
    assert connected_after is not None and connected_after <= recovered_after + 1
    assert_recovered(caplog, rig.v1)
    if rig.v1:
        assert paths(sim).count(WS) == 1
        # Until the stream was back each update polled REST (both requests).
        assert paths(sim).count(SERVERS) == paths(sim).count(GROUPS)
        # With the stream back, REST is not asked again for a whole interval.
        sim.reset_requests()
        await rig.frames(16)
        assert paths(sim).count(SERVERS) == paths(sim).count(GROUPS) == 0
        assert coordinator.stream is runner  # the same stream task reconnected
    else:
        # The ping round overdue since the outage runs right away.
        assert paths(sim, DETAILS) == [DETAILS]
        assert sorted(paths(sim, MONITOR)) == [f"{MONITOR}{i}" for i in range(1, 6)]
    unsub()
    assert seen == []  # never unloaded, set up again or retried
    assert entry.runtime_data is coordinator
    now = {i: hass.states.get(i).state for i in rig.ids}  # type: ignore[union-attr]
    # Every entity has a state again, and one with a value before has one now.
    assert STATE_UNAVAILABLE not in now.values()
    unknown = {i for i, s in states.items() if s == STATE_UNKNOWN}
    assert {i for i, s in now.items() if s == STATE_UNKNOWN} == unknown
    assert changes(before, registry_of(hass, entry.entry_id)) == []
