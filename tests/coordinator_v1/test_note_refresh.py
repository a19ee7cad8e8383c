"""Public notes on a live v1 stream: only the first frame carries them."""

from __future__ import annotations

import pytest

from custom_components.nezha import coordinator_v1
from tests.helpers import SERVERS, MakeLive, until

HK = 1


async def test_edited_note_arrives_with_the_next_inventory(
    make_live: MakeLive, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stream stays up and says nothing; the periodic inventory brings it."""
    monkeypatch.setattr(coordinator_v1, "INVENTORY_MAX_AGE_SECONDS", 1.5)
    live = await make_live(scan_interval=0.5)
    assert live.state(f"{HK}_expiry") == "2026-08-31T16:00:00+00:00"
    live.sim.set_public_note(
        HK, '{"billingDataMod":{"endDate":"2027-09-01T00:00:00Z"}}'
    )
    since = len(live.sim.requests)
    await until(
        lambda: live.state(f"{HK}_expiry") == "2027-09-01T00:00:00+00:00",
        "the edited note",
    )
    assert live.coordinator.stream_live
    assert live.count(SERVERS, since=since) >= 1
    assert live.sim.ws_connections == 1


async def test_no_inventory_within_the_hour(make_live: MakeLive) -> None:
    """With the default age, a live stream needs no REST inventory at all."""
    live = await make_live(scan_interval=0.2)
    since = len(live.sim.requests)
    await live.frames(10)
    assert live.coordinator.stream_live
    assert live.count(SERVERS, since=since) == 0
