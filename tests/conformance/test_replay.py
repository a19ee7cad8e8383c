"""The whole client, over real HTTP, reads every recorded answer of the real dashboards.

Expected values come from the recorded JSON, independently of the client's parsers.
"""

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
import json
from typing import Any

import pytest

from custom_components.nezha.client import (
    ApiGeneration,
    NezhaAuthError,
    NezhaNotFoundError,
    NezhaPatUnsupportedError,
    NezhaScopeError,
    NezhaWafBlockedError,
    async_detect_generation,
)
from custom_components.nezha.client.transport import RawResponse
from custom_components.nezha.client.v1 import check_envelope
from nezha_dev.conformance.recording import Exchange

from .helpers import D1, V0, V1, Served, by_recording

GO_ZERO_UNIX = -62135596800


def _raw(exchange: Exchange) -> RawResponse:
    return RawResponse(
        path=exchange.path,
        status=exchange.status,
        content_type=exchange.content_type,
        body=exchange.body_bytes(),
        date=parsedate_to_datetime(exchange.headers["Date"]),
    )


def _time(text: str) -> datetime | None:
    return None if text.startswith("0001-") else datetime.fromisoformat(text)


def _ms(stamp: float) -> datetime:
    return datetime.fromtimestamp(stamp / 1000, UTC)


def _same_number(parsed: float | None, recorded: Any) -> None:
    """A recorded number (omitted = 0 on v1) read exactly."""
    assert parsed == pytest.approx(recorded if recorded is not None else 0)


def _by_monitor(monitors: list[Any], records: list[dict[str, Any]]) -> list[Any]:
    """Pairs of (monitor, its record); the monitors are the recorded ids, sorted."""
    assert [m.monitor_id for m in monitors] == sorted(r["monitor_id"] for r in records)
    by_id = {r["monitor_id"]: r for r in records}
    return [(m, by_id[m.monitor_id]) for m in monitors]


@by_recording(V1, served=True)
async def test_v1_inventory_values(served: Served) -> None:
    """Every server of ``/server`` with its values, time zone and groups."""
    recording = served.recording
    detection = await async_detect_generation(served.session, served.server.url)
    assert detection.generation is ApiGeneration.V1
    assert detection.tsdb is True  # the key exists from v2.0 on, on or off
    client = served.v1()
    fleet = await client.async_get_fleet()
    exchange = recording.exchange("server.full")
    records = {r["id"]: r for r in exchange.body["data"]}
    assert set(fleet.servers) == set(records)
    assert fleet.server_time == parsedate_to_datetime(exchange.headers["Date"])
    for sid, record in records.items():
        parsed, state, host = fleet.servers[sid], record["state"], record["host"]
        assert parsed.name == record["name"]
        assert parsed.last_active == _time(record["last_active"])
        if parsed.last_active is not None:
            assert parsed.last_active.tzinfo is UTC
        for key in ("cpu", "mem_used", "disk_used", "uptime", "net_in_transfer"):
            _same_number(getattr(parsed.state, key), state.get(key))
        assert parsed.host.mem_total == host.get("mem_total", 0)
        for ours, theirs in (("platform", "platform"), ("agent_version", "version")):
            assert getattr(parsed.host, ours) == host.get(theirs, "")
        assert parsed.host.arch == host.get("arch", "")
        assert parsed.ipv4 == record["geoip"].get("ip", {}).get("ipv4_addr", "")
    # Groups: many-to-many, names not unique; same-named groups are one.
    expected: dict[str, set[int]] = {}
    for item in recording.exchange("server-group.full").body.get("data") or []:
        expected.setdefault(item["group"]["name"], set()).update(item["servers"] or [])
    assert {k: set(v) for k, v in client.groups.items()} == expected
    for name, members in expected.items():
        assert set((await client.async_get_fleet(name)).servers) == members
        for summary in await client.async_list_servers():
            assert (summary.id in members) == (name in summary.groups)


