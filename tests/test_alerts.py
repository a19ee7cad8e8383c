"""The alerts webhook on a v0 entry: events, the online state, refusals, options."""

import asyncio
from dataclasses import dataclass, fields
from datetime import timedelta
import re
from typing import Any
from unittest.mock import patch

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNKNOWN, Platform
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.network import NoURLAvailableError
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    snapshot_platform,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.nezha.client.alerts import ALERT_TEMPLATE, MAX_ALERT_BYTES
from custom_components.nezha.const import (
    CONF_ALERTS_WEBHOOK,
    CONF_OFFLINE_THRESHOLD,
    CONF_PING_INTERVAL,
    CONF_SCAN_INTERVAL,
    CONF_SERVER_GROUP,
    CONF_WEBHOOK_ID,
    CONF_WEBHOOK_LOCAL_ONLY,
    DOMAIN,
)
from nezha_dev.simulator import Fault, NezhaSimulator
from nezha_dev.simulator.notify import FORM, JSON, AlertServer, alert_message, render
from tests.config_flow.helpers import default
from tests.helpers import (
    DETAILS,
    ENTRY_ID,
    ENTRY_TITLE,
    Harness,
    counted,
    paths,
    setup_integration,
    state,
    v0_entry,
)

WEBHOOK_ID = "a1" * 32  # the shape of webhook.async_generate_id()
URL = f"/api/webhook/{WEBHOOK_ID}"
HK, NAS = 1, 4
NEZHA_LOGGER = "custom_components.nezha"
EVENTS = ("alerts", f"{NAS}_alerts")

BASE_OPTIONS = {
    CONF_SCAN_INTERVAL: 30,
    CONF_OFFLINE_THRESHOLD: 60,
    CONF_PING_INTERVAL: 300,
    CONF_SERVER_GROUP: "all",
}

pytestmark = pytest.mark.usefixtures("frozen")


def alerts_entry(sim: NezhaSimulator, entry_id: str = ENTRY_ID) -> MockConfigEntry:
    """A v0 entry with the alerts webhook enabled."""
    options = {CONF_WEBHOOK_ID: WEBHOOK_ID, CONF_WEBHOOK_LOCAL_ONLY: True}
    return v0_entry(
        sim.url, entry_id=entry_id, **{CONF_ALERTS_WEBHOOK: True, **options}
    )


@dataclass
class Hook(Harness):
    """The v0 entry set up with the webhook, and a client posting to it."""

    http: TestClient  # a client of Home Assistant's HTTP server

    async def post(
        self, message: str, server: int | AlertServer | None = None, **kwargs: Any
    ) -> ClientResponse:
        """POST a notification about a server exactly as a v0 dashboard does."""
        if isinstance(server, int):
            server = AlertServer(server, self.sim.fleet.servers[server].name)
        body, content_type = render(message, server, generation="v0", **kwargs)
        headers = {"Content-Type": content_type}
        return await self.http.post(URL, data=body, headers=headers)

    async def alert(self, message: str, *args: Any, **kwargs: Any) -> None:
        """Post a notification about a server (none: the test message); handled."""
        assert (await self.post(message, *args, **kwargs)).status == 200
        await self.hass.async_block_till_done(wait_background_tasks=True)

    async def offline(self, sid: int, word: str = "Incident") -> None:
        """The alert of an offline rule named "Offline" about a server."""
        name = self.sim.fleet.servers[sid].name
        await self.alert(alert_message(word, name, "10.*.*.*", "Offline"), sid)

    def event(self, key: str) -> dict[str, Any]:
        """The state and attributes of an event entity."""
        found = state(self.hass, self.entry, key, "event")
        return {"state": found.state, **found.attributes}


@pytest.fixture
async def hook(
    hass: HomeAssistant,
    simulator: NezhaSimulator,
    frozen: FrozenDateTimeFactory,
    hass_client_no_auth: ClientSessionGenerator,
) -> Hook:
    """The v0 entry, set up with the webhook (and diagnostics: the router freezes)."""
    entry = alerts_entry(simulator)
    await setup_integration(hass, entry)
    assert await async_setup_component(hass, "diagnostics", {})
    return Hook(hass, entry, simulator, frozen, await hass_client_no_auth())


