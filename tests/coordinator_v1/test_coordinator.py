"""The v1 stream coordinator against the simulated v2.3 dashboard: real time, WAF, frozen."""

import asyncio
from datetime import timedelta
import functools
from itertools import pairwise
import time

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import async_fire_time_changed
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.nezha import async_remove_config_entry_device, coordinator_v1
from custom_components.nezha.client import Fleet
from custom_components.nezha.client.v1 import StreamFrame
from custom_components.nezha.const import (
    CONF_ALERTS_WEBHOOK,
    CONF_WEBHOOK_ID,
    CONF_WEBHOOK_LOCAL_ONLY,
)
from custom_components.nezha.coordinator_v1 import NezhaStreamCoordinator
from custom_components.nezha.sensor_server import SERVER_SENSORS
from nezha_dev.simulator import Fault, NezhaSimulator
from nezha_dev.simulator.notify import AlertServer, alert_message, render
from tests.config_flow.helpers import NEW_PAT, assert_aborted, submit
from tests.helpers import (
    FRAME,
    GROUPS,
    PAT,
    SERVERS,
    SERVICES,
    WS,
    Live,
    MakeLive,
    StateLog,
    entity_ids,
    entry_device,
    register_secret,
    setup_frozen,
    simulated_minutes,
    start_live,
    state,
    until,
    v1_entry,
    wait_for,
)

HK, FRA, GPU_BOX, NAS, TOKYO = 1, 2, 3, 4, 5
WEBHOOK_ID = "b2" * 32
METRICS = ("cpu_usage", "memory_usage", "download_speed", "upload_speed", "uploaded")


@pytest.fixture
def sim(v1_sim: NezhaSimulator, monkeypatch: pytest.MonkeyPatch) -> NezhaSimulator:
    """The v2.3.7 fleet, streaming ten times faster than a real dashboard."""
    monkeypatch.setattr(NezhaStreamCoordinator, "frame_interval", FRAME)
    v1_sim.ws_interval = FRAME
    return v1_sim


@pytest.fixture
def make_live(hass: HomeAssistant, sim: NezhaSimulator) -> MakeLive:
    """Set up v1 entries with the given options (``v1_sim`` unloads them)."""
    return functools.partial(start_live, hass, sim)


# -- in real time -------------------------------------------------------------------


async def test_setup_then_frames_keep_data_fresh(make_live: MakeLive) -> None:
    """REST inventory once, one stream; then over eight intervals values move, no REST."""
    live = await make_live(scan_interval=1)
    assert live.paths()[:3] == [SERVERS, GROUPS, WS]
    assert live.count(SERVERS) == live.count(GROUPS) == live.count(WS) == 1
    handshake = next(r for r in live.sim.requests if r.path == WS)
    assert handshake.kind == "ws"
    assert handshake.headers["Authorization"] == f"Bearer {PAT}"
    assert "Origin" not in handshake.headers
    assert live.sim.ws_connections == 1
    assert live.devices() == {HK, FRA, GPU_BOX, NAS, TOKYO}
    for sid, server in live.sim.fleet.servers.items():
        device = live.device(sid)
        assert device is not None
        assert device.name == server.name
        assert device.configuration_url == f"{live.sim.url}/server/{sid}"
        assert live.online(sid) == STATE_ON
        boot = dt_util.utc_from_timestamp(server.host.boot_time)
        assert live.state(f"{sid}_last_boot") == boot.isoformat()
    assert live.state("servers_total") == live.state("servers_online") == "5"
    assert live.state("any_offline", "binary_sensor") == STATE_OFF

    cpu = live.entity_id(f"{FRA}_cpu_usage")
    log = StateLog(live.hass, {cpu})
    before = len(live.sim.requests)
    frames = live.coordinator.frames_received
    started = time.monotonic()
    # Simulated agents report every 1-2 s, so the values change at least every
    # 2 s: eight seconds hold at least four reports, whatever the phase.
    while time.monotonic() - started < 8.5:
        await live.frames(1)
    log.stop()
    assert live.paths(since=before) == []  # no inventory within the hour
    assert live.coordinator.stream_live
    assert live.coordinator.frames_received - frames >= 20
    assert len(log.of(cpu)) >= 3  # written on the 1 s schedule from frame data
    assert live.coordinator.last_update_success


