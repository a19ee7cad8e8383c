"""Bounds on what a dashboard may send: refused or cut whole, and said in an issue."""

import asyncio
import contextlib
from datetime import timedelta
from logging import WARNING
from typing import Any

import aiohttp
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest

from custom_components.nezha import sensor as sensor_module
from custom_components.nezha.client import (
    NezhaTooLargeError,
    NezhaV0Client,
    NezhaV1Client,
)
from custom_components.nezha.client.stream import Backoff, StreamRunner
from nezha_dev.simulator import NezhaSimulator
from tests.client.common import stream_frames
from tests.config_flow.helpers import start_user_flow, submit, user_input
from tests.hardening.helpers import (
    MONITOR,
    dashboard,
    entity_keys,
    issue,
    loaded,
    monitors,
    placeholders,
    record,
    setup,
)
from tests.helpers import (
    ENTRY_ID,
    PAT,
    TOKEN,
    server_ids_with_devices,
    setup_frozen,
    tick,
    until,
    v1_entry,
)

pytestmark = pytest.mark.usefixtures("socket_enabled")
NZ = "custom_components.nezha."  # monkeypatch targets


async def test_oversized_answer_is_refused_with_a_message(hass: HomeAssistant) -> None:
    """7 MiB of details: not read, said (the form too, not "not a Nezha dashboard")."""
    envelope = b'{"code":0,"message":"success","result":['
    async with loaded(hass, envelope + b"]}" + b" " * (7 * 1024 * 1024), []) as entry:
        assert entry.state is ConfigEntryState.SETUP_RETRY
        assert entry.reason is not None
        assert "larger than any a Nezha dashboard sends" in entry.reason
        assert "6 MiB" in entry.reason
        assert "6 MiB" in placeholders(hass, "response_too_large")["error"]
        await hass.config_entries.async_remove(entry.entry_id)
        assert issue(hass, "response_too_large") is None
    async with dashboard(envelope + b"{}," * 1_000_000 + b"{}]", []) as url:
        result = await submit(hass, await start_user_flow(hass), user_input(url))
    assert result.get("errors") == {"base": "too_large"}, result


