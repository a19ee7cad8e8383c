"""A real Home Assistant process, driven through HTTP and WebSocket only."""

import asyncio
from collections.abc import Callable
import math
from pathlib import Path
import re
import time
from typing import Any

import aiohttp
import pytest

from nezha_dev.hass.browser import (
    WARNINGS_SHOWN_JS,
    card_tags,
    dashboard_ready_js,
    log_in,
    new_page,
    open_browser,
)
from nezha_dev.hass.stack import E2E_TOKEN, Phases
from nezha_dev.provision_demo import (
    DASHBOARD_URL_PATH,
    ONBOARDING_DOMAINS,
    HomeAssistantAPIError,
    HomeAssistantClient,
    dashboard_config,
    dashboard_entity_ids,
)
from nezha_dev.simulator.notify import JSON, AlertServer, alert_message, send
from tests.e2e.conftest import E2EState
from tests.e2e.helpers import (
    Simulator,
    entry_loaded,
    entry_state,
    nezha_devices,
    nezha_entities,
    simulator,
    wait_until,
)
from tests.e2e.logscan import deprecations

pytestmark = pytest.mark.e2e

SCAN_INTERVAL = 10
OFFLINE_THRESHOLD = 10
OPTIONS = {"scan_interval": SCAN_INTERVAL, "offline_threshold": OFFLINE_THRESHOLD}
# One poll, plus HTTP round trips, the agents' 1-2 s report jitter and the reload
# after options.
SOON = SCAN_INTERVAL + 8
NEW_TOKEN = "e2eNewNezhaToken9876543210zyxwVU"
OFFLINE_SERVER = 2  # fra-db-02
REMOVED_SERVER = 5  # 东京-web-03
GIB = 1024**3
type States = dict[str, dict[str, Any]]
MISSING_CARD = {"type": "entities", "entities": ["sensor.e2e_missing"]}
UNITS = {"cpu_usage": "%", "download_speed": "Mbit/s", "downloaded": "GiB"}
HK = 1  # hk-edge-01
# For the alerts: a threshold the test does not reach, so that only an alert turns
# a server off; Nezha's offline rule fires after more than 6 s of silence.
ALERT_OPTIONS = {"scan_interval": 30, "offline_threshold": 60}
SILENCE = 8.0


def has(entity_id: str, state: str | None = None) -> Callable[[States], bool]:
    """A check of all states: ``entity_id`` is ``state`` (without one: available)."""

    def done(states: States) -> bool:
        got = states.get(entity_id, {}).get("state")
        return got == state if state else got not in (None, "unavailable", "unknown")

    return done


async def wait_for_state(
    ha: HomeAssistantClient, entity_id: str, done: Any, within: float
) -> tuple[dict[str, Any], float]:
    """Poll one state until ``done(state)``; the state and the seconds it took."""
    return await wait_until(
        entity_id,
        lambda: ha.request("GET", f"/api/states/{entity_id}"),
        done,
        within,
        interval=0.05,
    )


def device_of_server(devices: list[dict[str, Any]], entry_id: str, sid: int) -> bool:
    """Whether a device of server ``sid`` is among ``devices``."""
    return any(["nezha", f"{entry_id}_{sid}"] in d["identifiers"] for d in devices)


async def settled(
    ha: HomeAssistantClient, sim: Simulator, entry_id: str, phases: Phases | None = None
) -> tuple[dict[str, str], dict[str, float | str], float]:
    """Reload; wait for the simulator's values: entities, expected states, seconds."""
    await ha.request("POST", f"/api/config/config_entries/entry/{entry_id}/reload")
    await entry_loaded(ha, entry_id)
    entities = await nezha_entities(ha, entry_id)
    expected = await expected_states(sim, entry_id, entities)
    _, seconds = await wait_until(
        "the states to match the simulator",
        ha.states,
        lambda states: not mismatches(expected, states),
        30,
        phases,
    )
    return entities, expected, seconds


