"""Large fleets: never past Home Assistant's 10,000 enabled entities per entry.

Past that limit Home Assistant drops new entities itself and logs a line asking
the user to report a bug to us. The integration counts first: servers whose
entities do not fit get none (never half of them), and a repair issue says how
many and how to make room; room made later is used by itself.
"""

from __future__ import annotations

import logging

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
import pytest

from custom_components.nezha import budget as budget_module
from custom_components.nezha.const import DOMAIN
from nezha_dev.simulator import NezhaSimulator
from tests.helpers import ENTRY_ID, TOKEN, server_ids_with_devices, v0_entry

pytestmark = pytest.mark.usefixtures("socket_enabled")


def enabled(hass: HomeAssistant) -> list[er.RegistryEntry]:
    """The entry's enabled registry entries."""
    return [
        e
        for e in er.async_entries_for_config_entry(er.async_get(hass), ENTRY_ID)
        if e.disabled_by is None
    ]


def entities_per_server(hass: HomeAssistant) -> dict[int, int]:
    """Registry entries per server id."""
    counts: dict[int, int] = {}
    for entry in er.async_entries_for_config_entry(er.async_get(hass), ENTRY_ID):
        head, _, _ = entry.unique_id.removeprefix(f"{ENTRY_ID}_").partition("_")
        if head.isdecimal():
            counts[int(head)] = counts.get(int(head), 0) + 1
    return counts


def issue(hass: HomeAssistant) -> ir.IssueEntry | None:
    """The entry's entity-limit issue."""
    return ir.async_get(hass).async_get_issue(DOMAIN, f"too_many_entities_{ENTRY_ID}")


async def test_small_budget_whole_servers_then_room_is_used(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A budget of 40 for five servers: whole servers only, then the rest later."""
    monkeypatch.setattr(budget_module, "ENTITY_LIMIT", 40, raising=False)
    async with NezhaSimulator(servers=5, token=TOKEN, seed=1) as sim:
        entry = v0_entry(sim.url, title="Big fleet")
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
        assert len(enabled(hass)) <= 40
        admitted = server_ids_with_devices(hass, entry)
        assert 0 < len(admitted) < 5
        found = issue(hass)
        assert found is not None
        placeholders = found.translation_placeholders or {}
        # Servers without any entity, and admitted ones whose ping sensors
        # (found after the first ping round) no longer fitted.
        assert int(placeholders["count"]) >= 5 - len(admitted)
        assert placeholders["limit"] == "40"
        assert int(placeholders["wanted"]) > 40

        # The user disables entities: the servers left out come in by themselves.
        registry = er.async_get(hass)
        for item in enabled(hass):
            if item.entity_id.startswith("sensor."):
                registry.async_update_entity(
                    item.entity_id, disabled_by=er.RegistryEntryDisabler.USER
                )
        await entry.runtime_data.async_refresh()
        await hass.async_block_till_done(wait_background_tasks=True)
        assert server_ids_with_devices(hass, entry) == set(sim.fleet.servers)
        assert issue(hass) is None
        assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.timeout(600)
async def test_1200_servers_in_one_entry(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """1,200 servers: a repair issue, no "please report" line, nothing half-added."""
    async with NezhaSimulator(servers=1200, token=TOKEN, seed=1) as sim:
        entry = v0_entry(sim.url, title="Big fleet")
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
        await entry.runtime_data.async_refresh()  # ping sensors came after setup
        await hass.async_block_till_done(wait_background_tasks=True)

        assert len(enabled(hass)) <= 10_000
        assert not [
            r.getMessage()
            for r in caplog.records
            if r.levelno >= logging.WARNING and "maximum" in r.getMessage()
        ]
        assert not [r for r in caplog.records if "report" in r.getMessage().lower()]
        found = issue(hass)
        assert found is not None
        placeholders = found.translation_placeholders or {}
        with_devices = server_ids_with_devices(hass, entry)
        assert int(placeholders["count"]) == 1200 - len(with_devices) > 0
        assert int(placeholders["wanted"]) > 10_000
        # Every server that has a device has all of its entities.
        counts = entities_per_server(hass)
        assert set(counts) == with_devices
        assert await hass.config_entries.async_unload(entry.entry_id)
