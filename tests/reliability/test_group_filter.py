"""1000 servers with a server group selected, v0 and v1."""

from __future__ import annotations

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_API_TOKEN, CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.nezha.const import DOMAIN
from nezha_dev.simulator import NezhaSimulator
from tests.helpers import (
    DETAILS,
    MONITOR,
    PAT,
    SERVERS,
    TOKEN,
    Harness,
    paths,
    server_ids_with_devices,
    setup_frozen,
    setup_integration,
    unload_all,
    v1_entry,
    wait_for,
)
from tests.reliability.helpers import (
    SCAN,
    TITLE,
    registry_entries,
    settle_v1,
    step_v1,
    wall,
)

# -- 1000 servers, 300 of them in the chosen group --------------------------------------


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


def entity_servers(hass: HomeAssistant, entry_id: str) -> set[int]:
    """Servers that own at least one registry entity of the entry."""
    return {
        sid
        for uid in registry_entries(hass, entry_id)
        if (sid := server_of(uid, entry_id)) is not None
    }


async def choose_group(hass: HomeAssistant, entry: MockConfigEntry, group: str) -> None:
    """Pick a server group in the options flow, as a user would (it reloads)."""
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    selector = next(
        value
        for key, value in result["data_schema"].schema.items()
        if key == "server_group"
    )
    assert [o["value"] for o in selector.config["options"]] == [
        "all",
        "tag:Edge",
        "tag:Lab",
        "tag:Production",
        "tag:Staging",
    ]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "scan_interval": 30,
            "offline_threshold": 60,
            "ping_interval": 300,
            "server_group": group,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


def assert_only_group(
    hass: HomeAssistant, entry: MockConfigEntry, members: set[int]
) -> None:
    """Devices, registry entities and states exist for exactly ``members``."""
    assert server_ids_with_devices(hass, entry) == members
    assert entity_servers(hass, entry.entry_id) == members
    registry = er.async_get(hass)
    for sid in members:  # every member got its entities
        for platform, key in (("binary_sensor", "online"), ("sensor", "cpu_usage")):
            uid = f"{entry.entry_id}_{sid}_{key}"
            assert registry.async_get_entity_id(platform, DOMAIN, uid), uid
    # No other server's entity has a state either.
    with_state = {
        server_of(e.unique_id, entry.entry_id)
        for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        if hass.states.get(e.entity_id) is not None
    }
    assert with_state - {None} == members


async def test_thousand_servers_group_filter_v0(
    hass: HomeAssistant, frozen: FrozenDateTimeFactory, socket_enabled: None
) -> None:
    """1000 servers, 300 in "Production": only those get devices; a switch moves them."""
    started = wall()
    sim = NezhaSimulator(servers=1000, token=TOKEN, seed=1, monitors=False)
    groups = tag_fleet(sim)
    assert len(groups["Production"]) == 300 and len(groups["Staging"]) == 200
    await sim.start()
    try:
        entry = MockConfigEntry(
            domain=DOMAIN,
            title=TITLE,
            data={
                CONF_URL: sim.url,
                CONF_API_TOKEN: TOKEN,
                CONF_VERIFY_SSL: True,
                "api_generation": "v0",
            },
            options={"server_group": "tag:Production"},
        )
        await setup_integration(hass, entry)
        setup_done = wall()
        nz = Harness(hass, entry, sim, frozen)
        assert_only_group(hass, entry, groups["Production"])
        assert nz.state("servers_total") == "300"
        # Ping history is asked for the group's servers only, once each.
        asked = sorted(int(p.removeprefix(MONITOR)) for p in paths(sim, MONITOR))
        assert asked == sorted(groups["Production"])
        # One details request per poll, filtered by the dashboard, however large.
        sim.reset_requests()
        await nz.tick(3, SCAN)
        assert paths(sim) == [DETAILS] * 3
        assert all(r.query == {"tag": "Production"} for r in sim.requests)

        await choose_group(hass, entry, "tag:Staging")
        await hass.async_block_till_done(wait_background_tasks=True)
        assert entry.state is ConfigEntryState.LOADED
        assert_only_group(hass, entry, groups["Staging"])
        assert nz.state("servers_total") == "200"
        sim.reset_requests()
        await nz.tick(1, SCAN)
        assert [(r.path, r.query) for r in sim.requests] == [
            (DETAILS, {"tag": "Staging"})
        ]
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await sim.stop()
    print(  # noqa: T201 - runtime for the report
        f"\nv0 1000 servers: setup {setup_done - started:.1f} s, "
        f"total {wall() - started:.1f} s"
    )


async def test_thousand_servers_group_filter_v1(
    hass: HomeAssistant, frozen: FrozenDateTimeFactory, socket_enabled: None
) -> None:
    """The same on v1: groups from /server-group, frames filtered to the group."""
    started = wall()
    sim = NezhaSimulator(
        generation="v1", servers=1000, seed=1, token=PAT, monitors=False
    )
    groups = tag_fleet(sim)
    await sim.start()
    try:
        entry = v1_entry(sim, server_group="tag:Production")
        coordinator = await setup_frozen(hass, entry)
        setup_done = wall()
        assert_only_group(hass, entry, groups["Production"])
        # Ping history is asked for the group's servers only, once each.
        asked = sorted(
            int(r.path.split("/")[4])
            for r in sim.requests
            if r.path.startswith(f"{SERVERS}/") and r.path.endswith("/service")
        )
        assert asked == sorted(groups["Production"])
        # Frames carry all 1000 servers; the filtered ones must not leak in.
        for _ in range(3):
            frames = coordinator.frames_received
            await step_v1(hass, frozen, coordinator, seconds=2)
            await wait_for(lambda f=frames: coordinator.frames_received > f, "a frame")
        assert_only_group(hass, entry, groups["Production"])

        await choose_group(hass, entry, "tag:Staging")
        await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        coordinator = entry.runtime_data
        await wait_for(lambda: coordinator.frames_received > 0, "the first frame")
        await settle_v1(hass, coordinator)
        assert_only_group(hass, entry, groups["Staging"])
    finally:
        await unload_all(hass)
        await sim.stop()
    print(  # noqa: T201 - runtime for the report
        f"\nv1 1000 servers: setup {setup_done - started:.1f} s, "
        f"total {wall() - started:.1f} s"
    )