async def expected_states(
    sim: Simulator, entry_id: str, unique_to_entity: dict[str, str]
) -> dict[str, float | str]:
    """Entity id -> the value the simulator's own API gives for it right now."""
    expected: dict[str, float | str] = {}

    def put(sid: int, key: str, value: float | str) -> None:
        expected[unique_to_entity[f"{entry_id}_{sid}_{key}"]] = value

    for server in await sim.api("server/details"):
        sid, host, status = server["id"], server["host"], server["status"]
        put(sid, "cpu_usage", status["CPU"])
        put(sid, "memory_usage", 100 * status["MemUsed"] / host["MemTotal"])
        put(sid, "disk_usage", 100 * status["DiskUsed"] / host["DiskTotal"])
        put(sid, "download_speed", status["NetInSpeed"] * 8 / 1e6)  # Mbit/s
        put(sid, "upload_speed", status["NetOutSpeed"] * 8 / 1e6)
        put(sid, "downloaded", status["NetInTransfer"] / GIB)
        put(sid, "uploaded", status["NetOutTransfer"] / GIB)
        for series in await sim.api(f"monitor/{sid}") or []:
            delay = series["avg_delay"][-1]
            put(sid, f"ping_{series['monitor_id']}", delay if delay > 0 else "unknown")
    return expected


def matches(want: float | str, got: str | None) -> bool:
    """Whether a state is the expected text, or the expected number (within 1e-6)."""
    if isinstance(want, str):
        return got == want
    try:
        return math.isclose(float(got or "nan"), want, rel_tol=1e-6, abs_tol=1e-6)
    except ValueError:
        return False


def mismatches(
    expected: dict[str, float | str], states: States
) -> dict[str, tuple[float | str, str | None]]:
    """Entity id -> (expected, actual) for every state that does not match."""
    got = {entity_id: states.get(entity_id, {}).get("state") for entity_id in expected}
    return {
        e: (want, got[e]) for e, want in expected.items() if not matches(want, got[e])
    }


async def test_onboarding_and_config_flow(e2e: E2EState) -> None:
    """Onboarding and the config flow (also with a wrong token)."""
    hass_url, sim_url = e2e.stack.hass.url, e2e.stack.sim.url
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as s:
        fresh = HomeAssistantClient(s, hass_url)
        assert not any((await fresh.onboarding_done()).values())

        # What scripts/develop does on a fresh config dir.
        e2e.password = "e2e-demo-password"
        result = await e2e.provision(s, password=e2e.password, options=OPTIONS)
        assert result.created and result.client and result.client.tokens
        assert result.entry_id
        e2e.entry_id = result.entry_id
        e2e.tokens = result.client.tokens
        ha = result.client
        assert all((await ha.onboarding_done()).values())

        # The demo user can log in like on the login page; a wrong password cannot.
        assert await HomeAssistantClient(s, hass_url).login("demo", e2e.password)
        with pytest.raises(HomeAssistantAPIError, match="login failed"):
            await HomeAssistantClient(s, hass_url).login("demo", "wrong")

        entries = await ha.request("GET", "/api/config/config_entries/entry")
        nezha = [e for e in entries if e["domain"] == "nezha"]
        assert [(e["entry_id"], e["state"]) for e in nezha] == [
            (e2e.entry_id, "loaded")
        ]
        assert nezha[0]["title"] == sim_url.removeprefix("http://")
        # The entries onboarding creates by itself were removed again.
        assert not {e["domain"] for e in entries} & set(ONBOARDING_DOMAINS)

        # The error path: the same dashboard under another name (so that it is not
        # "already configured"), with a wrong token.
        other_name = sim_url.replace("127.0.0.1", "localhost")
        flow = await ha.start_flow("nezha")
        assert (flow["type"], flow["step_id"]) == ("form", "user")
        typed = {"url": other_name, "api_token": "x" * 32, "verify_ssl": True}
        step = await ha.flow_step(flow["flow_id"], typed)
        assert (step["type"], step["errors"]) == ("form", {"base": "invalid_auth"})
        # The same URL as the entry's aborts before any request.
        step = await ha.flow_step(flow["flow_id"], {**typed, "url": sim_url + "/"})
        assert (step["type"], step["reason"]) == ("abort", "already_configured")

        # A second provisioning leaves the onboarded instance alone.
        again = await e2e.provision(s)
        assert not again.created
        assert again.login and again.login.password == e2e.password
        entries_after = await ha.request("GET", "/api/config/config_entries/entry")
        assert [e["entry_id"] for e in entries_after] == [
            e["entry_id"] for e in entries
        ]

        async with ha.websocket() as ws:
            saved = await ws.call("lovelace/config", url_path=DASHBOARD_URL_PATH)
        assert saved == dashboard_config()


