"""The flows of an existing entry: options, reauth (a new token) and reconfigure."""

from datetime import timedelta
from typing import Any

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import CONF_API_TOKEN, CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.nezha.const import (
    ALL_GROUPS,
    CONF_OFFLINE_THRESHOLD,
    CONF_PING_INTERVAL,
    CONF_SCAN_INTERVAL,
    CONF_SERVER_GROUP,
)
from custom_components.nezha.coordinator_v1 import NezhaStreamCoordinator
from custom_components.nezha.validation import title_for
from nezha_dev.simulator import Fault, NezhaSimulator
from tests.config_flow.helpers import (
    LIST_PATH,
    MISFIT,
    NEW_PAT,
    NEW_TOKEN,
    PLACEHOLDERS,
    PROBE_PATH,
    TOKENS,
    add_entry,
    anonymous_probes,
    assert_aborted,
    assert_form_error,
    assert_probe_only,
    auth,
    authed,
    default,
    entry_data,
    select_options,
    sent_with,
    submit,
    suggested,
    user_input,
)
from tests.helpers import PAT

# The first request that carries the token.
LIST = {"v0": LIST_PATH, "v1": "/api/v1/server"}
NEW = {"v0": NEW_TOKEN, "v1": NEW_PAT}
SECONDS = (CONF_SCAN_INTERVAL, CONF_OFFLINE_THRESHOLD, CONF_PING_INTERVAL)
KEYS = (*SECONDS, CONF_SERVER_GROUP)
DEFAULTS = dict(zip(KEYS, (30, 60, 300, ALL_GROUPS), strict=True))
LAB = dict(zip(KEYS, (15, 120, 600, "tag:Lab"), strict=True))
GROUPS = [ALL_GROUPS, "tag:Lab", "tag:Production"]
FAILURES = ((Fault.RESET, "cannot_connect"), (Fault.HTML_200, "not_nezha"))


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
    """Defaults and the dashboard's groups are offered; changed options reload the entry."""
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
    # Saved as offered: explicit values replace none, a change that reloads.
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], DEFAULTS
    )
    await hass.async_block_till_done(wait_background_tasks=gen == "v0")
    assert entry.options == DEFAULTS
    assert entry.runtime_data is not old_coordinator
    old_coordinator = entry.runtime_data

    sim.reset_requests()
    # The form's number boxes send floats; the entry stores whole seconds.
    result = await configure(
        hass, entry, {k: float(v) if k in SECONDS else v for k, v in LAB.items()}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == LAB
    await hass.async_block_till_done(wait_background_tasks=gen == "v0")
    assert entry.options == LAB
    c = entry.runtime_data
    assert c is not old_coordinator
    lab = (120, 600, timedelta(seconds=15), "Lab")
    assert (c.offline_threshold, c.ping_interval, c.update_interval, c.tag) == lab
    assert set(c.data.servers) == {3}  # gpu-box is the only Lab server
    if gen == "v0":
        assert [
            r.query for r in sim.requests if r.path == "/api/v1/server/details"
        ] == [{"tag": "Lab"}]

    # The next options form preselects the stored values; saved unchanged, no reload.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert {key: default(result, key) for key in LAB} == LAB
    assert select_options(result, CONF_SERVER_GROUP) == GROUPS
    result = await hass.config_entries.options.async_configure(result["flow_id"], LAB)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done(wait_background_tasks=gen == "v0")
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data is c


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
    ("group", "fault"),
    [
        (None, None),
        ("tag:Lab", None),
        *(("tag:Gone", f) for f in (Fault.RESET, Fault.HTML_502, Fault.HTML_200)),
    ],
)
async def test_options_flow_without_the_groups(
    hass: HomeAssistant, simulator: NezhaSimulator, group: str | None, fault: Fault
) -> None:
    """Not loaded (no request made) or unreachable: "all" and the current group."""
    entry = add_entry(hass, simulator.url)
    if fault is not None:
        assert await hass.config_entries.async_setup(entry.entry_id)
        simulator.inject_fault(fault, count=None, path=LIST_PATH)
    offered = [ALL_GROUPS, group] if group else [ALL_GROUPS]
    if group:
        hass.config_entries.async_update_entry(
            entry, options={CONF_SERVER_GROUP: group}
        )
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert select_options(result, CONF_SERVER_GROUP) == offered
    assert default(result, CONF_SERVER_GROUP) == offered[-1]
    if fault is None:
        assert simulator.requests == []