def webhooks(hass: HomeAssistant) -> dict[str, dict[str, Any]]:
    """Registered webhooks by id (2026.3 keeps dicts, newer releases dataclasses)."""
    return {
        webhook_id: value
        if isinstance(value, dict)
        else {f.name: getattr(value, f.name) for f in fields(value)}
        for webhook_id, value in hass.data.get("webhook", {}).items()
    }


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_event_snapshot(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    simulator: NezhaSimulator,
) -> None:
    """The dashboard's alert event and one per server, before any alert."""
    config_entry = alerts_entry(simulator)
    with patch("custom_components.nezha.PLATFORMS", [Platform.EVENT]):
        await setup_integration(hass, config_entry)
    await snapshot_platform(hass, entity_registry, snapshot, config_entry.entry_id)


async def test_alerts_fire_events_once_each(hook: Hook) -> None:
    """Alerts (tests, Form, odd names) fire events, polls never; checks are shared."""
    name = hook.sim.fleet.servers[NAS].name
    message = alert_message("Incident", name, "192.168.*.*", "CPU > 90%")
    events = {state(hook.hass, hook.entry, k, "event").entity_id for k in EVENTS}
    fired = []
    for second in range(2):  # the same alert a second later: fired and written again
        hook.freezer.tick(timedelta(seconds=second))
        with counted(hook.hass, events) as writes:
            await hook.alert(message, NAS)
        assert sorted(writes.changed) == sorted(events), second
        fired.append(hook.event(f"{NAS}_alerts")["state"])
    assert fired == ["2026-06-01T12:00:00.000+00:00", "2026-06-01T12:00:01.000+00:00"]
    expected = {
        "event_type": "incident",
        "message": message,
        "server_id": NAS,
        "server_name": name,
        "rule": "CPU > 90%",
    }
    dashboard, on_server = hook.event("alerts"), hook.event(f"{NAS}_alerts")
    assert dashboard["state"] == on_server["state"] == fired[1]
    assert {key: dashboard[key] for key in expected} == expected
    assert {key: on_server[key] for key in expected} == expected
    # A CPU alert about a server that reports normally leaves it online.
    assert hook.online(NAS) == STATE_ON
    assert NAS not in hook.entry.runtime_data.silenced
    # An unchanged poll does not rewrite the events.
    with counted(hook.hass, events) as writes:
        await hook.entry.runtime_data.async_refresh()
        await hook.hass.async_block_till_done()
    assert writes.total == 0

    # Nezha's test message names no server: the dashboard's event only (a second
    # later, so a server event it fired by mistake would show a new time).
    hook.freezer.tick(timedelta(seconds=1))
    await hook.alert("这是测试消息", request_type=FORM)
    dashboard = hook.event("alerts")
    assert (dashboard["event_type"], dashboard["message"]) == ("test", "这是测试消息")
    assert dashboard["server_id"] is None
    assert hook.event(f"{NAS}_alerts")["state"] == fired[1]
    assert hook.event(f"{HK}_alerts")["state"] == STATE_UNKNOWN

    # The body carries the name the dashboard has now, whatever it looks like.
    renamed = AlertServer(HK, 'web "prod" \\ 01')
    rule = 'Traffic "monthly"'
    message = alert_message("Resolved", renamed.name, "1.*", rule)
    for request_type in (FORM, JSON):
        await hook.alert(message, renamed, request_type=request_type)
        hk = hook.event(f"{HK}_alerts")
        got = (hk["event_type"], hk["server_name"], hk["rule"], hk["message"])
        assert got == ("resolved", renamed.name, rule, message)

    # Alerts that come while a check runs are checked together, once more.
    coordinator = hook.entry.runtime_data
    refresh = coordinator.async_refresh
    gate = asyncio.Event()
    calls = 0

    async def slow_refresh() -> None:
        nonlocal calls
        calls += 1
        await gate.wait()
        await refresh()

    name = hook.sim.fleet.servers[HK].name
    message = alert_message("Incident", name, "10.*.*.*", "Offline")
    with patch.object(coordinator, "async_refresh", slow_refresh):
        for sid in (HK, 2, 3, NAS):
            assert (await hook.post(message, sid)).status == 200
            await asyncio.sleep(0)
        gate.set()
        await hook.hass.async_block_till_done(wait_background_tasks=True)
    assert calls == 2