async def test_states_match_simulator(e2e: E2EState) -> None:
    """CPU, memory, disk, traffic and ping states equal the simulator's numbers."""
    async with e2e.client() as ha, simulator(e2e) as sim, sim.frozen_clock():
        # With the clock stopped, a reload makes Home Assistant read the same
        # instant the test reads below (metrics and ping history alike).
        entities, expected, seconds = await settled(ha, sim, e2e.entry_id, e2e.phases)
        keys = {"cpu_usage", "memory_usage", "downloaded", "download_speed", "ping"}
        covered = {
            key
            for key in keys
            if any(key in uid for uid in entities if entities[uid] in expected)
        }
        assert covered == keys
        assert len(expected) >= 5 * 7 + 8  # 7 metrics per server, 8+ ping monitors
        states = await ha.states()
        assert mismatches(expected, states) == {}, f"after {seconds:.1f} s"
        # Units as the README documents them.
        for key, unit in UNITS.items():
            state = states[entities[f"{e2e.entry_id}_1_{key}"]]
            assert state["attributes"]["unit_of_measurement"] == unit, key


async def test_dashboard_renders(e2e: E2EState, tmp_path: Path) -> None:
    """The fleet dashboard shows every card, without "Entity not available"."""
    hass_url = e2e.stack.hass.url
    async with e2e.client() as ha:
        states = await ha.states()
        assert dashboard_entity_ids() <= set(states)
        # A frontend login of its own: tokens for the frontend's client id.
        tokens = await HomeAssistantClient(ha.session, hass_url).login(
            "demo", e2e.password
        )
        async with ha.websocket() as ws:
            # A negative control: the same check must see a missing entity.
            created = await ws.call(
                "lovelace/dashboards/create",
                url_path="e2e-control",
                title="e2e control",
                show_in_sidebar=False,
            )
            await ws.call(
                "lovelace/config/save",
                url_path="e2e-control",
                config={"views": [{"path": "v", "cards": [MISSING_CARD]}]},
            )
        async with open_browser(ha.session, tmp_path) as cdp:
            page = await new_page(cdp)
            await log_in(page, hass_url, tokens.local_storage(hass_url))

            await page.navigate(f"{hass_url}/{DASHBOARD_URL_PATH}/fleet")
            config = dashboard_config()
            rendered = await page.wait_for("the dashboard", dashboard_ready_js(config))
            for tag, count in card_tags(config).items():
                assert rendered.get(tag) == count, tag
            info = await page.inspect()
            assert not info["login"], info["url"]
            assert info["warnings"] == []

            await page.navigate(f"{hass_url}/e2e-control/v")
            await page.wait_for("the control's warning", WARNINGS_SHOWN_JS, 30)
            control = await page.inspect()
            # The frontend's wording differs by card ("Entity not found",
            # "Entity not available: ..."); the demo dashboard must have none.
            assert any("Entity not" in w for w in control["warnings"]), control
        async with ha.websocket() as ws:
            await ws.call("lovelace/dashboards/delete", dashboard_id=created["id"])