@pytest.mark.usefixtures("mock_setup_entry")
async def test_reauth_refusals_then_new_token(
    hass: HomeAssistant, gen: str, sims: dict[str, NezhaSimulator]
) -> None:
    """The form names the entry, explains each refusal or failure, stores the new token."""
    sim, old = sims[gen], TOKENS[gen]
    if gen == "v0":
        sim.set_token(NEW[gen])
    else:
        sim.revoke_token()
        sim.add_token(token=NEW[gen])
    entry = add_entry(hass, sim.url, old, gen, title="Home")
    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "reauth_confirm"
    assert result["errors"] == {}
    assert result["description_placeholders"] == {**PLACEHOLDERS, "name": "Home"}
    assert [str(marker) for marker in result["data_schema"].schema] == [CONF_API_TOKEN]
    assert sim.requests == []  # nothing is sent until submitted

    # A token of the other generation is not even sent.
    other, error = MISFIT[gen]
    result = await submit(hass, result, {CONF_API_TOKEN: TOKENS[other]})
    assert_form_error(result, "reauth_confirm", error, name="Home")
    assert_probe_only(sim)

    result = await submit(hass, result, {CONF_API_TOKEN: old})  # the refused one
    assert_form_error(result, "reauth_confirm", "invalid_auth", name="Home")
    if gen == "v1":
        assert sim.waf_strikes() == 1
        sim.shift_clock(4)  # past the ban of the one strike

    for fault, error in FAILURES:
        sim.inject_fault(fault, count=None, path=LIST[gen])
        result = await submit(hass, result, {CONF_API_TOKEN: NEW[gen]})
        assert_form_error(result, "reauth_confirm", error, name="Home")
        sim.clear_faults()

    result = await submit(hass, result, {CONF_API_TOKEN: f" {NEW[gen]} "})
    assert_aborted(result, "reauth_successful")
    assert entry.data == entry_data(sim.url, NEW[gen], gen)
    assert sent_with(sim, old) == [LIST[gen]]  # the stored token only when typed
    assert authed(sim) == {auth(gen, old), auth(gen, NEW[gen])}


async def test_reauth_after_token_rotation(
    hass: HomeAssistant, simulator: NezhaSimulator, init_integration: MockConfigEntry
) -> None:
    """A rejected token starts reauth; the new one reloads the entry, which polls with it."""
    entry = init_integration
    old_coordinator = entry.runtime_data
    simulator.set_token(NEW_TOKEN)
    await old_coordinator.async_refresh()
    await hass.async_block_till_done(wait_background_tasks=True)

    (flow,) = entry.async_get_active_flows(hass, {SOURCE_REAUTH})
    simulator.reset_requests()
    result = await submit(hass, flow, {CONF_API_TOKEN: NEW_TOKEN})
    assert_aborted(result, "reauth_successful")
    await hass.async_block_till_done(wait_background_tasks=True)

    assert entry.data == entry_data(simulator.url, NEW_TOKEN)
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data is not old_coordinator  # reloaded
    assert entry.runtime_data.last_update_success
    details = [r for r in simulator.requests if r.path == "/api/v1/server/details"]
    assert {r.headers["Authorization"] for r in details} == {NEW_TOKEN}


async def test_reauth_after_waf_ban_explains_it(
    hass: HomeAssistant, v1: NezhaSimulator
) -> None:
    """Set up while banned: one refused request, then a reauth form naming the ban."""
    v1.block_ip()
    entry = add_entry(hass, v1.url, PAT, "v1")
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert [r.path for r in v1.requests] == ["/api/v1/server"]

    (flow,) = entry.async_get_active_flows(hass, {SOURCE_REAUTH})
    result = await submit(hass, flow)
    assert_form_error(result, "reauth_confirm", "waf_blocked", name=entry.title)
    assert len(v1.requests) == 1  # showing the form sent nothing

    v1.clear_waf()
    result = await submit(hass, result, {CONF_API_TOKEN: PAT})
    assert_aborted(result, "reauth_successful")
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


