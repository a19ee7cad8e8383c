"""Traffic quotas, services over 30 days and public notes from a v1/v2 dashboard."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp
from freezegun.api import FrozenDateTimeFactory
import pytest

from custom_components.nezha.client import (
    NezhaV1Client,
    ServiceOverview,
    TransferQuota,
    parse_public_note,
)
from custom_components.nezha.client.quota import parse_quotas
from custom_components.nezha.client.v1 import SERVICES_PATH
from custom_components.nezha.client.v1_parse import parse_time
from nezha_dev.simulator import NezhaSimulator
from nezha_dev.simulator.services import CYCLE_RULES, TIB, cycle_transfer_json
from nezha_dev.simulator.v1_render import Viewer
from tests.client.common import FROZEN_AT, json_app, serve, stream_frames, v1_sim
from tests.helpers import PAT

SHANGHAI = timezone(timedelta(hours=8))

pytestmark = pytest.mark.usefixtures("socket_enabled")


@pytest.fixture
async def frozen(freezer: FrozenDateTimeFactory) -> AsyncIterator[NezhaSimulator]:
    """Seven servers of seed 1 as a v2.3.7 dashboard, on a frozen clock."""
    freezer.move_to(FROZEN_AT)
    async with v1_sim(servers=7) as simulator:
        yield simulator


@pytest.fixture
def client(session: aiohttp.ClientSession, frozen: NezhaSimulator) -> NezhaV1Client:
    """A client with the admin PAT."""
    return NezhaV1Client(session, frozen.url, PAT)


# -- cycle_transfer_stats --------------------------------------------------------------


def test_quota_of_the_reference_answer() -> None:
    """The example of nezha-api.md (B.7): one rule, one server."""
    stats = {
        "4": {
            "name": "Monthly 1 TiB",
            "from": "2026-08-01T00:00:00+08:00",
            "to": "2026-09-01T00:00:00+08:00",
            "max": 1099511627776,
            "min": 0,
            "server_name": {"1": "hk-edge-01"},
            "transfer": {"1": 412316860416},
            "next_update": {"1": "2026-08-17T12:01:00.123+08:00"},
        }
    }
    assert parse_quotas(stats, parse_time) == {
        4: TransferQuota(
            id=4,
            name="Monthly 1 TiB",
            cycle_start=datetime(2026, 8, 1, tzinfo=SHANGHAI),
            cycle_end=datetime(2026, 9, 1, tzinfo=SHANGHAI),
            limit=TIB,
            used={1: 412316860416},
        )
    }


def test_quota_edge_values() -> None:
    """No maximum, nothing checked yet, bad ids and values, and junk."""
    stats: dict[str, Any] = {
        "2": {"name": "", "from": "0001-01-01T00:00:00Z", "to": None, "max": 0},
        "3": {
            "name": "big",
            "max": 2**64,  # beyond uint64: unusable, so no limit
            "transfer": {
                "1": 2**64 - 1,
                "2": -5,
                "3": 1.5,
                "4": True,
                "0": 7,
                "x": 7,
                "9" * 30: 7,
            },
        },
        "x": {"name": "not an id"},
        "0": {"name": "id zero"},
        "5": "not an object",
        "6": {"name": "bad map", "transfer": [1, 2]},
    }
    assert parse_quotas(stats, parse_time) == {
        2: TransferQuota(2, "Rule 2", None, None, None, {}),
        3: TransferQuota(3, "big", None, None, None, {1: 2**64 - 1}),
        6: TransferQuota(6, "bad map", None, None, None, {}),
    }
    assert parse_quotas(None, parse_time) == parse_quotas([], parse_time) == {}


async def test_overview_matches_the_simulator(
    frozen: NezhaSimulator, client: NezhaV1Client
) -> None:
    """Rules as the simulator renders them: two here, the third covers nobody."""
    overview = await client.async_get_service_overview()
    raw = cycle_transfer_json(frozen.fleet, Viewer(), frozen.now())
    assert sorted(raw) == ["1", "2"]  # "Spare quota" covers no server: left out
    monthly, weekly = overview.quotas[1], overview.quotas[2]
    assert monthly == TransferQuota(
        id=1,
        name="Monthly 1 TiB",
        cycle_start=datetime(2026, 8, 1, tzinfo=SHANGHAI),
        cycle_end=datetime(2026, 9, 1, tzinfo=SHANGHAI),
        limit=TIB,
        used={int(k): v for k, v in raw["1"]["transfer"].items()},
    )
    assert sorted(monthly.used) == [1, 2, 5, 6]  # the Production servers
    # 17 August 2026 is a Monday: the weekly cycle started this midnight.
    assert (weekly.cycle_start, weekly.cycle_end, weekly.limit) == (
        datetime(2026, 8, 17, tzinfo=SHANGHAI),
        datetime(2026, 8, 24, tzinfo=SHANGHAI),
        None,
    )
    assert sorted(weekly.used) == [2, 3, 7]  # the Lab servers and fra-db-02
    assert overview.services == await client.async_get_services()


async def test_overview_of_an_older_dashboard_lists_every_rule(
    freezer: FrozenDateTimeFactory, session: aiohttp.ClientSession
) -> None:
    """Before v2.1 rules covering nobody were listed, without their maps."""
    freezer.move_to(FROZEN_AT)
    async with NezhaSimulator(generation="v1", version="2.0.14") as sim:
        raw = cycle_transfer_json(
            sim.fleet, Viewer(), sim.now(), rules=CYCLE_RULES, filtered=False
        )
        assert set(raw["3"]) == {"name", "from", "to", "max", "min"}
        # That version has no personal tokens: parse its answer directly.
        quotas = parse_quotas(raw, parse_time)
    assert quotas[3].used == {} and quotas[3].limit == 500 * 1024**3


@pytest.mark.parametrize("data", [{}, [1]])
async def test_overview_of_an_empty_answer(
    session: aiohttp.ClientSession, data: object
) -> None:
    """``"data":{}`` (no services, no rules), and a data that is not an object."""
    routes = {SERVICES_PATH: {"success": True, "data": data}}
    async with serve(json_app(routes)) as url:
        overview = await NezhaV1Client(session, url, PAT).async_get_service_overview()
    assert overview == ServiceOverview(services=[], quotas={})


async def test_quota_follows_the_rules(
    frozen: NezhaSimulator, client: NezhaV1Client
) -> None:
    """A deleted rule disappears; time moves the traffic used."""
    before = (await client.async_get_service_overview()).quotas
    frozen.shift_clock(3600)
    later = (await client.async_get_service_overview()).quotas
    assert all(later[1].used[sid] > used for sid, used in before[1].used.items())
    frozen.v1.cycle_rules = [r for r in frozen.v1.cycle_rules if r.id != 1]
    assert list((await client.async_get_service_overview()).quotas) == [2]


# -- public notes ----------------------------------------------------------------------


async def test_notes_from_rest_and_the_first_frame(
    session: aiohttp.ClientSession,
) -> None:
    """Later frames keep the note; a newer one in a first frame replaces it."""
    async with v1_sim(servers=7) as sim:
        client = NezhaV1Client(session, sim.url, PAT)
        fleet = await client.async_get_fleet()
        notes = {sid: server.public_note for sid, server in fleet.servers.items()}
        for sid, server in sim.fleet.servers.items():
            assert notes[sid] == parse_public_note(server.public_note)
        assert {sid for sid, found in notes.items() if found} == {1, 2, 4, 6, 7}

        first, second = await stream_frames(client, sim, 2)
        assert "public_note" in first and "public_note" not in second
        for frame in (first, second):
            parsed = client.parse_frame(frame).fleet.servers
            assert {sid: s.public_note for sid, s in parsed.items()} == notes

        renewed = '{"billingDataMod":{"endDate":"2027-09-01T00:00:00+08:00"}}'
        sim.set_public_note(1, renewed)
        first, second = await stream_frames(client, sim, 2)
        assert client.parse_frame(first).fleet.servers[1].public_note == (
            parse_public_note(renewed)
        )
        kept = client.parse_frame(second).fleet.servers[1].public_note
        assert kept is not None and kept.billing is not None
        assert kept.billing.end == datetime(2027, 9, 1, tzinfo=SHANGHAI)
        assert client.inventory[1].public_note == kept
        # A note deleted on the dashboard is gone from /server at once.
        sim.set_public_note(1, "")
        assert (await client.async_get_fleet()).servers[1].public_note is None


def test_public_note_control_needs_a_v1_dashboard() -> None:
    sim = NezhaSimulator(servers=1)
    with pytest.raises(RuntimeError):
        sim.set_public_note(1, "{}")