async def test_agent_offline(e2e: E2EState) -> None:
    """An agent that stops reporting turns its server offline, and back online."""
    async with e2e.client() as ha, simulator(e2e) as sim:
        entities = await nezha_entities(ha, e2e.entry_id)
        online = entities[f"{e2e.entry_id}_{OFFLINE_SERVER}_online"]
        cpu = entities[f"{e2e.entry_id}_{OFFLINE_SERVER}_cpu_usage"]
        offline_count = entities[f"{e2e.entry_id}_servers_offline"]
        # The dashboard device is named after the simulator's host and port; its
        # entities' ids are not (tests/test_init.py).
        assert offline_count == "sensor.nezha_servers_offline"
        assert entities[f"{e2e.entry_id}_any_offline"] == (
            "binary_sensor.nezha_any_server_offline"
        )
        assert (await ha.states())[online]["state"] == "on"

        await sim.admin("POST", f"servers/{OFFLINE_SERVER}/offline")
        limit = OFFLINE_THRESHOLD + SOON
        states, seconds = await wait_until(
            f"{online} to turn off", ha.states, has(online, "off"), limit, e2e.phases
        )
        assert seconds <= limit
        assert states[cpu]["state"] == "unavailable"  # no frozen numbers
        assert states[offline_count]["state"] == "1"

        await sim.admin("POST", f"servers/{OFFLINE_SERVER}/online")
        states, _ = await wait_until(
            f"{online} to turn on again", ha.states, has(online, "on"), SOON, e2e.phases
        )
        assert states[cpu]["state"] not in ("unavailable", "unknown")


async def test_server_removed(e2e: E2EState) -> None:
    """A server deleted on the dashboard loses its device in Home Assistant."""
    async with e2e.client() as ha, simulator(e2e) as sim:
        devices = await nezha_devices(ha, e2e.entry_id)
        assert device_of_server(devices, e2e.entry_id, REMOVED_SERVER)
        before = len(devices)

        await sim.admin("DELETE", f"servers/{REMOVED_SERVER}")
        devices, _ = await wait_until(
            "the device to be removed",
            lambda: nezha_devices(ha, e2e.entry_id),
            lambda devices: not device_of_server(devices, e2e.entry_id, REMOVED_SERVER),
            SOON,
            e2e.phases,
        )
        assert len(devices) == before - 1
        prefix = f"{e2e.entry_id}_{REMOVED_SERVER}_"
        assert not [
            u for u in await nezha_entities(ha, e2e.entry_id) if u.startswith(prefix)
        ]


async def test_token_revoked_then_reauth(e2e: E2EState) -> None:
    """A revoked token starts reauth; a new token through the reauth flow heals it."""
    async with e2e.client() as ha, simulator(e2e) as sim:
        await sim.admin("POST", "token", {"revoke": True})

        async def reauth_flows() -> list[dict[str, Any]]:
            async with ha.websocket() as ws:
                flows = await ws.call("config_entries/flow/progress")
            return [
                f
                for f in flows
                if f["handler"] == "nezha" and f["context"].get("source") == "reauth"
            ]

        flows, _ = await wait_until(
            "a reauth flow", reauth_flows, bool, SOON, e2e.phases
        )
        assert len(flows) == 1
        assert flows[0]["context"]["entry_id"] == e2e.entry_id
        assert flows[0]["step_id"] == "reauth_confirm"
        # The entry stays loaded with its entities unavailable (HA's behaviour for
        # ConfigEntryAuthFailed after setup), or failed setup: both need reauth.
        assert await entry_state(ha, e2e.entry_id) in ("loaded", "setup_error")
        entities = await nezha_entities(ha, e2e.entry_id)
        cpu = entities[f"{e2e.entry_id}_1_cpu_usage"]
        assert (await ha.states())[cpu]["state"] == "unavailable"

        # The user creates a new token on the dashboard and enters it.
        await sim.admin("POST", "token", {"token": NEW_TOKEN})
        step = await ha.flow_step(flows[0]["flow_id"], {"api_token": "x" * 32})
        assert step["errors"] == {"base": "invalid_auth"}
        step = await ha.flow_step(flows[0]["flow_id"], {"api_token": NEW_TOKEN})
        assert (step["type"], step["reason"]) == ("abort", "reauth_successful")
        e2e.stack.token = NEW_TOKEN
        await wait_until("the entities to come back", ha.states, has(cpu), SOON)
        assert await entry_state(ha, e2e.entry_id) == "loaded"
        assert await reauth_flows() == []


