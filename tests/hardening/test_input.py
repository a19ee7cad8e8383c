"""Odd or hostile input: names, redirects, tokens, floods of bad records, slowness."""

import itertools
import json
import logging
import re

import aiohttp
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_API_TOKEN
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest

from custom_components.nezha import config_flow, coordinator
from custom_components.nezha.client import (
    NezhaError,
    NezhaTimeoutError,
    NezhaTokenError,
    NezhaV0Client,
    NezhaV1Client,
    Server,
)
from custom_components.nezha.client.fleet import MAX_REMEMBERED
from custom_components.nezha.client.parse import MAX_TEXT_LENGTH, clean_text
from custom_components.nezha.const import DOMAIN
from nezha_dev.simulator import Fault, NezhaSimulator
from tests.client.common import DETAILS, expect, json_app, serve
from tests.config_flow.helpers import (
    TOKENS,
    assert_form_error,
    start_user_flow,
    submit,
    user_input,
)
from tests.hardening.helpers import ok, record
from tests.helpers import (
    PAT,
    SERVERS,
    TOKEN,
    nezha_entry,
    server_device,
    setup_integration,
    start_live,
    until,
    v0_entry,
    v1_entry,
)
from tests.reliability.helpers import ours, wall

pytestmark = pytest.mark.usefixtures("socket_enabled")

FORGED = "web-01\n2026-06-01 12:00:00.000 ERROR (MainThread) [homeassistant] forged"
EVIL = FORGED + "\x1b[31m red\x00\u202egnp.exe\u2028\x85end\t"
SHOWN = (
    "web-01 2026-06-01 12:00:00.000 ERROR (MainThread) [homeassistant] forged"
    "[31m redgnp.exe  end"
)
HUGE = "<b>" + "x" * 100_000 + "</b>"
SENSOR = "cpu\x00\x1b[0m\u202ecore"
# Any control character, bidi control or line/paragraph separator.
UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
HK, FRA = 1, 2


def test_clean_text() -> None:
    """Breaks become spaces, the rest goes, long text ends "…"; errors escape."""
    assert clean_text(EVIL) == SHOWN
    assert clean_text("hk-edge-01") == "hk-edge-01"
    assert clean_text("东京 web-03 🇯🇵") == "东京 web-03 🇯🇵"
    assert clean_text("\x1b\x00") == ""
    capped = clean_text(HUGE)
    assert len(capped) == MAX_TEXT_LENGTH and capped.endswith("…")
    # Whatever ends up in an error message is shown escaped, and capped.
    err = NezhaError(f"/api: got '{EVIL}'")
    assert not UNSAFE.search(str(err))
    assert "\\n2026-06-01" in str(err)
    assert len(str(NezhaError(HUGE))) <= 1000


@pytest.mark.parametrize(
    ("generation", "temperatures"),
    [("v0", "status.Temperatures"), ("v1", "state.temperatures")],
)
async def test_names_are_clean(
    hass: HomeAssistant,
    sim: NezhaSimulator,
    caplog: pytest.LogCaptureFixture,
    generation: str,
    temperatures: str,
) -> None:
    """Device names, entity ids and the online/offline log line (v1: REST and stream)."""
    sim.set_malformed(HK, "name", EVIL)
    sim.set_malformed(HK, temperatures, [{"Name": SENSOR, "Temperature": 40.5}])
    sim.set_malformed(FRA, "name", HUGE)
    if generation == "v0":
        entry = v0_entry(sim.url)
        await setup_integration(hass, entry)
        sim.set_online(HK, False)
        sim.shift_clock(120)  # the last report is now older than the threshold
        await entry.runtime_data.async_refresh()
        await hass.async_block_till_done(wait_background_tasks=True)
    else:
        live = await start_live(hass, sim, scan_interval=1)
        entry = live.entry
        sim.set_online(HK, False)
        await until(lambda: live.online(HK) == "off", "server 1 offline")

    hk, fra = server_device(hass, entry, HK), server_device(hass, entry, FRA)
    assert hk is not None and fra is not None
    assert hk.name == SHOWN
    assert fra.name is not None and len(fra.name) == MAX_TEXT_LENGTH
    registry = er.async_get(hass)
    for entity in er.async_entries_for_config_entry(registry, entry.entry_id):
        assert not UNSAFE.search(entity.entity_id), entity.entity_id
        assert len(entity.entity_id) <= 255
    for device in dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id):
        assert not UNSAFE.search(device.name or ""), device.name
    uid = f"{entry.entry_id}_{HK}_temperature_cpu[0mcore"
    assert registry.async_get_entity_id("sensor", DOMAIN, uid) is not None
    lines = ours(caplog, logging.NOTSET)
    assert any("web-01 2026-06-01" in line for line in lines)  # the name was logged
    assert not [line for line in lines if UNSAFE.search(line)]


