"""The options flow: intervals, offline threshold and the server group."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.nezha.const import (
    ALL_GROUPS,
    CONF_OFFLINE_THRESHOLD,
    CONF_PING_INTERVAL,
    CONF_SCAN_INTERVAL,
    CONF_SERVER_GROUP,
    DOMAIN,
)
from nezha_dev.simulator import Fault, NezhaSimulator
from tests.config_flow.helpers import (
    LIST_PATH,
    TOKENS,
    auth,
    default,
    entry_data,
    select_options,
)

DEFAULTS = {
    CONF_SCAN_INTERVAL: 30,
    CONF_OFFLINE_THRESHOLD: 60,
    CONF_PING_INTERVAL: 300,
    CONF_SERVER_GROUP: ALL_GROUPS,
}
GROUPS = [ALL_GROUPS, "tag:Lab", "tag:Production"]
LIST = {"v0": LIST_PATH, "v1": "/api/v1/server"}
SECONDS = (CONF_SCAN_INTERVAL, CONF_OFFLINE_THRESHOLD, CONF_PING_INTERVAL)
LAB = {
    CONF_SCAN_INTERVAL: 15,
    CONF_OFFLINE_THRESHOLD: 120,
    CONF_PING_INTERVAL: 600,
    CONF_SERVER_GROUP: "tag:Lab",
}


async def configure(
    hass: HomeAssistant, entry: MockConfigEntry, options: dict[str, Any]
) -> dict[str, Any]:
    """Open the options form and submit ``options``."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    return await hass.config_entries.options.async_configure(result["flow_id"], options)


async def test_options_flow_saves_and_reloads(
    hass: HomeAssistant,
    gen: str,
    sims: dict[str, NezhaSimulator],
    loaded: MockConfigEntry,
) -> None:
    """Defaults and the dashboard's groups are offered; new options reload the entry."""
    sim, entry = sims[gen], loaded
    old_coordinator = entry.runtime_data
    sim.reset_requests()
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "init")
    assert {key: default(result, key) for key in DEFAULTS} == DEFAULTS
    assert select_options(result, CONF_SERVER_GROUP) == GROUPS
    assert [
        r.headers.get("Authorization") for r in sim.requests if r.path == LIST[gen]
    ] == [auth(gen, TOKENS[gen])]

    sim.reset_requests()
    # The form's number boxes send floats; the entry stores whole seconds.
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {k: float(v) if k in SECONDS else v for k, v in LAB.items()}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == LAB
    await hass.async_block_till_done(wait_background_tasks=gen == "v0")
    assert entry.options == LAB
    coordinator = entry.runtime_data
    assert coordinator is not old_coordinator
    assert (coordinator.offline_threshold, coordinator.ping_interval) == (120, 600)
    assert (coordinator.update_interval, coordinator.tag) == (
        timedelta(seconds=15),
        "Lab",
    )
    assert set(coordinator.data.servers) == {3}  # gpu-box is the only Lab server
    if gen == "v0":
        assert [
            r.query for r in sim.requests if r.path == "/api/v1/server/details"
        ] == [{"tag": "Lab"}]

    # The next options form preselects the stored values.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert {key: default(result, key) for key in LAB} == LAB
    assert select_options(result, CONF_SERVER_GROUP) == GROUPS


async def test_options_flow_unchanged_does_not_reload(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Saving the options again as they are keeps the running coordinator."""
    entry = init_integration
    coordinators = [entry.runtime_data]
    for _ in range(2):
        result = await configure(hass, entry, DEFAULTS)
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done(wait_background_tasks=True)
        assert entry.state is ConfigEntryState.LOADED
        coordinators.append(entry.runtime_data)
    assert entry.options == DEFAULTS
    # The first save stored explicit values (a change from none): one reload.
    assert coordinators[1] is not coordinators[0]
    assert coordinators[2] is coordinators[1]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (CONF_SCAN_INTERVAL, 5),
        (CONF_OFFLINE_THRESHOLD, 5),
        (CONF_PING_INTERVAL, 30),
        (CONF_SERVER_GROUP, "tag:Nonexistent"),
    ],
)
async def test_options_flow_rejects_out_of_range(
    hass: HomeAssistant, init_integration: MockConfigEntry, key: str, value: Any
) -> None:
    """Values below the minimum or groups not offered are refused by the schema."""
    with pytest.raises(InvalidData):
        await configure(hass, init_integration, {**DEFAULTS, key: value})
    assert init_integration.options == {}


@pytest.mark.parametrize(
    ("options", "offered"),
    [({}, [ALL_GROUPS]), ({CONF_SERVER_GROUP: "tag:Lab"}, [ALL_GROUPS, "tag:Lab"])],
)
async def test_options_flow_entry_not_loaded(
    hass: HomeAssistant,
    simulator: NezhaSimulator,
    options: dict[str, str],
    offered: list[str],
) -> None:
    """Without a loaded entry no request is made: only "all" and the current group."""
    entry = MockConfigEntry(
        domain=DOMAIN, data=entry_data(simulator.url), options=options
    )
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert select_options(result, CONF_SERVER_GROUP) == offered
    assert default(result, CONF_SERVER_GROUP) == offered[-1]
    assert simulator.requests == []


@pytest.mark.parametrize("fault", [Fault.RESET, Fault.HTML_502, Fault.HTML_200])
async def test_options_flow_dashboard_unreachable(
    hass: HomeAssistant,
    simulator: NezhaSimulator,
    init_integration: MockConfigEntry,
    fault: Fault,
) -> None:
    """Groups cannot be listed: "all" and the current group are still offered."""
    entry = init_integration
    hass.config_entries.async_update_entry(
        entry, options={CONF_SERVER_GROUP: "tag:Gone"}
    )
    simulator.inject_fault(fault, count=None, path=LIST_PATH)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert select_options(result, CONF_SERVER_GROUP) == [ALL_GROUPS, "tag:Gone"]
    assert default(result, CONF_SERVER_GROUP) == "tag:Gone"