async def test_restart_keeps_entities(e2e: E2EState) -> None:
    """After a restart the same entity ids and states return, no device twice."""
    async with simulator(e2e) as sim, sim.frozen_clock():
        async with e2e.client() as ha:
            entities, _, _ = await settled(ha, sim, e2e.entry_id)
            before = {
                e: s["state"]
                for e, s in (await ha.states()).items()
                if e in entities.values()
            }
            assert (
                sum(v not in ("unknown", "unavailable") for v in before.values()) > 30
            )
            devices_before = await nezha_devices(ha, e2e.entry_id)

        await asyncio.to_thread(e2e.stack.restart_hass)

        async with e2e.client() as ha:
            await entry_loaded(ha, e2e.entry_id, 60)
            assert await nezha_entities(ha, e2e.entry_id) == entities
            await wait_until(
                "the same states",
                ha.states,
                lambda states: (
                    {e: states.get(e, {}).get("state") for e in before} == before
                ),
                30,
                e2e.phases,
            )
            devices = await nezha_devices(ha, e2e.entry_id)
    assert sorted(d["id"] for d in devices) == sorted(d["id"] for d in devices_before)
    identifiers = [tuple(map(tuple, d["identifiers"])) for d in devices]
    assert len(identifiers) == len(set(identifiers))
    assert len(devices) == 5  # 4 servers left + the dashboard itself


async def test_unload_and_set_up_again(e2e: E2EState) -> None:
    """Disabling the entry unloads it cleanly; enabling it sets it up again."""
    async with e2e.client() as ha:
        entities = await nezha_entities(ha, e2e.entry_id)
        async with ha.websocket() as ws:
            result = await ws.call(
                "config_entries/disable", entry_id=e2e.entry_id, disabled_by="user"
            )
        assert result == {"require_restart": False}
        assert await entry_state(ha, e2e.entry_id) == "not_loaded"
        # Gone (2026.11), or unavailable while the registry catches up (2026.10).
        states = await ha.states()
        assert [
            e
            for e in entities.values()
            if states.get(e, {}).get("state", "unavailable") != "unavailable"
        ] == []

        async with ha.websocket() as ws:
            await ws.call(
                "config_entries/disable", entry_id=e2e.entry_id, disabled_by=None
            )
        await entry_loaded(ha, e2e.entry_id, 60, e2e.phases)
        cpu = entities[f"{e2e.entry_id}_1_cpu_usage"]
        await wait_until("the states to come back", ha.states, has(cpu), SOON)


