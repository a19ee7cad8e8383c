"""Alerts end to end: a real ``hass``, the options flow, and posts as Nezha sends them."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest

from nezha_dev.provision_demo import HomeAssistantClient
from nezha_dev.simulator.notify import JSON, AlertServer, alert_message, send
from tests.e2e.conftest import E2EState
from tests.e2e.helpers import Simulator, nezha_entities, wait_until

pytestmark = pytest.mark.e2e

OFFLINE_SERVER = 2  # fra-db-02
HK = 1
# Nezha's offline rule fires after more than 6 s of silence; wait a little more.
SILENCE = 8.0


async def state_of(ha: HomeAssistantClient, entity_id: str) -> dict[str, Any]:
    """One entity's state object."""
    result: dict[str, Any] = await ha.request("GET", f"/api/states/{entity_id}")
    return result


async def wait_for_state(
    ha: HomeAssistantClient, entity_id: str, done: Any, within: float
) -> tuple[dict[str, Any], float]:
    """Poll one state until ``done(state)``; the state and the seconds it took."""
    return await wait_until(
        entity_id, lambda: state_of(ha, entity_id), done, within, interval=0.05
    )


async def test_alerts_reach_home_assistant(e2e: E2EState) -> None:
    """Enable the webhook, then an alert and an offline alert from the 'dashboard'."""
    hass_url, sim_url = e2e.stack.hass.url, e2e.stack.sim.url
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as s:
        options = {"scan_interval": 30, "offline_threshold": 60}
        result = await e2e.provision(s, password="e2e-alerts-password", options=options)
        assert result.client is not None and result.entry_id
        ha, entry_id = result.client, result.entry_id
        e2e.tokens = ha.tokens
        sim = Simulator(s, sim_url, e2e.stack.token)

        # The options flow: turn alerts on, read the URL, keep "local only".
        form = await ha.request(
            "POST", "/api/config/config_entries/options/flow", {"handler": entry_id}
        )
        values = {f["name"]: f["default"] for f in form["data_schema"]}
        assert values["alerts_webhook"] is False
        step = await ha.request(
            "POST",
            f"/api/config/config_entries/options/flow/{form['flow_id']}",
            {**values, "alerts_webhook": True},
        )
        assert step["step_id"] == "alerts"
        url = step["description_placeholders"]["url"]
        template = step["description_placeholders"]["template"]
        assert '"#NEZHA#"' in template
        path = "/api/webhook/" + url.rsplit("/api/webhook/", 1)[1]
        done = await ha.request(
            "POST",
            f"/api/config/config_entries/options/flow/{step['flow_id']}",
            {"webhook_local_only": True},
        )
        assert done["type"] == "create_entry"
        webhook = hass_url + path  # from 127.0.0.1: a local request

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
        assert (await state_of(ha, dashboard_events))["attributes"][
            "message"
        ] == message

        # The agent stops; Nezha's offline rule fires; the state follows at once.
        await sim.admin("POST", f"servers/{OFFLINE_SERVER}/offline")
        await asyncio.sleep(SILENCE)
        assert (await state_of(ha, online))["state"] == "on"  # 60 s threshold
        gone = AlertServer(OFFLINE_SERVER, servers[OFFLINE_SERVER])
        offline = alert_message("Incident", gone.name, "10.*.*.*", "Offline")
        started = time.monotonic()
        assert (
            await send(s, webhook, offline, gone, request_type=JSON, generation="v0")
            == 200
        )
        _, waited = await wait_for_state(ha, online, lambda st: st["state"] == "off", 5)
        took = time.monotonic() - started
        e2e.phases.detail("offline alert to binary sensor off", took)
        assert took < 1.0, f"the online state changed {took:.2f} s after the alert"
        assert waited < 1.0

        # The agent is back and Nezha resolves: online again at once.
        await sim.admin("POST", f"servers/{OFFLINE_SERVER}/online")
        resolved = alert_message("Resolved", gone.name, "10.*.*.*", "Offline")
        assert await send(s, webhook, resolved, gone, generation="v0") == 200
        await wait_for_state(ha, online, lambda st: st["state"] == "on", 1.0)