@pytest.mark.parametrize("case", ["held", "back", "failed", "refused"])
async def test_offline_alert(hook: Hook, case: str) -> None:
    """Off at once, held till the threshold or a newer report; no hold if unchecked."""
    silenced = hook.entry.runtime_data.silenced
    hook.sim.set_online(NAS, False)
    await hook.tick(delta=timedelta(seconds=7))
    assert hook.online(NAS) == STATE_ON  # 7 s < the 60 s threshold
    if case == "refused":
        hook.entry.runtime_data._auth_failed = True
    elif case == "failed":
        hook.sim.inject_fault(Fault.HTML_502, path=DETAILS)
    before = len(hook.sim.requests)
    await hook.offline(NAS)
    assert hook.event(f"{NAS}_alerts")["event_type"] == "incident"
    # The one poll that checked it; none with a refused token.
    assert paths(hook.sim)[before:] == ([] if case == "refused" else [DETAILS])
    if case in ("failed", "refused"):
        assert NAS not in silenced
        return
    assert hook.online(NAS) == STATE_OFF
    assert hook.state("any_offline", "binary_sensor") == STATE_ON
    assert NAS in silenced
    if case == "back":  # a report newer than the one seen at the alert ends the hold
        hook.sim.set_online(NAS, True)
        await hook.tick()  # the next regular poll
        assert (hook.online(NAS), NAS in silenced) == (STATE_ON, False)
        return

    await hook.tick()  # 38 s: the threshold alone would say online
    assert (hook.online(NAS), NAS in silenced) == (STATE_OFF, True)
    await hook.tick()  # 69 s: the threshold agrees, the hold is released
    assert (hook.online(NAS), NAS in silenced) == (STATE_OFF, False)

    await hook.offline(NAS)  # another alert about the offline server changes nothing
    assert NAS not in silenced

    hook.sim.set_online(NAS, True)
    await hook.offline(NAS, "Resolved")
    assert hook.online(NAS) == STATE_ON  # read again at once
    assert hook.event(f"{NAS}_alerts")["event_type"] == "resolved"