async def test_alerts_reach_home_assistant(e2e: E2EState) -> None:
    """The options flow enables the webhook; an alert and an offline alert arrive."""
    async with e2e.client() as ha, simulator(e2e) as sim:
        s, entry_id = ha.session, e2e.entry_id
        # The options flow shows the provisioned options; turn alerts on (and the
        # threshold up, so that only the alert turns the server off), keep "local only".
        form = await ha.request(
            "POST", "/api/config/config_entries/options/flow", {"handler": entry_id}
        )
        values = {f["name"]: f["default"] for f in form["data_schema"]}
        assert {key: values[key] for key in OPTIONS} == OPTIONS
        assert values["alerts_webhook"] is False
        step = await ha.request(
            "POST",
            f"/api/config/config_entries/options/flow/{form['flow_id']}",
            {**values, **ALERT_OPTIONS, "alerts_webhook": True},
        )
        assert step["step_id"] == "alerts"
        placeholders = step["description_placeholders"]
        assert '"#NEZHA#"' in placeholders["template"]
        path = "/api/webhook/" + placeholders["url"].rsplit("/api/webhook/", 1)[1]
        done = await ha.request(
            "POST",
            f"/api/config/config_entries/options/flow/{step['flow_id']}",
            {"webhook_local_only": True},
        )
        assert done["type"] == "create_entry"
        webhook = e2e.stack.hass.url + path  # from 127.0.0.1: a local request

        # The reload creates the event entities.
        entities, _ = await wait_until(
            "the event entities",
            lambda: nezha_entities(ha, entry_id),
            lambda entities: f"{entry_id}_alerts" in entities,
            20,
            interval=0.2,
        )
        dashboard_events = entities[f"{entry_id}_alerts"]
        hk_events = entities[f"{entry_id}_{HK}_alerts"]
        online = entities[f"{entry_id}_{OFFLINE_SERVER}_online"]
        await wait_for_state(ha, online, lambda st: st["state"] == "on", 30)

        # A CPU alert about hk-edge-01, its name as the dashboard has it.
        servers = {
            server["id"]: server["name"] for server in await sim.api("server/list")
        }
        hk = AlertServer(HK, servers[HK])
        message = alert_message("Incident", hk.name, "203.0.*.*", "CPU > 90%")
        assert await send(s, webhook, message, hk, generation="v0") == 200
        for entity_id in (dashboard_events, hk_events):
            event, _ = await wait_for_state(
                ha,
                entity_id,
                lambda st: st["attributes"].get("message") == message,
                5,
            )
            assert event["attributes"]["event_type"] == "incident"
            assert event["attributes"]["rule"] == "CPU > 90%"
            assert event["attributes"]["server_id"] == HK

        # A body the template cannot produce is refused and changes nothing.
        async with s.post(webhook, data=b'{"nothing": 1}') as response:
            assert response.status == 400
        event = await ha.request("GET", f"/api/states/{dashboard_events}")
        assert event["attributes"]["message"] == message

        # The agent stops; Nezha's offline rule fires; the state follows at once.
        await sim.admin("POST", f"servers/{OFFLINE_SERVER}/offline")
        await asyncio.sleep(SILENCE)
        now = await ha.request("GET", f"/api/states/{online}")
        assert now["state"] == "on"  # the 60 s threshold
        gone = AlertServer(OFFLINE_SERVER, servers[OFFLINE_SERVER])
        offline = alert_message("Incident", gone.name, "10.*.*.*", "Offline")
        started = time.monotonic()
        assert (
            await send(s, webhook, offline, gone, request_type=JSON, generation="v0")
            == 200
        )
        await wait_for_state(ha, online, lambda st: st["state"] == "off", 5)
        took = time.monotonic() - started  # the wait's own seconds included
        e2e.phases.detail("offline alert to binary sensor off", took)
        assert took < 1.0, f"the online state changed {took:.2f} s after the alert"

        # The agent is back and Nezha resolves: online again at once.
        await sim.admin("POST", f"servers/{OFFLINE_SERVER}/online")
        resolved = alert_message("Resolved", gone.name, "10.*.*.*", "Offline")
        assert await send(s, webhook, resolved, gone, generation="v0") == 200
        await wait_for_state(ha, online, lambda st: st["state"] == "on", 1.0)


def test_log_is_clean(e2e: E2EState) -> None:
    """No deprecation of the integration reported, no token, no error of it logged."""
    hass = e2e.stack.hass
    log = hass.ha_log()
    assert "DEBUG (MainThread) [homeassistant" in log  # debug for everything
    assert "DEBUG (MainThread) [custom_components.nezha]" in log
    assert log.count("Setting up nezha") >= 3  # both starts and the re-enable
    assert deprecations(log) == []
    assert deprecations(hass.stderr_log()) == []
    for token in (E2E_TOKEN, NEW_TOKEN):
        assert token not in log
    errors = [
        line
        for line in log.splitlines()
        if re.match(r"\S+ \S+ (ERROR|CRITICAL) .*custom_components\.nezha", line)
        and "Authentication failed while fetching" not in line  # the revoked token
    ]
    assert errors == []
