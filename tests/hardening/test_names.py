"""Names from the dashboard are cleaned before they reach devices, entities or logs.

A server name with a line break and a fake log prefix must not read as a log
record of its own; ESC (terminal colours), NUL and bidi overrides (U+202E shows
``exe.png`` as ``gnp.exe``) are dropped; a 100,000-character name is capped.
"""

from __future__ import annotations

import re

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_API_TOKEN, CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.nezha.client import NezhaError
from custom_components.nezha.client.parse import MAX_TEXT_LENGTH, clean_text
from custom_components.nezha.const import DOMAIN
from nezha_dev.simulator import NezhaSimulator
from tests.helpers import ENTRY_ID, TOKEN, server_device, start_live, until

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
    """Line breaks become spaces, the rest is dropped; long text is cut with "…"."""
    assert clean_text(EVIL) == SHOWN
    assert clean_text("hk-edge-01") == "hk-edge-01"
    assert clean_text("东京 web-03 🇯🇵") == "东京 web-03 🇯🇵"
    assert clean_text("\x1b\x00") == ""
    capped = clean_text(HUGE)
    assert len(capped) == MAX_TEXT_LENGTH and capped.endswith("…")


def test_error_messages_cannot_forge_a_line() -> None:
    """Whatever ends up in an error message is shown escaped, and capped."""
    err = NezhaError(f"/api: got '{EVIL}'")
    assert not UNSAFE.search(str(err))
    assert "\\n2026-06-01" in str(err)
    assert len(str(NezhaError(HUGE))) <= 1000


def set_evil_names(sim: NezhaSimulator, temperatures: str) -> None:
    """Server 1 gets the forged name and a hostile sensor, server 2 a huge name."""
    sim.set_malformed(HK, "name", EVIL)
    sim.set_malformed(HK, temperatures, [{"Name": SENSOR, "Temperature": 40.5}])
    sim.set_malformed(FRA, "name", HUGE)


def assert_clean(
    hass: HomeAssistant, entry: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """Devices, entities and every log line of ours are free of control text."""
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
    sensor = registry.async_get_entity_id(
        "sensor", DOMAIN, f"{entry.entry_id}_{HK}_temperature_cpu[0mcore"
    )
    assert sensor is not None
    lines = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("custom_components.nezha")
    ]
    assert any("web-01 2026-06-01" in line for line in lines)  # the name was logged
    assert not [line for line in lines if UNSAFE.search(line)]


async def test_v0_names_are_clean(
    hass: HomeAssistant, v0_sim: NezhaSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """v0: device names, entity ids and the online/offline log line."""
    set_evil_names(v0_sim, "status.Temperatures")
    entry = MockConfigEntry(
        domain=DOMAIN,
        entry_id=ENTRY_ID,
        data={
            CONF_URL: v0_sim.url,
            CONF_API_TOKEN: TOKEN,
            CONF_VERIFY_SSL: True,
            "api_generation": "v0",
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.LOADED
    v0_sim.set_online(HK, False)
    v0_sim.shift_clock(120)  # the last report is now older than the threshold
    await entry.runtime_data.async_refresh()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert_clean(hass, entry, caplog)
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_v1_names_are_clean(
    hass: HomeAssistant, v1_sim: NezhaSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """v1: the same through REST and the stream."""
    set_evil_names(v1_sim, "state.temperatures")
    live = await start_live(hass, v1_sim, scan_interval=1)
    v1_sim.set_online(HK, False)
    await until(lambda: live.online(HK) == "off", "server 1 offline")
    assert_clean(hass, live.entry, caplog)
    await live.unload()