HUGE_TOKEN = "A" * 1_000_000
CLIENTS = {"v0": NezhaV0Client, "v1": NezhaV1Client}


@pytest.mark.parametrize("token", [HUGE_TOKEN, "", " ", "   ", "nzp_x\r\nX-Evil: 1"])
@pytest.mark.parametrize("generation", ["v0", "v1"])
async def test_unusable_token_is_named_and_never_sent(
    hass: HomeAssistant, token: str, generation: str
) -> None:
    """A huge, blank or CRLF token: form, reauth, client refuse it; none sent."""
    async with (
        NezhaSimulator(generation=generation, servers=2) as sim,
        aiohttp.ClientSession() as session,
    ):
        result = await submit(
            hass, await start_user_flow(hass), user_input(sim.url, token)
        )
        assert_form_error(result, "user", "invalid_token")
        entry = nezha_entry(sim.url, generation, TOKENS[generation])
        entry.add_to_hass(hass)
        result = await entry.start_reauth_flow(hass)
        result = await submit(hass, result, {CONF_API_TOKEN: token})
        assert_form_error(result, "reauth_confirm", "invalid_token", name=entry.title)
        client = CLIENTS[generation](session, sim.url, token)
        await expect(NezhaTokenError, client.async_get_fleet())
        if isinstance(client, NezhaV1Client):
            await expect(NezhaTokenError, client.async_connect_stream())
        assert sim.requests == []


FRAMES = 50
RECORDS = 1000
FIELDS = (
    *("cpu", "mem_used", "swap_used", "disk_used", "net_in_speed", "net_out_speed"),
    *("uptime", "load_1", "load_5", "load_15", "process_count"),
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
        logged = ours(caplog, logging.WARNING)
        assert len(logged) == FRAMES
        assert logged[0].startswith(
            f"WARNING Unexpected values in {RECORDS} server record(s)"
        )
        assert "server 1: state.cpu, state.mem_used" in logged[0]
        assert logged[0].endswith(f"and {RECORDS - 5} more")
        # 50,000 problems logged, a bounded number remembered.
        assert client._problems.remembered == MAX_REMEMBERED
        # The same problems again: nothing new, nothing logged.
        client.parse_frame(bad_frame(FRAMES - 1))
        assert len(ours(caplog, logging.WARNING)) == FRAMES
        # Records of servers that are not in the inventory are not even read.
        client.parse_frame(bad_frame(FRAMES, first_id=RECORDS + 1))
        assert len(ours(caplog, logging.WARNING)) == FRAMES


async def test_repeated_bad_answers_log_once(caplog: pytest.LogCaptureFixture) -> None:
    """v0: the same 1,000 bad records in every poll: one warning in all."""
    records = [record(sid, status={"CPU": "x"}) for sid in range(1, RECORDS + 1)]
    async with (
        serve(json_app({DETAILS: ok(records)})) as url,
        aiohttp.ClientSession() as session,
    ):
        client = NezhaV0Client(session, url, TOKEN)
        for _ in range(5):
            await client.async_get_fleet()
    logged = ours(caplog, logging.WARNING)
    assert len(logged) == 1
    assert f"in {RECORDS} server record(s)" in logged[0]


DEADLINE = 1.0


async def test_setup_and_form_check_have_one_deadline(
    hass: HomeAssistant, v1_sim: NezhaSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/server and /server-group take 0.7 s each: setup and the form give up at 1 s."""
    monkeypatch.setattr(coordinator, "UPDATE_DEADLINE", DEADLINE, raising=False)
    monkeypatch.setattr(config_flow, "VALIDATE_DEADLINE", DEADLINE, raising=False)
    v1_sim.slow_seconds = 0.7  # in time alone, not two together
    v1_sim.inject_fault(Fault.SLOW, count=None, path=SERVERS)  # and /server-group
    entry = v1_entry(v1_sim)
    entry.add_to_hass(hass)
    started = wall()
    await hass.config_entries.async_setup(entry.entry_id)
    assert wall() - started < DEADLINE + 0.3
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.reason is not None
    assert "did not answer in time" in entry.reason
    assert f"within {DEADLINE:g} s" in entry.reason
    assert await hass.config_entries.async_remove(entry.entry_id)
    # The form's check: four requests in a row, "timeout" once the deadline passed.
    result = await start_user_flow(hass)
    started = wall()
    result = await submit(hass, result, user_input(v1_sim.url, PAT))
    assert wall() - started < DEADLINE + 0.3
    assert result.get("errors") == {"base": "timeout"}, result
    # One request timing out is "timeout" too: the dashboard is there, it is slow.
    err = NezhaTimeoutError("/api/v1/server/list: no answer within 10 s")
    assert config_flow.error_key(err) == "timeout"
