"""1000 servers, 300 of them in the chosen server group, v0 and v1."""

import re

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from nezha_dev.simulator import NezhaSimulator
from tests.config_flow.helpers import TOKENS, select_options
from tests.helpers import (
    DETAILS,
    MONITOR,
    SERVERS,
    entity_ids,
    nezha_entry,
    paths,
    server_ids_with_devices,
    setup_frozen,
    setup_integration,
    state,
    tick,
    unload_all,
)
from tests.reliability.helpers import SCAN, Rig, registry_of, reloaded, wall


def tag_fleet(sim: NezhaSimulator) -> dict[str, set[int]]:
    """Spread the servers over tags, interleaved: 30 % Production, 20 % Staging, ..."""
    plan = ["Production"] * 3 + ["Staging"] * 2 + ["Lab"] * 2 + ["Edge"] * 2 + [""]
    groups: dict[str, set[int]] = {}
    for sid, server in sim.fleet.servers.items():
        server.tag = plan[sid % len(plan)]
        groups.setdefault(server.tag, set()).add(sid)
    return groups


def server_of(unique_id: str, entry_id: str) -> int | None:
    """The server id in an entity's unique id, None for dashboard entities."""
    head = unique_id.removeprefix(f"{entry_id}_").split("_", 1)[0]
    return int(head) if head.isdigit() else None


async def choose_group(hass: HomeAssistant, entry: MockConfigEntry, group: str) -> None:
    """Pick a server group in the options flow, as a user would (it reloads)."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    tags = ["tag:Edge", "tag:Lab", "tag:Production", "tag:Staging"]
    assert select_options(result, "server_group") == ["all", *tags]
    options = {"scan_interval": 30, "offline_threshold": 60, "ping_interval": 300}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**options, "server_group": group}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


def assert_only_group(
    hass: HomeAssistant, entry: MockConfigEntry, members: set[int]
) -> None:
    """Devices, registry entities and states exist for exactly ``members``."""
    assert server_ids_with_devices(hass, entry) == members
    entities = registry_of(hass, entry.entry_id)[0]
    owners = {server_of(uid, entry.entry_id) for uid in entities}
    assert owners - {None} == members
    for sid in members:  # every member got its entities
        for platform, key in (("binary_sensor", "online"), ("sensor", "cpu_usage")):
            assert entities[f"{entry.entry_id}_{sid}_{key}"].domain == platform
    # No other server's entity has a state either.
    with_state = {
        server_of(uid, entry.entry_id)
        for uid, e in entities.items()
        if hass.states.get(e.entity_id) is not None
    }
    assert with_state - {None} == members


@pytest.mark.usefixtures("socket_enabled")
@pytest.mark.parametrize("generation", ["v0", "v1"])
async def test_thousand_servers_group_filter(
    hass: HomeAssistant, frozen: FrozenDateTimeFactory, generation: str
) -> None:
    """Only the group's servers get devices, pings, polls; a new group moves them."""
    started = wall()
    token = TOKENS[generation]
    sim = NezhaSimulator(
        generation=generation, servers=1000, seed=1, token=token, monitors=False
    )
    groups = tag_fleet(sim)
    assert len(groups["Production"]) == 300 and len(groups["Staging"]) == 200
    await sim.start()
    try:
        entry = nezha_entry(sim.url, generation, token, server_group="tag:Production")
        # Side data (v0: ping history) is asked for the group's servers only, once each.
        if generation == "v0":
            await setup_integration(hass, entry)
            side, sent = rf"{MONITOR}(\d+)", paths(sim, MONITOR)
        else:
            coordinator = await setup_frozen(hass, entry)
            rig = Rig(hass, entry, sim, frozen, coordinator, entity_ids(hass, entry))
            side = rf"{SERVERS}/(\d+)/service"
            sent = [p for p in paths(sim, f"{SERVERS}/") if p.endswith("/service")]
        matches = [re.fullmatch(side, p) for p in sent]
        assert all(matches), sent  # no stray request under these paths
        asked = [int(m[1]) for m in matches if m]
        if generation == "v0":  # the set-up's own polls already carry the group
            details = [r for r in sim.requests if r.path == DETAILS]
            assert details and all(r.query == {"tag": "Production"} for r in details)
        setup_done = wall()
        assert_only_group(hass, entry, groups["Production"])
        assert sorted(asked) == sorted(groups["Production"])
        if generation == "v0":
            assert state(hass, entry, "servers_total").state == "300"
            # One details request per poll, filtered by the dashboard, however large.
            sim.reset_requests()
            await tick(hass, frozen, 3, SCAN)
            assert paths(sim) == [DETAILS] * 3
            assert all(r.query == {"tag": "Production"} for r in sim.requests)
        else:
            # Frames carry all 1000 servers; the filtered ones must not leak in.
            await rig.frames(3)
            assert_only_group(hass, entry, groups["Production"])

        await choose_group(hass, entry, "tag:Staging")
        await reloaded(hass, entry, generation == "v1")
        assert_only_group(hass, entry, groups["Staging"])
        if generation == "v0":
            assert state(hass, entry, "servers_total").state == "200"
            sim.reset_requests()
            await tick(hass, frozen, 1, SCAN)
            assert [(r.path, r.query) for r in sim.requests] == [
                (DETAILS, {"tag": "Staging"})
            ]
    finally:
        await unload_all(hass)
        await sim.stop()
    print(  # noqa: T201 - runtime for the report
        f"\n{generation} 1000 servers: setup {setup_done - started:.1f} s, "
        f"total {wall() - started:.1f} s"
    )
