"""A five-minute outage of the dashboard: unavailable, one error, no reload."""

from __future__ import annotations

import pytest

from tests.helpers import DETAILS, GROUPS, MONITOR, SERVERS, WS, paths, wait_for
from tests.reliability.helpers import (
    COORDINATOR,
    OUTAGE_POLLS,
    OUTAGE_SECONDS,
    OUTAGES,
    SCAN,
    TITLE,
    Rig,
    come_back,
    failed_polls,
    go_down,
    loud,
    ours,
    port_of,
    registry_of,
    remember,
    unreachable,
)


@pytest.mark.parametrize("outage", list(OUTAGES))
@pytest.mark.parametrize("generation", ["v0", "v1"])
async def test_five_minute_outage(
    rig: Rig, caplog: pytest.LogCaptureFixture, outage: str
) -> None:
    """Down 5 min: polls at the normal pace, one error, (v1: stream back), no reload."""
    hass, entry, sim, coordinator = rig.hass, rig.entry, rig.sim, rig.coordinator
    runner = rig.runner
    entities, devices = registry_of(hass, entry.entry_id)
    assert len(devices) == 6
    assert len(entities) > len(rig.ids)  # some disabled
    check = remember(rig)
    port = port_of(sim)

    caplog.clear()
    sim.reset_requests()
    await go_down(sim, outage)
    if rig.v1:
        await rig.stream_down()
    # The last data stays until the next scheduled update (v1: it polls REST).
    assert not rig.unavailable()
    for _ in range(OUTAGE_SECONDS):
        await rig.step()
        assert rig.unavailable() == (rig.ids if failed_polls(caplog) else set())
    assert failed_polls(caplog) == OUTAGE_POLLS
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
    assert errors[0].startswith(unreachable(outage, rig.rest, port))
    assert not [m for m in ours(caplog) if "recovered" in m]
    if rig.v1:
        logged = ours(caplog)
        assert len(logged) == 2, logged
        assert logged[0].startswith(
            f"INFO Live updates from {TITLE} interrupted (stream closed "
        )
        assert logged[0].endswith("); polling until they resume")
        assert logged[1] == errors[0]

    caplog.clear()
    sim.reset_requests()
    await come_back(sim, outage, port)
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
    recovered = [f"INFO Fetching {COORDINATOR} data recovered"]
    assert loud(caplog) == []
    if not rig.v1:
        assert ours(caplog) == recovered
        # The ping round overdue since the outage runs right away.
        assert paths(sim, DETAILS) == [DETAILS]
        assert sorted(paths(sim, MONITOR)) == [f"{MONITOR}{i}" for i in range(1, 6)]
        check()
        return
    assert sorted(ours(caplog)) == [
        *recovered,
        f"INFO Live updates from {TITLE} are back",
    ]
    assert paths(sim).count(WS) == 1
    # Until the stream was back each update polled REST (both requests).
    assert paths(sim).count(SERVERS) == paths(sim).count(GROUPS)

    # With the stream back, REST is not asked again for a whole interval.
    sim.reset_requests()
    for _ in range(16):
        frames = coordinator.frames_received
        await rig.step(2)
        await wait_for(lambda f=frames: coordinator.frames_received > f, "a frame")
    assert paths(sim).count(SERVERS) == paths(sim).count(GROUPS) == 0
    assert coordinator.stream is runner  # the same stream task reconnected
    check()