@by_recording(V1, served=True)
async def test_v1_services_and_pings(served: Served) -> None:
    """Service summaries and each server's ping history."""
    recording, client = served.recording, served.v1()
    services = await client.async_get_services()
    recorded = recording.exchange("service.full").body["data"].get("services") or {}
    assert [s.id for s in services] == sorted(int(k) for k in recorded)
    for service in services:
        record = recorded[str(service.id)]
        assert service.name == record["service_name"]
        up, down = record["up"][-1], record["down"][-1]
        assert service.availability_today == pytest.approx(
            100 * up / (up + down) if up + down else None, abs=1e-3
        )
    for sid in (await client.async_get_fleet()).servers:
        records = recording.exchange(f"server-{sid}-service.full").body.get("data")
        pairs = _by_monitor(await client.async_get_ping_monitors(sid), records or [])
        for monitor, record in pairs:
            assert monitor.name == record["monitor_name"]
            assert monitor.points == len(record["created_at"])
            newest = max(record["created_at"])
            assert monitor.latest_at == _ms(newest)
            stamped = zip(record["created_at"], record["avg_delay"], strict=True)
            last = [d for t, d in stamped if t == newest][-1]
            assert monitor.latest_delay == (last if last > 0 else None)


@by_recording(V1, served=True)
async def test_v1_stream_frames(served: Served) -> None:
    """Frames of the admin's stream agree with the recorded values."""
    client = served.v1()
    await client.async_get_fleet()
    stream = served.recording.streams["ws.full"]
    assert stream.gaps
    assert all(1.5 <= gap <= 2.5 for gap in stream.gaps), stream.gaps  # every 2 s
    for raw in stream.frames:
        frame = client.parse_frame(json.dumps(raw))
        assert frame.unknown_ids == frame.missing_ids == frozenset()
        assert frame.fleet.server_time == _ms(raw["now"])
        for record in raw["servers"]:
            parsed = frame.fleet.servers[record["id"]]
            assert parsed.last_active == _time(record["last_active"])
            _same_number(parsed.state.cpu, record["state"].get("cpu"))
            # Frames carry no addresses: they come from the inventory.
            assert parsed.ipv4 == client.inventory[record["id"]].ipv4


@by_recording([r for r in V1 if "member" in r.meta["roles"]], served=True)
async def test_v1_member_and_limited_tokens(served: Served) -> None:
    """A member lists only its server but streams all; an allow-list narrows all."""
    member = served.v1("member")
    assert list((await member.async_get_fleet()).servers) == [4]
    assert await member.async_get_groups() == {}
    frames = served.recording.streams["ws.member"].frames
    frame = member.parse_frame(json.dumps(frames[0]))
    assert frame.unknown_ids == {1, 2, 3}  # streamed, not listed: left out
    assert set(frame.fleet.servers) == {4}
    # The member's own server streams its full host.
    assert frame.fleet.servers[4].host.agent_version == "2.3.3"
    limited = served.v1("limited")
    assert list((await limited.async_get_fleet()).servers) == [1]
    assert {k: set(v) for k, v in limited.groups.items()} == {"web": {1}}


@by_recording([r for r in V1 if "expired" in r.meta["roles"]], served=True)
async def test_v1_refusals(served: Served) -> None:
    """A missing scope names it; expired and unknown tokens are auth failures."""
    missing = served.v1("missing-scope")
    await missing.async_get_fleet()  # inventory and server scopes are there
    with pytest.raises(NezhaScopeError) as err:
        await missing.async_get_services()
    assert err.value.scope == "nezha:service:read"
    for role in ("expired", "bogus"):
        with pytest.raises(NezhaAuthError) as refused:
            await served.v1(role).async_get_fleet()
        assert not isinstance(refused.value, NezhaScopeError)
    assert served.server.requests[-1] == ("/api/v1/server", "bogus")
    with pytest.raises(NezhaAuthError):
        await served.v1("bogus").async_connect_stream()
    # Without a personal token the JWT middleware answers a bare "unauthorized"
    # with HTTP 200 (no strike): what a dashboard without personal tokens says.
    with pytest.raises(NezhaPatUnsupportedError):
        check_envelope(_raw(served.recording.exchange("server.none")))


def test_v1_waf_block_page() -> None:
    """After a refused token the live WAF answers everything with its page."""
    recording = next(r for r in V1 if r.meta["waf"])
    with pytest.raises(NezhaAuthError):
        check_envelope(_raw(recording.exchange("server.bogus")))
    with pytest.raises(NezhaWafBlockedError):
        check_envelope(_raw(recording.exchange("server.none")))
    assert recording.streams["ws.bogus"].status == 403