async def test_reconfigure_to_another_dashboard(
    hass: HomeAssistant, simulator: NezhaSimulator, init_integration: MockConfigEntry
) -> None:
    """New URL and token; the entry reloads against the new dashboard, entities stay."""
    entry = init_integration
    hass.config_entries.async_update_entry(entry, title=title_for(simulator.url))
    registry = er.async_get(hass)

    def unique_ids() -> set[str]:
        return {
            e.unique_id
            for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        }

    before = unique_ids()
    async with NezhaSimulator(servers=5, token=NEW_TOKEN, seed=1) as moved:
        result = await entry.start_reconfigure_flow(hass)
        assert result["step_id"] == "reconfigure"
        assert suggested(result, CONF_URL) == simulator.url
        assert suggested(result, CONF_VERIFY_SSL) is True
        assert suggested(result, CONF_API_TOKEN) is None  # never echoed

        result = await submit(hass, result, user_input(moved.url + "/", NEW_TOKEN))
        assert_aborted(result, "reconfigure_successful")
        await hass.async_block_till_done(wait_background_tasks=True)
        assert entry.data == entry_data(moved.url, NEW_TOKEN)
        assert entry.title == title_for(moved.url)
        assert entry.state is ConfigEntryState.LOADED
        assert entry.runtime_data.client.base_url == moved.url
        # Re-detected anonymously; the token only went with the real requests.
        assert moved.requests[0].path == PROBE_PATH
        assert anonymous_probes(moved) == 1
        assert authed(moved) == {NEW_TOKEN}
        assert unique_ids() == before
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_reconfigure_keeps_token_and_custom_title(
    hass: HomeAssistant, gen: str, sims: dict, loaded: MockConfigEntry
) -> None:
    """An empty token keeps the stored one; same URL no duplicate; generation re-detected."""
    sim, entry = sims[gen], loaded
    custom_title = entry.title
    assert custom_title != title_for(sim.url)
    sim.reset_requests()
    for token_field in ({}, {CONF_API_TOKEN: ""}, {CONF_API_TOKEN: "   "}):
        old_coordinator = entry.runtime_data
        result = await entry.start_reconfigure_flow(hass)
        result = await submit(
            hass, result, {CONF_URL: sim.url, CONF_VERIFY_SSL: False, **token_field}
        )
        assert_aborted(result, "reconfigure_successful")
        await hass.async_block_till_done(wait_background_tasks=gen == "v0")
        assert entry.data == entry_data(sim.url, TOKENS[gen], gen, verify_ssl=False)
        assert entry.title == custom_title
        assert entry.state is ConfigEntryState.LOADED
        assert entry.runtime_data is not old_coordinator
    assert authed(sim) == {auth(gen, TOKENS[gen])}
    assert anonymous_probes(sim) == 3  # re-detected on every reconfigure

    # To the other generation's dashboard, from an unloaded entry (so the old one
    # gets no traffic of its own): the kept token is refused after the probe.
    assert await hass.config_entries.async_unload(entry.entry_id)
    new, sent = MISFIT[gen][0], len(sim.requests)
    target = sims[new]
    result = await entry.start_reconfigure_flow(hass)
    result = await submit(hass, result, {CONF_URL: target.url, CONF_VERIFY_SSL: True})
    assert_form_error(result, "reconfigure", MISFIT[new][1])
    assert_probe_only(target)

    target.reset_requests()
    result = await submit(hass, result, user_input(target.url, TOKENS[new]))
    assert_aborted(result, "reconfigure_successful")
    await hass.async_block_till_done()
    assert entry.data == entry_data(target.url, TOKENS[new], new)
    assert entry.state is ConfigEntryState.LOADED
    assert isinstance(entry.runtime_data, NezhaStreamCoordinator) == (new == "v1")
    assert authed(target) == {auth(new, TOKENS[new])}
    assert sim.requests[sent:] == []  # the old dashboard got no request at all