async def test_refusals_registration_and_diagnostics(
    hook: Hook, hass_client: ClientSessionGenerator, caplog: pytest.LogCaptureFixture
) -> None:
    """Bad requests refused; POST, local only, once; no id in diagnostics or logs."""
    hass, client, url = hook.hass, hook.http, URL
    # Wrong shape, unknown server, too large, wrong method: refused, no event.
    before = len(hook.sim.requests)
    big = b'{"message":"' + b"x" * MAX_ALERT_BYTES + b'"}'
    cases: list[tuple[bytes, str, int]] = [
        (b"not json", "application/json", 400),
        (b'["message"]', "application/json", 400),
        (b'{"server_id": "1"}', "application/json", 400),
        (b'{"message": "x", "server_id": "abc"}', "application/json", 400),
        (b'{"message": "x", "server_id": "99"}', "application/json", 400),
        (b"server_id=1", "application/x-www-form-urlencoded", 400),
        (big, "application/json", 413),
    ]
    for body, content_type, status in cases:
        headers = {"Content-Type": content_type}
        response = await client.post(url, data=body, headers=headers)
        assert response.status == status, body[:40]

    # Sent in chunks without a length, the limit still holds.
    async def chunks() -> Any:
        for _ in range(3):
            yield b"x" * (MAX_ALERT_BYTES // 2)

    assert (await client.post(url, data=chunks())).status == 413
    assert (await client.get(url, params={"message": "x"})).status == 405
    await hass.async_block_till_done(wait_background_tasks=True)

    events = ["alerts", *(f"{sid}_alerts" for sid in hook.sim.fleet.servers)]
    assert {hook.event(key)["state"] for key in events} == {STATE_UNKNOWN}
    assert len(hook.sim.requests) == before
    ours = [r.getMessage() for r in caplog.records if r.name.startswith(NEZHA_LOGGER)]
    refusals = [text for text in ours if "Refused an alert" in text]
    assert len(refusals) == 8
    assert any("unknown server" in text for text in refusals)

    registered = webhooks(hass)[WEBHOOK_ID]
    assert registered["domain"] == DOMAIN
    assert registered["local_only"] is True
    assert registered["allowed_methods"] == frozenset({"POST"})

    other = alerts_entry(hook.sim, entry_id="01NEZHATESTENTRY000000000B")
    await setup_integration(hass, other)
    assert "already in use" in caplog.text
    assert webhooks(hass)[WEBHOOK_ID]["name"] == f"Nezha {ENTRY_TITLE}"

    data = await get_diagnostics_for_config_entry(hass, hass_client, hook.entry)
    options = data["entry"]["options"]  # type: ignore[index,call-overload]
    assert options[CONF_ALERTS_WEBHOOK] is True
    assert options[CONF_WEBHOOK_ID] == "**REDACTED**"
    assert WEBHOOK_ID not in str(data)

    assert await hass.config_entries.async_unload(hook.entry.entry_id)
    await hass.async_block_till_done()
    assert WEBHOOK_ID not in webhooks(hass)
    # The id is the secret of the URL: the integration never logs it.
    ours = [r.getMessage() for r in caplog.records if r.name.startswith(NEZHA_LOGGER)]
    assert not [text for text in ours if WEBHOOK_ID in text]


async def options(hass: HomeAssistant, entry_id: str, was: bool, alerts: bool) -> Any:
    """Open the options (alerts shown as ``was``) and submit the first step."""
    result = await hass.config_entries.options.async_init(entry_id)
    assert default(result, CONF_ALERTS_WEBHOOK) is was
    return await hass.config_entries.options.async_configure(
        result["flow_id"], {**BASE_OPTIONS, CONF_ALERTS_WEBHOOK: alerts}
    )


async def test_options_enable_keep_and_disable(
    nz: Harness, hass_client_no_auth: ClientSessionGenerator
) -> None:
    """Off by default; on: URL (a bare path without an address), template; off: gone."""
    hass, entry, base = nz.hass, nz.entry, BASE_OPTIONS
    flows, local = hass.config_entries.options, {CONF_WEBHOOK_LOCAL_ONLY: False}

    def event_entities() -> set[str]:
        entries = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        return {e.unique_id for e in entries if e.domain == "event"}

    assert not [h for h in webhooks(hass).values() if h["domain"] == DOMAIN]
    assert event_entities() == set()
    with patch(
        "homeassistant.components.webhook.async_generate_url",
        side_effect=NoURLAvailableError,
    ):
        result = await options(hass, entry.entry_id, was=False, alerts=True)
    url = result["description_placeholders"]["url"]
    assert url.startswith("http://<home-assistant>:8123/api/webhook/")
    flows.async_abort(result["flow_id"])

    result = await options(hass, entry.entry_id, was=False, alerts=True)
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "alerts")
    assert default(result, CONF_WEBHOOK_LOCAL_ONLY) is True
    placeholders = result["description_placeholders"]
    assert placeholders["template"] == ALERT_TEMPLATE
    url = placeholders["url"]
    assert re.fullmatch(r"http.*/api/webhook/[0-9a-fA-F]{64}", url), url
    webhook_id = url.rsplit("/api/webhook/", 1)[1]
    result = await flows.async_configure(result["flow_id"], local)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    on = {CONF_ALERTS_WEBHOOK: True, CONF_WEBHOOK_LOCAL_ONLY: False}
    assert entry.options == {**base, **on, CONF_WEBHOOK_ID: webhook_id}
    await hass.async_block_till_done(wait_background_tasks=True)
    assert webhooks(hass)[webhook_id]["local_only"] is False
    assert event_entities() == {f"{entry.entry_id}_alerts"} | {
        f"{entry.entry_id}_{sid}_alerts" for sid in range(1, 6)
    }
    client = await hass_client_no_auth()
    body, content_type = render("a test message")
    response = await client.post(
        f"/api/webhook/{webhook_id}", data=body, headers={"Content-Type": content_type}
    )
    assert response.status == 200

    # Saved again with alerts on: the same URL, nothing to change in Nezha.
    result = await options(hass, entry.entry_id, was=True, alerts=True)
    assert result["description_placeholders"]["url"] == url
    assert default(result, CONF_WEBHOOK_LOCAL_ONLY) is False
    result = await flows.async_configure(result["flow_id"], local)
    assert entry.options[CONF_WEBHOOK_ID] == webhook_id

    # Turned off: the webhook and the event entities are gone.
    result = await options(hass, entry.entry_id, was=True, alerts=False)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == base
    await hass.async_block_till_done(wait_background_tasks=True)
    assert webhook_id not in webhooks(hass)
    assert event_entities() == set()