async def test_coalescing_and_instant_transitions(make_live: MakeLive) -> None:
    """Metrics change at most once per interval; a flapping server shows at once."""
    interval = 3.0
    live = await make_live(scan_interval=interval)
    metric_ids = {
        live.entity_id(f"{sid}_{key}") for sid in (HK, FRA, GPU_BOX) for key in METRICS
    }
    online_id = live.entity_id(f"{TOKYO}_online", "binary_sensor")
    log = StateLog(live.hass, metric_ids | {online_id})
    seen: list[float | None] = []  # FRA's CPU in every frame, for comparison
    latencies: list[float] = []

    async def watch(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            await live.frames(1)
            latest = live.coordinator._latest  # measurement only
            assert latest is not None
            seen.append(latest.servers[FRA].state.cpu)

    async def flip(online: bool) -> None:
        live.sim.set_online(TOKYO, online)
        wanted = STATE_ON if online else STATE_OFF
        latencies.append(
            await until(lambda: live.online(TOKYO) == wanted, f"Tokyo {wanted}")
        )

    started = time.monotonic()
    await watch(interval * 0.6)
    await flip(False)
    await watch(interval * 0.2)
    await flip(True)
    await watch(interval * 2.5)
    await flip(False)
    await watch(interval * 1.0)
    elapsed = time.monotonic() - started
    log.stop()

    assert [s for _, s in log.of(online_id)] == [STATE_OFF, STATE_ON, STATE_OFF]
    assert max(latencies) <= 2 * FRAME + 0.3, latencies
    for eid in metric_ids:
        times = [t for t, _ in log.of(eid)]
        gaps = [b - a for a, b in pairwise(times)]
        assert all(gap >= interval - 0.1 for gap in gaps), (eid, gaps)
        assert len(times) <= elapsed / interval + 1, (eid, len(times))
    fra_cpu = live.entity_id(f"{FRA}_cpu_usage")
    written = len(log.of(fra_cpu))
    per_frame = sum(1 for a, b in pairwise(seen) if a != b)
    assert written >= 2  # the regular schedule kept running despite the flaps
    assert per_frame >= 2 * written  # what writing every frame would have cost
    print(  # noqa: T201 - the measured numbers for the report
        f"\ncoalescing: {len(seen)} frames in {elapsed:.1f} s, FRA cpu changed in "
        f"{per_frame} frames, written {written} times; offline/online latencies "
        f"{', '.join(f'{x * 1000:.0f} ms' for x in latencies)}"
    )


async def no_rest_once_streaming(live: Live) -> None:
    """Once frames flow again, the next update intervals poll no REST."""
    await live.frames(2)
    after = len(live.sim.requests)
    await live.frames(10)  # two more update intervals
    assert live.count(SERVERS, since=after) == 0


def never_unavailable(log: StateLog, since: int = 0) -> bool:
    """Whether no entity turned unavailable in the log (from change ``since`` on)."""
    return all(s != STATE_UNAVAILABLE for _, _, s in log.changes[since:])


async def test_stream_drop_outage_and_silence(
    make_live: MakeLive, sim: NezhaSimulator
) -> None:
    """Drops reconnect, failed handshakes back off, 10 s silence is dead; REST fills in."""
    live = await make_live(scan_interval=1)
    log = StateLog(live.hass, entity_ids(live.hass, live.entry))
    before = len(sim.requests)
    dropped_at = time.monotonic()
    assert await sim.drop_websockets() == 1
    await until(lambda: sim.ws_connections == 1, "the stream back", limit=5)
    reconnect = time.monotonic() - dropped_at
    await live.frames(3)
    assert live.count(WS, since=before) == 1
    assert 1.0 <= reconnect <= 2.5  # first backoff step: 1-2 s plus the handshake
    assert never_unavailable(log)
    assert live.coordinator.last_update_success

    sim.inject_fault(Fault.HTML_502, count=None, path=WS)
    before = len(sim.requests)
    await sim.drop_websockets()
    await until(lambda: live.count(WS, since=before) >= 2, "two handshakes", 8)
    times = [r.time for r in sim.requests[before:] if r.path == WS]
    polls = live.count(SERVERS, since=before)
    assert live.count(WS, since=before) == 2
    assert all(b - a >= 2.0 for a, b in pairwise(times))  # second step: 2-4 s
    assert polls >= 2  # the 1 s schedule polled REST meanwhile
    assert live.online(HK) == STATE_ON
    assert live.state(f"{HK}_cpu_usage") != STATE_UNAVAILABLE

    sim.clear_faults()
    await until(lambda: sim.ws_connections == 1, "the stream back", limit=10)
    await no_rest_once_streaming(live)

    silent_from = len(log.changes)
    before = len(sim.requests)
    paused_at = time.monotonic()
    sim.pause_ws()
    await until(lambda: live.count(SERVERS, since=before) > 0, "a REST poll", 13)
    silence = time.monotonic() - paused_at
    # The 10 s count from the last frame, which came up to one frame before the
    # pause; then the next 1 s update polls REST.
    assert 10.0 - FRAME <= silence <= 11.5
    assert live.count(WS, since=before) <= 1  # at most one reconnect so far
    await until(lambda: live.count(SERVERS, since=before) >= 2, "a second poll", 3)
    assert never_unavailable(log, silent_from)
    assert live.coordinator.last_update_success

    sim.pause_ws(False)
    await no_rest_once_streaming(live)
    log.stop()
    print(f"\nsilence detected after {silence:.1f} s")  # noqa: T201


@pytest.mark.parametrize("proxy", [False, True], ids=["down", "proxy_header"])
async def test_unavailable_then_back(
    make_live: MakeLive,
    sim: NezhaSimulator,
    caplog: pytest.LogCaptureFixture,
    proxy: bool,
) -> None:
    """Stream and REST both fail (or want a proxy header): unavailable, then back."""
    live = await make_live(scan_interval=1)
    before = len(sim.requests)
    if proxy:
        sim.real_ip_header = "X-Real-IP"
    else:
        sim.inject_fault(Fault.HTML_502, count=None)
    await sim.drop_websockets()
    await until(lambda: live.online(HK) == STATE_UNAVAILABLE, "unavailable", 3)
    assert live.state(f"{HK}_cpu_usage") == STATE_UNAVAILABLE
    assert live.state("servers_total") == STATE_UNAVAILABLE
    assert live.count(SERVERS, since=before) >= 1
    if proxy:
        (error,) = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
        wanted = "do not come through its reverse proxy (no usable real-IP header)"
        assert wanted in error
        # The stream's refused handshakes (HTTP 200) are not taken for a rejected
        # token: it keeps retrying with backoff, and no reauth is asked for.
        stream = live.coordinator.stream
        assert stream is not None
        await until(lambda: stream.attempts >= 3, "three refused reconnects", 10)
        assert not live.coordinator.auth_failed
        assert live.reauth_flows() == []
        assert sim.waf_strikes() == 0
        sim.waf_enabled = True  # the admin switches back to the peer address
    else:
        sim.clear_faults()
    await until(lambda: live.online(HK) == STATE_ON, "available again", 3)
    await until(lambda: sim.ws_connections == 1, "the stream back", 10)
    await live.frames(2)
    assert live.coordinator.last_update_success


async def test_servers_added_and_removed(
    make_live: MakeLive, sim: NezhaSimulator
) -> None:
    """Servers come and go within ~1 s; a failed inventory is retried, frames flow on."""
    live = await make_live(scan_interval=1)
    await asyncio.sleep(1.1)  # one update interval since the last inventory
    before = len(sim.requests)
    new = sim.add_server("edge-new", "Lab")
    added = await until(lambda: new in live.devices(), "the new device", 3)
    await live.hass.async_block_till_done()
    assert live.online(new) == STATE_ON
    assert live.state("servers_total") == "6"
    assert live.count(SERVERS, since=before) == 1

    await asyncio.sleep(1.1)  # one update interval since the last inventory
    sim.remove_server(FRA)
    removed = await until(lambda: FRA not in live.devices(), "FRA removed", 3)
    assert live.state("servers_total") == "5"
    assert live.count(SERVERS, since=before) == 2
    assert added < 1.5 and removed < 1.5

    log = StateLog(live.hass, entity_ids(live.hass, live.entry))
    await asyncio.sleep(1.1)
    sim.inject_fault(Fault.HTML_502, count=1, path=SERVERS)
    before = len(sim.requests)
    other = sim.add_server("edge-other")
    await until(lambda: other in live.devices(), "the other new device", 4)
    log.stop()
    assert live.count(SERVERS, since=before) == 2  # refused once, then asked again
    assert never_unavailable(log)
    assert live.coordinator.last_update_success


async def test_edited_note_and_services(
    make_live: MakeLive, sim: NezhaSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A note edit comes with the inventory; services go down next round, kept on failure."""
    monkeypatch.setattr(coordinator_v1, "INVENTORY_MAX_AGE_SECONDS", 1.5)
    live = await make_live(scan_interval=1, ping_interval=1)
    assert live.state(f"{HK}_expiry") == "2026-08-31T16:00:00+00:00"
    sim.set_public_note(HK, '{"billingDataMod":{"endDate":"2027-09-01T00:00:00Z"}}')
    since = len(sim.requests)
    await until(
        lambda: live.state(f"{HK}_expiry") == "2027-09-01T00:00:00+00:00",
        "the edited note",
    )
    assert live.coordinator.stream_live
    assert live.count(SERVERS, since=since) >= 1
    assert sim.ws_connections == 1

    monitors = sorted(sim.fleet.monitors)
    await until(
        lambda: set(live.coordinator.side.data.services) == set(monitors), "services"
    )
    await live.hass.async_block_till_done()
    dashboard = entry_device(live.hass, live.entry.entry_id, live.entry.entry_id)
    assert dashboard is not None
    for mid in monitors:
        up_id = live.entity_id(f"service_{mid}_up", "binary_sensor")
        assert live.state(f"service_{mid}_up", "binary_sensor") == STATE_ON, mid
        avail = float(live.state(f"service_{mid}_availability"))
        assert 90 <= avail <= 100
        reg_entry = er.async_get(live.hass).async_get(up_id)
        assert reg_entry is not None and reg_entry.device_id == dashboard.id
    target = monitors[0]
    before = len(sim.requests)
    sim.set_service_down(target)
    latency = await until(
        lambda: live.state(f"service_{target}_up", "binary_sensor") == STATE_OFF,
        "the service down",
        limit=5,
    )
    assert live.count(SERVICES, since=before) >= 1
    assert latency <= 1 + 1 + 0.5  # next ping round: ping interval + update interval

    # A failing /service answer leaves services as last shown and the metrics live,
    # asks for no new token, and the next good round brings the change.
    second = monitors[1]
    before = len(sim.requests)
    sim.inject_fault(Fault.HTML_502, count=None, path=SERVICES)
    sim.set_service_down(second)
    await until(lambda: live.count(SERVICES, since=before) >= 2, "two failed rounds")
    assert set(live.coordinator.side.data.services) == set(monitors)
    assert live.state(f"service_{second}_up", "binary_sensor") == STATE_ON
    assert live.coordinator.last_update_success
    assert live.coordinator.stream_live
    assert live.reauth_flows() == []
    sim.clear_faults()
    await until(
        lambda: live.state(f"service_{second}_up", "binary_sensor") == STATE_OFF,
        "the second service down",
    )


async def test_offline_at_dashboard_pace_then_an_alert(
    hass: HomeAssistant,
    make_live: MakeLive,
    sim: NezhaSimulator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """At real 2 s frames a disconnect shows within a frame; the alert needs no request."""
    sim.ws_interval = 2.0
    webhook = {CONF_ALERTS_WEBHOOK: True, CONF_WEBHOOK_ID: WEBHOOK_ID}
    webhook[CONF_WEBHOOK_LOCAL_ONLY] = True
    live = await make_live(**webhook)  # default 30 s update interval
    await live.frames(1)
    sim.set_online(HK, False)
    latency = await until(lambda: live.online(HK) == STATE_OFF, "HK offline")
    assert latency <= 2.0 + 0.5
    assert live.state(f"{HK}_cpu_usage") == STATE_UNAVAILABLE
    assert live.state("servers_offline") == "1"
    assert live.state("any_offline", "binary_sensor") == STATE_ON
    print(f"\noffline latency at 2 s frames: {latency * 1000:.0f} ms")  # noqa: T201

    name = sim.fleet.servers[HK].name
    message = alert_message("Incident", name, "203.0.*.*", "Offline")
    body, content_type = render(message, AlertServer(HK, name))
    client = await hass_client_no_auth()
    before = len(sim.requests)
    response = await client.post(
        f"/api/webhook/{WEBHOOK_ID}", data=body, headers={"Content-Type": content_type}
    )
    assert response.status == 200
    events = live.entity_id(f"{HK}_alerts", "event")
    await until(
        lambda: hass.states.get(events).attributes.get("message") == message,  # type: ignore[union-attr]
        "the event",
        1.0,
    )
    await hass.async_block_till_done()
    assert live.paths(since=before) == []  # the live stream was enough
    assert live.online(HK) == "off"
    assert HK not in live.coordinator.silenced  # already offline: nothing to hold

    sim.set_online(HK, True)
    await until(lambda: live.online(HK) == "on", "online again", 3.0)


# -- WAF safety: one refused request, then nothing at all -----------------------------
# Each refused token is a strike (a ban of max(3, n**4) s after n): after one, no
# stream, poll or side request until a new token. Real time, then simulated minutes.


async def assert_silence(live: Live, since: int, sent: list[str]) -> None:
    """Nothing more reaches the dashboard, in real time and over simulated minutes."""
    await asyncio.sleep(2)  # two update intervals of the fast tests, in real time
    await simulated_minutes(live, 10)
    assert live.paths(since=since) == sent
    assert live.sim.ws_connections == 0
    assert len(live.reauth_flows()) == 1


async def test_revoked_token_refused_at_handshake(
    make_live: MakeLive, sim: NezhaSimulator
) -> None:
    """Revoking closes the stream; its reconnect is refused once, then silence."""
    live = await make_live(scan_interval=30)
    before = len(sim.requests)
    sim.revoke_token()
    await until(lambda: bool(live.reauth_flows()), "a reauth flow", limit=5)
    assert live.paths(since=before) == [WS]
    assert sim.waf_strikes() == 1
    assert live.entry.state is ConfigEntryState.LOADED
    assert live.state(f"{HK}_cpu_usage") == STATE_UNAVAILABLE
    assert live.online(HK) == STATE_UNAVAILABLE
    await assert_silence(live, before, [WS])
    assert sim.waf_strikes() == 1

    # A frame still in flight when the token was refused changes nothing and
    # asks for nothing (no recovery refresh).
    coordinator = live.coordinator
    assert coordinator._latest is not None
    coordinator._on_frame(StreamFrame(coordinator._latest, frozenset(), frozenset()))
    await live.hass.async_block_till_done()
    assert live.paths(since=before) == [WS]
    assert live.online(HK) == STATE_UNAVAILABLE

    # Neither the options form (server groups) nor deleting a device asks the
    # dashboard with the refused token.
    result = await live.hass.config_entries.options.async_init(live.entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    live.hass.config_entries.options.async_abort(result["flow_id"])
    device = live.device(HK)
    assert device is not None
    assert not await async_remove_config_entry_device(live.hass, live.entry, device)
    assert live.paths(since=before) == [WS]

    # The user enters a new token: the entry reloads and streams again.
    sim.add_token(token=NEW_PAT)
    sim.shift_clock(4)  # past the 3 s ban of the one strike
    result = await submit(live.hass, live.reauth_flows()[0], {"api_token": NEW_PAT})
    assert_aborted(result, "reauth_successful")
    await live.hass.async_block_till_done()
    assert live.entry.state is ConfigEntryState.LOADED
    await live.frames(2)
    assert live.online(HK) == "on"
    assert sim.waf_strikes() == 0


@pytest.mark.parametrize(
    ("in_round", "blocked"),
    [(False, False), (False, True), (True, False), (True, True)],
    ids=["poll_revoked", "poll_waf_block", "round_expired", "round_waf_block"],
)
async def test_one_refused_request(
    make_live: MakeLive,
    sim: NezhaSimulator,
    caplog: pytest.LogCaptureFixture,
    in_round: bool,
    blocked: bool,
) -> None:
    """A poll (stream down) or a ping round (stream on): that one request is refused."""
    if in_round:
        expiring = register_secret(sim.add_token(expires_in=3600))
        live = await make_live(expiring, scan_interval=1, ping_interval=1)
        if not blocked:  # blocked at once, the next round's first request meets it
            await until(lambda: live.count(SERVICES) >= 2, "a second ping round")
    else:
        live = await make_live(scan_interval=1)
        sim.inject_fault(Fault.HTML_502, count=None, path=WS)  # handshakes never auth
        await sim.drop_websockets()
        before = len(sim.requests)
        await until(lambda: live.count(SERVERS, since=before) > 0, "REST fallback", 3)
    refused = len(sim.requests)
    if blocked:
        sim.block_ip()
    else:
        sim.shift_clock(3601) if in_round else sim.revoke_token()
    await until(lambda: bool(live.reauth_flows()), "a reauth flow", limit=5)
    sent = live.paths(since=refused)
    if in_round:
        assert len(sent) == 1
        assert sent[0].endswith("/service"), sent
    else:  # one REST request of a poll (maybe half done); only 502'd handshakes
        assert len([p for p in sent if p != WS]) == 1, sent
        assert sent[-1] in (SERVERS, GROUPS), sent
    if blocked:
        assert "WAF" in caplog.text
        # The reauth form opens with the WAF ban as its error.
        result = await submit(live.hass, live.reauth_flows()[0])
        assert result["step_id"] == "reauth_confirm"
        assert result["errors"] == {"base": "waf_blocked"}
        await until(lambda: sim.ws_connections == 0, "the stream closed", limit=2)
    await assert_silence(live, refused, sent)
    assert sim.waf_strikes() == (99999 if blocked else 1)  # a manual block: 99999


# -- on a frozen clock: each tick moves 2 s, so exactly one frame arrives --------------


async def tick(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    coordinator: NezhaStreamCoordinator,
) -> None:
    """Two seconds on: one frame arrives, and whatever timer was due has run."""
    frames = coordinator.frames_received
    freezer.tick(timedelta(seconds=2))
    async_fire_time_changed(hass)
    await wait_for(lambda: coordinator.frames_received > frames, "a frame")
    await hass.async_block_till_done()
    # Refreshes a frame started run as background tasks, which
    # async_block_till_done does not wait for (the stream task never ends).
    stream = coordinator._stream_task
    await wait_for(
        lambda: all(t is stream for t in coordinator._tasks), "the refresh it started"
    )
    await hass.async_block_till_done()


async def test_inventory_at_most_once_per_interval(
    hass: HomeAssistant, frozen: FrozenDateTimeFactory, v1_sim: NezhaSimulator
) -> None:
    """A new server waits for the interval; transitions meanwhile do not."""
    sim = v1_sim  # frames at the dashboard's 2 s, one per tick
    entry = v1_entry(sim)  # default 30 s update interval
    coordinator = await setup_frozen(hass, entry)
    before = len(sim.requests)
    new = sim.add_server("edge-new")
    await tick(hass, frozen, coordinator)
    sim.set_online(TOKYO, False)
    await tick(hass, frozen, coordinator)
    assert state(hass, entry, f"{TOKYO}_online", "binary_sensor").state == STATE_OFF
    assert new not in coordinator.data.servers
    assert [r.path for r in sim.requests[before:]] == []

    for _ in range(14):  # up to 32 s after the setup's inventory
        await tick(hass, frozen, coordinator)
    assert new in coordinator.data.servers
    assert state(hass, entry, f"{new}_online", "binary_sensor").state == "on"
    assert [r.path for r in sim.requests[before:]].count(SERVERS) == 1


async def test_state_write_rate_50_servers(
    hass: HomeAssistant, frozen: FrozenDateTimeFactory, socket_enabled: None
) -> None:
    """50 servers, frames every 2 s, default 30 s interval: writes over one minute."""
    async with NezhaSimulator(servers=50, generation="v1", seed=1, token=PAT) as sim:
        entry = v1_entry(sim)
        coordinator = await setup_frozen(hass, entry)
        ids = entity_ids(hass, entry)
        described = {d.key: d.value_fn for d in SERVER_SENSORS}
        metrics = {  # entity id -> (server id, sensor key) of the enabled metrics
            item.entity_id: (int(sid), key)
            for item in er.async_entries_for_config_entry(
                er.async_get(hass), entry.entry_id
            )
            for sid, _, key in [
                item.unique_id.removeprefix(f"{entry.entry_id}_").partition("_")
            ]
            if sid.isdigit() and key in described and item.entity_id in ids
        }
        log = StateLog(hass, ids)
        frames: list[Fleet] = []
        for _ in range(30):  # 60 s at the dashboard's 2 s pace
            await tick(hass, frozen, coordinator)
            assert coordinator._latest is not None  # measurement only
            frames.append(coordinator._latest)
        log.stop()

        writes = len(log.changes)
        metric_writes = sum(1 for _, eid, _ in log.changes if eid in metrics)
        # What a design that wrote every frame would have written.
        per_frame = sum(
            described[key](old.servers[sid]) != described[key](new.servers[sid])
            for old, new in pairwise(frames)
            for sid, key in metrics.values()
            if sid in old.servers and sid in new.servers
        )
        assert coordinator.frames_received == 31
        assert metric_writes <= 2 * len(metrics)  # two scheduled updates, no more
        assert per_frame >= 10 * metric_writes
        print(  # noqa: T201 - the measured numbers for the report
            f"\n50 servers, 60 s: {len(ids)} entities ({len(metrics)} metrics), "
            f"{writes} state writes ({metric_writes} metric); writing every frame "
            f"would have made {per_frame} metric writes"
        )
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