async def test_servers_beyond_the_limit_are_left_out_and_said(
    hass: HomeAssistant, v0_sim: NezhaSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the limit at 3, five servers: three devices, none removed, an issue."""
    monkeypatch.setattr(f"{NZ}client.fleet.MAX_SERVERS", 3)
    monkeypatch.setattr(f"{NZ}coordinator.MAX_SERVERS", 3)
    entry = await setup(hass, v0_sim.url)
    assert entry.state is ConfigEntryState.LOADED
    assert len(server_ids_with_devices(hass, entry)) == 3
    expected = {"title": "Bounds", "count": "5", "limit": "3"}
    assert placeholders(hass, "too_many_servers") == expected
    assert entry.runtime_data.client is not None
    monkeypatch.setattr(f"{NZ}client.fleet.MAX_SERVERS", 5)
    await entry.runtime_data.async_refresh()
    await hass.async_block_till_done()
    assert len(server_ids_with_devices(hass, entry)) == 5
    assert issue(hass, "too_many_servers") is None


async def test_client_reads_at_most_max_servers_and_points() -> None:
    """3,500 records: the first 3,000 are read (incomplete); 10,000 points: 2,880."""
    records = [record(sid) for sid in range(1, 3501)]
    async with (
        dashboard(records, monitors(1, points=10_000)) as url,
        aiohttp.ClientSession() as session,
    ):
        client = NezhaV0Client(session, url, TOKEN)
        fleet = await client.async_get_fleet()
        (monitor,) = await client.async_get_ping_monitors(1)
    assert len(fleet.servers) == 3000
    assert fleet.left_out == 500
    assert not fleet.complete and fleet.may_have(3400)
    assert monitor.points == 2880  # the newest
    assert monitor.latest_delay == 10.0 + 9_999


async def test_monitors_beyond_the_limit_get_no_sensor(hass: HomeAssistant) -> None:
    """60 monitors on one server: 50 ping sensors (lowest ids) and an issue."""
    async with loaded(hass, [record(1)], monitors(60)):
        # The latency sensors (each has 24 h siblings too).
        assert entity_keys(hass, r"1_ping_\d+") == {f"1_ping_{m}" for m in range(1, 51)}
        expected = {"title": "Bounds", "count": "1", "servers": "srv-1", "limit": "50"}
        assert placeholders(hass, "too_many_monitors") == expected
    assert issue(hass, "too_many_monitors") is None  # gone with the entry


async def test_ping_sensors_of_a_round_that_ends_between_platform_setups(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ping round ending before the sensor platform's set-up still gives sensors."""
    answered = asyncio.Event()
    real_setup = sensor_module.async_setup_entry

    async def sensor_setup_after_the_round(
        hass: HomeAssistant, entry: Any, add: Any
    ) -> None:
        coordinator = entry.runtime_data
        await until(lambda: bool(coordinator.entity_budget.admitted), "admission")
        answered.set()
        await until(lambda: coordinator.side.first_round_done, "the ping round")
        await real_setup(hass, entry, add)

    monkeypatch.setattr(
        sensor_module, "async_setup_entry", sensor_setup_after_the_round
    )
    async with loaded(hass, [record(1)], monitors(3), monitors_after=answered):
        assert entity_keys(hass, r"1_ping_\d+") == {"1_ping_1", "1_ping_2", "1_ping_3"}


async def test_oversized_ping_history_raises_the_issue(hass: HomeAssistant) -> None:
    """A ping answer over its cap: the metrics carry on, the issue names it."""
    async with loaded(hass, [record(1)], monitors(1, points=150_000)) as entry:
        assert entry.state is ConfigEntryState.LOADED
        assert MONITOR in placeholders(hass, "response_too_large")["error"]


def temperatures(hass: HomeAssistant, sid: int) -> set[str]:
    """Names of a server's temperature entities."""
    return {k.split("_", 2)[2] for k in entity_keys(hass, rf"{sid}_temperature_.*")}


def sensors(sim: NezhaSimulator, names: list[str]) -> None:
    """Give server 1 a v0 ``Temperatures`` list of these names."""
    value = [{"Name": name, "Temperature": 40.0} for name in names]
    sim.set_malformed(1, "status.Temperatures", value)


async def test_temperature_sensors_come_go_and_stay_bounded(
    hass: HomeAssistant, frozen: FrozenDateTimeFactory
) -> None:
    """A sensor gone 24 h goes and comes back; 300 new names a poll: 64 and an issue."""
    async with NezhaSimulator(servers=2, token=TOKEN, seed=1) as sim:
        sensors(sim, ["cpu", "nvme"])
        entry = await setup(hass, sim.url)
        assert temperatures(hass, 1) == {"cpu", "nvme"}
        sensors(sim, ["cpu"])
        await tick(hass, frozen)
        await tick(hass, frozen, delta=timedelta(hours=23))
        assert temperatures(hass, 1) == {"cpu", "nvme"}  # within the grace
        await tick(hass, frozen, delta=timedelta(hours=1))
        assert temperatures(hass, 1) == {"cpu"}
        sensors(sim, ["cpu", "nvme"])
        await tick(hass, frozen)
        assert temperatures(hass, 1) == {"cpu", "nvme"}

        for round_ in range(5):
            sensors(sim, [f"r{round_}_s{i}" for i in range(300)])
            await tick(hass, frozen)
        assert len(temperatures(hass, 1)) == 64
        found = placeholders(hass, "too_many_temperatures")
        assert (found["count"], found["limit"]) == ("1", "64")
        # The other server's own sensors are untouched.
        assert temperatures(hass, 2) == {
            t.name for t in sim.fleet.status(2).temperatures or ()
        }
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_v1_limits_count_what_is_read(
    v1_sim: NezhaSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Limit 3: five cut, a group of 3 read whole; past the scan limit: left out."""
    monkeypatch.setattr(f"{NZ}client.fleet.MAX_SERVERS", 3)
    async with aiohttp.ClientSession() as session:
        client = NezhaV1Client(session, v1_sim.url, PAT)
        everything = await client.async_get_fleet()
        assert (len(everything.servers), everything.left_out) == (3, 2)
        group = await client.async_get_fleet("Production")
        assert (set(group.servers), group.left_out) == ({1, 2, 5}, 0)
        assert group.complete
        (text,) = await stream_frames(client, v1_sim)
        frame = client.parse_frame(text, "Production")
        assert set(frame.fleet.servers) == {1, 2, 5}
        assert frame.unknown_ids == frame.missing_ids == frozenset()

        monkeypatch.undo()
        monkeypatch.setattr(f"{NZ}client.v1.MAX_RECORDS", 4)
        client = NezhaV1Client(session, v1_sim.url, PAT)
        fleet = await client.async_get_fleet()
        assert (len(fleet.servers), fleet.left_out, fleet.complete) == (4, 1, False)
        (text,) = await stream_frames(client, v1_sim)
        frame = client.parse_frame(text)
    assert frame.fleet.left_out == 1
    assert frame.missing_ids == frozenset()  # a frame not read to its end


async def test_v1_frame_over_the_cap_is_a_too_large_error(
    v1_sim: NezhaSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stream reports an oversized frame as such (the coordinator raises an issue)."""
    monkeypatch.setattr(f"{NZ}client.v1.FLEET_BODY_BYTES", 1024)  # five servers: more
    monkeypatch.setattr(f"{NZ}client.stream.FLEET_BODY_BYTES", 1024)
    downs: list[Exception] = []
    async with aiohttp.ClientSession() as session:
        runner = StreamRunner(
            NezhaV1Client(session, v1_sim.url, PAT),
            on_frame=lambda frame: None,
            on_down=downs.append,
            on_auth_failure=lambda err: None,
            backoff=Backoff(base=10, cap=10),
        )
        task = asyncio.create_task(runner.run())
        await until(lambda: bool(downs), "the frame refused")
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert isinstance(downs[0], NezhaTooLargeError)
    assert "larger than" in str(downs[0])


def enabled(hass: HomeAssistant) -> list[er.RegistryEntry]:
    """The entry's enabled registry entries."""
    entries = er.async_entries_for_config_entry(er.async_get(hass), ENTRY_ID)
    return [e for e in entries if e.disabled_by is None]


async def test_small_budget_whole_servers_then_room_is_used(
    hass: HomeAssistant, v0_sim: NezhaSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A budget of 40 for five servers: whole servers only, then the rest later."""
    monkeypatch.setattr(f"{NZ}budget.ENTITY_LIMIT", 40)
    entry = await setup(hass, v0_sim.url)
    assert entry.state is ConfigEntryState.LOADED
    assert len(enabled(hass)) <= 40
    admitted = server_ids_with_devices(hass, entry)
    assert 0 < len(admitted) < 5
    found = placeholders(hass, "too_many_entities")
    # Servers without any entity, and admitted ones whose ping sensors
    # (found after the first ping round) no longer fitted.
    assert int(found["count"]) >= 5 - len(admitted)
    assert found["limit"] == "40"
    assert int(found["wanted"]) > 40

    # The user disables entities: the servers left out come in by themselves.
    registry = er.async_get(hass)
    for item in enabled(hass):
        if item.entity_id.startswith("sensor."):
            registry.async_update_entity(
                item.entity_id, disabled_by=er.RegistryEntryDisabler.USER
            )
    await entry.runtime_data.async_refresh()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert server_ids_with_devices(hass, entry) == set(v0_sim.fleet.servers)
    assert issue(hass, "too_many_entities") is None


@pytest.mark.timeout(600)
async def test_1200_servers_in_one_entry(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """1,200 servers: a repair issue, no "please report" line, nothing half-added."""
    async with NezhaSimulator(servers=1200, token=TOKEN, seed=1) as sim:
        entry = await setup(hass, sim.url)
        assert entry.state is ConfigEntryState.LOADED
        await entry.runtime_data.async_refresh()  # ping sensors came after setup
        await hass.async_block_till_done(wait_background_tasks=True)

        assert len(enabled(hass)) <= 10_000
        warned = [r.getMessage() for r in caplog.records if r.levelno >= WARNING]
        assert not [line for line in warned if "maximum" in line]
        assert not [r for r in caplog.records if "report" in r.getMessage().lower()]
        found = placeholders(hass, "too_many_entities")
        with_devices = server_ids_with_devices(hass, entry)
        assert int(found["count"]) == 1200 - len(with_devices) > 0
        assert int(found["wanted"]) > 10_000
        # Every server that has a device has all of its entities.
        servers = {int(k.split("_", 1)[0]) for k in entity_keys(hass, r"\d+_.*")}
        assert servers == with_devices
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_full_budget_holds_a_known_servers_new_sensors_back(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """A new ping monitor of a known server waits while the budget is full."""
    details, found = [record(1)], monitors(1)
    async with loaded(hass, details, found) as entry:
        coordinator = entry.runtime_data
        assert entity_keys(hass, r"1_ping_\d+") == {"1_ping_1"}
        coordinator.entity_budget.limit = len(enabled(hass))  # full
        found.extend(monitors(2)[1:])

        async def next_ping_round() -> None:
            freezer.tick(timedelta(seconds=301))  # past the ping interval
            details[0] = record(1)  # still reporting
            await coordinator.async_refresh()
            await hass.async_block_till_done(wait_background_tasks=True)

        await next_ping_round()
        assert entity_keys(hass, r"1_ping_\d+") == {"1_ping_1"}
        # The server, counted once.
        assert placeholders(hass, "too_many_entities")["count"] == "1"
        coordinator.entity_budget.limit += 1
        await next_ping_round()
        assert entity_keys(hass, r"1_ping_\d+") == {"1_ping_1", "1_ping_2"}
        assert issue(hass, "too_many_entities") is None


async def test_v1_services_wait_for_room(
    hass: HomeAssistant, v1_sim: NezhaSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Service entities that do not fit are left out, said, and come with room."""
    first = v1_entry(v1_sim)
    await setup_frozen(hass, first)
    keys = {e.unique_id for e in enabled(hass)}
    service_keys = {k for k in keys if "_service_" in k}
    assert service_keys
    assert await hass.config_entries.async_remove(first.entry_id)
    # Room for everything but the services (and the 2 % kept back for servers).
    limit = len(keys) - len(service_keys)
    while limit - limit // 50 < len(keys) - len(service_keys):
        limit += 1
    assert limit < len(keys)
    monkeypatch.setattr(f"{NZ}budget.ENTITY_LIMIT", limit)
    entry = v1_entry(v1_sim)
    await setup_frozen(hass, entry)
    assert len(enabled(hass)) == limit
    shown = {e.unique_id for e in enabled(hass)} & service_keys
    assert len(shown) < len(service_keys)
    assert placeholders(hass, "too_many_entities")["limit"] == str(limit)
    entry.runtime_data.entity_budget.limit = len(keys)
    await entry.runtime_data.async_refresh()
    await hass.async_block_till_done()  # not the stream's task: it runs on
    assert {e.unique_id for e in enabled(hass)} == keys
    assert issue(hass, "too_many_entities") is None