@by_recording([D1], served=True)
async def test_v1_groups_quotas_and_notes_on_a_real_dashboard(served: Served) -> None:
    """Groups, traffic rules and the admin frontend's notes, as the real D1 sent them."""
    client = served.v1()
    # Groups: web = {1, 2} and {3} (same name), db = {2, 3}.
    groups = {s.id: s.groups for s in await client.async_list_servers()}
    assert groups == {1: ("web",), 2: ("db", "web"), 3: ("db", "web"), 4: ()}
    overview = await client.async_get_service_overview()
    fleet = await client.async_get_fleet()
    limited_quotas = (await served.v1("limited").async_get_service_overview()).quotas
    data = served.recording.exchange("service.full").body["data"]
    stats = data["cycle_transfer_stats"]
    assert set(overview.quotas) == {1, 2}
    for rule_id, quota in overview.quotas.items():
        record = stats[str(rule_id)]
        assert quota.name == record["name"]
        assert quota.limit == record["max"] == 10 * 1024**3
        assert quota.cycle_start == datetime.fromisoformat(record["from"])
        assert quota.cycle_end == datetime.fromisoformat(record["to"])
        assert quota.used == {int(k): v for k, v in record["transfer"].items()}
    # Server 2 is under both rules; the limited token sees only rule 1.
    assert 2 in overview.quotas[1].used
    assert list(overview.quotas[2].used) == [2]
    assert set(limited_quotas) == {1}
    # Notes: billing + plan (auto-renewal, monthly), never expires, free text, none.
    one, two = fleet.servers[1].public_note, fleet.servers[2].public_note
    assert one is not None and one.billing is not None and one.plan is not None
    assert (one.billing.auto_renewal, one.billing.cycle) == (True, "Month")
    assert one.billing.end == datetime(2026, 12, 23, 9, 18, 38, tzinfo=UTC)
    assert one.plan.network_routes == ("CN2 GIA",)
    assert two is not None and two.billing is not None
    assert two.billing.never_expires
    assert fleet.servers[3].public_note is None  # free text: ignored quietly
    assert fleet.servers[4].public_note is None


@by_recording(V0, served=True)
async def test_v0_fleet_values(served: Served) -> None:
    """Every server of ``/server/details`` with its values and tags."""
    recording, client = served.recording, served.v0()
    detection = await async_detect_generation(served.session, served.server.url)
    assert detection.generation is ApiGeneration.V0
    fleet = await client.async_get_fleet()
    details = recording.exchange("server-details.full").body["result"]
    records = {r["id"]: r for r in details}
    assert set(fleet.servers) == set(records)
    for sid, record in records.items():
        parsed = fleet.servers[sid]
        assert (parsed.name, parsed.tag) == (record["name"], record["tag"])
        if record["last_active"] == GO_ZERO_UNIX:
            # Never reported since the dashboard started: unknown, not zeros.
            assert parsed.last_active is parsed.state.cpu is None
            continue
        assert parsed.last_active == datetime.fromtimestamp(record["last_active"], UTC)
        status, host = record["status"], record["host"]
        for key, go in (("cpu", "CPU"), ("mem_used", "MemUsed"), ("uptime", "Uptime")):
            _same_number(getattr(parsed.state, key), status[go])
        assert parsed.host.mem_total == host["MemTotal"]
        assert parsed.host.agent_version == host["Version"]
    tagged = recording.exchange("server-details-tag.full")
    fleet = await client.async_get_fleet(tagged.query["tag"])
    assert set(fleet.servers) == {r["id"] for r in tagged.body["result"]}
    summaries = await client.async_list_servers()
    assert {s.id: s.groups for s in summaries} == {
        sid: (r["tag"],) if r["tag"] else () for sid, r in records.items()
    }


@by_recording(V0, served=True)
async def test_v0_ping_history_and_refusals(served: Served) -> None:
    """Several probes share a minute (the newest is its last); wrong tokens refused."""
    client = served.v0()
    for sid in served.recording.meta["server_ids"]:
        records = served.recording.exchange(f"monitor-{sid}.full").body["result"]
        pairs = _by_monitor(await client.async_get_ping_monitors(sid), records or [])
        for monitor, record in pairs:
            assert monitor.points == len(record["created_at"])
            assert monitor.latest_at == _ms(max(record["created_at"]))
    with pytest.raises(NezhaNotFoundError):
        await client.async_get_ping_monitors(999999)
    # A wrong token, a ``Bearer`` prefix: HTTP 200 with code 403, an auth error.
    with pytest.raises(NezhaAuthError):
        await served.v0("bogus").async_get_fleet()
    bearer = served.recording.exchange("server-details.bearer")
    assert (bearer.status, bearer.body["code"]) == (200, 403)
