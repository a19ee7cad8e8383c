"""A flood of bad records: one warning per answer at most, bounded memory."""

from __future__ import annotations

import itertools
import json
import logging

import aiohttp
import pytest

from custom_components.nezha.client import NezhaV0Client, NezhaV1Client, Server
from custom_components.nezha.client.fleet import MAX_REMEMBERED
from tests.client.common import DETAILS, json_app, serve
from tests.helpers import PAT, TOKEN

pytestmark = pytest.mark.usefixtures("socket_enabled")

FRAMES = 50
RECORDS = 1000


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The integration's warnings."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("custom_components.nezha") and r.levelno == logging.WARNING
    ]


FIELDS = (
    "cpu",
    "mem_used",
    "swap_used",
    "disk_used",
    "net_in_speed",
    "net_out_speed",
    "uptime",
    "load_1",
    "load_5",
    "load_15",
    "process_count",
)
PAIRS = list(itertools.combinations(FIELDS, 2))


def bad_frame(frame: int, first_id: int = 1) -> str:
    """A stream frame of ``RECORDS`` servers, two fields of each text (new each time)."""
    bad = dict.fromkeys(PAIRS[frame], "high")
    return json.dumps(
        {
            "now": 1780000000000,
            "servers": [
                {"id": sid, "name": f"s{sid}", "state": bad}
                for sid in range(first_id, first_id + RECORDS)
            ],
        }
    )


async def test_stream_flood_logs_one_warning_per_frame_at_most(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """50 frames of 1,000 records, new problems each time: 50 lines, not 50,000."""
    async with aiohttp.ClientSession() as session:
        client = NezhaV1Client(session, "http://127.0.0.1:9", PAT)
        client.inventory = {
            sid: Server(id=sid, name=f"s{sid}") for sid in range(1, RECORDS + 1)
        }
        for frame in range(FRAMES):
            client.parse_frame(bad_frame(frame))
        logged = warnings(caplog)
        assert len(logged) == FRAMES
        assert logged[0].startswith(f"Unexpected values in {RECORDS} server record(s)")
        assert "server 1: state.cpu, state.mem_used" in logged[0]
        assert logged[0].endswith(f"and {RECORDS - 5} more")
        # 50,000 problems logged, a bounded number remembered.
        assert client._problems.remembered == MAX_REMEMBERED
        # The same problems again: nothing new, nothing logged.
        client.parse_frame(bad_frame(FRAMES - 1))
        assert len(warnings(caplog)) == FRAMES
        # Records of servers that are not in the inventory are not even read.
        client.parse_frame(bad_frame(FRAMES, first_id=RECORDS + 1))
        assert len(warnings(caplog)) == FRAMES


async def test_repeated_bad_answers_log_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """v0: the same 1,000 bad records in every poll: one warning in all."""
    records = [
        {
            "id": sid,
            "name": f"s{sid}",
            "last_active": 1780000000,
            "status": {"CPU": "x"},
        }
        for sid in range(1, RECORDS + 1)
    ]
    body = {"code": 0, "message": "success", "result": records}
    async with (
        serve(json_app({DETAILS: body})) as url,
        aiohttp.ClientSession() as session,
    ):
        client = NezhaV0Client(session, url, TOKEN)
        for _ in range(5):
            await client.async_get_fleet()
    logged = warnings(caplog)
    assert len(logged) == 1
    assert f"in {RECORDS} server record(s)" in logged[0]
