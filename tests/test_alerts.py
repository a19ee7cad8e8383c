"""The alerts webhook on a v0 entry: events, the online state, refusals, options."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import fields
from datetime import timedelta
from typing import Any
from unittest.mock import patch

from aiohttp import ClientResponse
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNKNOWN, Platform
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.network import NoURLAvailableError
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
    paths,
    setup_integration,
    state,
    tick,
    v0_entry,
)

WEBHOOK_ID = "a1" * 32  # the shape of webhook.async_generate_id()
HK = 1
NAS = 4
OPTIONS = {
    CONF_ALERTS_WEBHOOK: True,
    CONF_WEBHOOK_ID: WEBHOOK_ID,
    CONF_WEBHOOK_LOCAL_ONLY: True,
}
NEZHA_LOGGER = "custom_components.nezha"

BASE_OPTIONS = {
    CONF_SCAN_INTERVAL: 30,
    CONF_OFFLINE_THRESHOLD: 60,
    CONF_PING_INTERVAL: 300,
    CONF_SERVER_GROUP: "all",
}

type Post = Callable[..., Awaitable[ClientResponse]]
type Alert = Callable[..., Awaitable[None]]


pytestmark = pytest.mark.usefixtures("frozen")


def alerts_entry(
    simulator: NezhaSimulator, entry_id: str = ENTRY_ID, **options: object
) -> MockConfigEntry:
    """A v0 entry with the alerts webhook enabled."""
    return v0_entry(simulator.url, entry_id=entry_id, **{**OPTIONS, **options})


@pytest.fixture
async def entry(hass: HomeAssistant, simulator: NezhaSimulator) -> MockConfigEntry:
    """The v0 entry, set up with the webhook."""
    config_entry = alerts_entry(simulator)
    await setup_integration(hass, config_entry)
    return config_entry


@pytest.fixture
async def post(hass_client_no_auth: ClientSessionGenerator) -> Post:
    """POST a notification to the webhook exactly as a v0 dashboard does."""
    client = await hass_client_no_auth()

    async def send(
        message: str,
        server: AlertServer | None = None,
        *,
        request_type: int = JSON,
    ) -> ClientResponse:
        body, content_type = render(
            message, server, request_type=request_type, generation="v0"
        )
        return await client.post(
            f"/api/webhook/{WEBHOOK_ID}",
            data=body,
            headers={"Content-Type": content_type},
        )

    return send


@pytest.fixture
def offline(hass: HomeAssistant, simulator: NezhaSimulator, post: Post) -> Alert:
    """Send the alert of an offline rule about a server, and let it be handled."""

    async def send(sid: int, word: str = "Incident") -> None:
        name = simulator.fleet.servers[sid].name
        message = alert_message(word, name, "10.*.*.*", "Offline")
        assert (await post(message, AlertServer(sid, name))).status == 200
        await hass.async_block_till_done(wait_background_tasks=True)

    return send


def webhooks(hass: HomeAssistant) -> dict[str, dict[str, Any]]:
    """Registered webhooks by id (2026.3 keeps dicts, newer releases dataclasses)."""
    return {
        webhook_id: value
        if isinstance(value, dict)
        else {f.name: getattr(value, f.name) for f in fields(value)}
        for webhook_id, value in hass.data.get("webhook", {}).items()
    }


def event(hass: HomeAssistant, entry: MockConfigEntry, key: str) -> dict[str, Any]:
    """The state and attributes of an event entity."""
    found = state(hass, entry, key, "event")
    return {"state": found.state, **found.attributes}


def online(hass: HomeAssistant, entry: MockConfigEntry, sid: int) -> str:
    """A server's online binary sensor."""
    return state(hass, entry, f"{sid}_online", "binary_sensor").state


# ------------------------------------------------------------------------ events


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


async def test_alert_reaches_dashboard_and_server_events(
    hass: HomeAssistant, entry: MockConfigEntry, simulator: NezhaSimulator, post: Post
) -> None:
    """An incident about a server fires on the dashboard's and that server's event."""
    nas = AlertServer(NAS, simulator.fleet.servers[NAS].name)
    message = alert_message("Incident", nas.name, "192.168.*.*", "CPU > 90%")
    assert (await post(message, nas)).status == 200
    await hass.async_block_till_done(wait_background_tasks=True)
    expected = {
        "event_type": "incident",
        "message": message,
        "server_id": NAS,
        "server_name": nas.name,
        "rule": "CPU > 90%",
    }
    dashboard = event(hass, entry, "alerts")
    on_server = event(hass, entry, f"{NAS}_alerts")
    assert dashboard["state"] == on_server["state"] == "2026-06-01T12:00:00.000+00:00"
    assert {key: dashboard[key] for key in expected} == expected
    assert {key: on_server[key] for key in expected} == expected
    assert event(hass, entry, f"{HK}_alerts")["state"] == STATE_UNKNOWN
    # A CPU alert about a server that reports normally leaves it online.
    assert online(hass, entry, NAS) == STATE_ON
    assert NAS not in entry.runtime_data.silenced


async def test_test_message_and_form_body(
    hass: HomeAssistant, entry: MockConfigEntry, post: Post
) -> None:
    """Nezha's test message (no server) and a Form body; names with quotes survive."""
    assert (await post("这是测试消息", request_type=FORM)).status == 200
    await hass.async_block_till_done()
    dashboard = event(hass, entry, "alerts")
    assert dashboard["event_type"] == "test"
    assert dashboard["message"] == "这是测试消息"
    assert dashboard["server_id"] is None
    assert event(hass, entry, f"{NAS}_alerts")["state"] == STATE_UNKNOWN

    # The body carries the name the dashboard has now, whatever it looks like.
    renamed = AlertServer(HK, 'web "prod" \\ 01')
    message = alert_message("Resolved", renamed.name, "1.*", 'Traffic "monthly"')
    for request_type in (FORM, JSON):
        assert (await post(message, renamed, request_type=request_type)).status == 200
        await hass.async_block_till_done(wait_background_tasks=True)
        hk = event(hass, entry, f"{HK}_alerts")
        assert (hk["event_type"], hk["server_name"], hk["rule"], hk["message"]) == (
            "resolved",
            renamed.name,
            'Traffic "monthly"',
            message,
        )


# ------------------------------------------------------------- the online state


async def test_offline_alert_turns_the_server_off_at_once(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    simulator: NezhaSimulator,
    offline: Alert,
    frozen: FrozenDateTimeFactory,
) -> None:
    """Offline before the 60 s threshold, held until it agrees, back on recovery."""
    coordinator = entry.runtime_data
    simulator.set_online(NAS, False)
    await tick(hass, frozen, delta=timedelta(seconds=7))
    assert online(hass, entry, NAS) == STATE_ON  # 7 s < the 60 s threshold

    before = len(simulator.requests)
    await offline(NAS)
    assert online(hass, entry, NAS) == STATE_OFF
    assert state(hass, entry, "any_offline", "binary_sensor").state == STATE_ON
    assert paths(simulator)[before:] == [DETAILS]  # the one poll that checked it
    assert NAS in coordinator.silenced

    await tick(hass, frozen)  # 38 s: the threshold alone would say online
    assert online(hass, entry, NAS) == STATE_OFF
    assert NAS in coordinator.silenced
    await tick(hass, frozen)  # 69 s: the threshold agrees, the hold is released
    assert online(hass, entry, NAS) == STATE_OFF
    assert NAS not in coordinator.silenced

    await offline(NAS)  # another alert about the offline server changes nothing
    assert NAS not in coordinator.silenced

    simulator.set_online(NAS, True)
    await offline(NAS, "Resolved")
    assert online(hass, entry, NAS) == STATE_ON  # read again at once
    assert event(hass, entry, f"{NAS}_alerts")["event_type"] == "resolved"


async def test_agent_back_before_the_threshold(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    simulator: NezhaSimulator,
    offline: Alert,
    frozen: FrozenDateTimeFactory,
) -> None:
    """A report newer than the one seen at the alert ends the hold."""
    simulator.set_online(HK, False)
    await tick(hass, frozen, delta=timedelta(seconds=10))
    await offline(HK)
    assert online(hass, entry, HK) == STATE_OFF
    simulator.set_online(HK, True)
    await tick(hass, frozen)  # the next regular poll
    assert online(hass, entry, HK) == STATE_ON
    assert HK not in entry.runtime_data.silenced


async def test_alerts_share_one_check(
    hass: HomeAssistant, entry: MockConfigEntry, simulator: NezhaSimulator, post: Post
) -> None:
    """Alerts that come while a check runs are checked together, once more."""
    coordinator = entry.runtime_data
    refresh = coordinator.async_refresh
    gate = asyncio.Event()
    calls = 0

    async def slow_refresh() -> None:
        nonlocal calls
        calls += 1
        await gate.wait()
        await refresh()

    hk = simulator.fleet.servers[HK].name
    message = alert_message("Incident", hk, "10.*.*.*", "Offline")
    with patch.object(coordinator, "async_refresh", slow_refresh):
        for sid in (HK, 2, 3, NAS):
            name = simulator.fleet.servers[sid].name
            assert (await post(message, AlertServer(sid, name))).status == 200
            await asyncio.sleep(0)
        gate.set()
        await hass.async_block_till_done(wait_background_tasks=True)
    assert calls == 2


@pytest.mark.parametrize("refused_token", [False, True], ids=["failed", "refused"])
async def test_check_that_cannot_run_holds_nothing(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    simulator: NezhaSimulator,
    offline: Alert,
    *,
    frozen: FrozenDateTimeFactory,
    refused_token: bool,
) -> None:
    """A failed check holds nothing offline; after a refused token none is sent."""
    simulator.set_online(NAS, False)
    await tick(hass, frozen, delta=timedelta(seconds=7))
    if refused_token:
        entry.runtime_data._auth_failed = True
    else:
        simulator.inject_fault(Fault.HTML_502, path=DETAILS)
    before = len(simulator.requests)
    await offline(NAS)
    assert NAS not in entry.runtime_data.silenced
    assert event(hass, entry, f"{NAS}_alerts")["event_type"] == "incident"
    assert len(simulator.requests) == before + (0 if refused_token else 1)


# ------------------------------------------------------------------- refusals


async def test_bad_bodies_change_nothing(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    simulator: NezhaSimulator,
    hass_client_no_auth: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Wrong shape, unknown server, too large, wrong method: refused, no event."""
    client = await hass_client_no_auth()
    url = f"/api/webhook/{WEBHOOK_ID}"
    before = len(simulator.requests)
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
        response = await client.post(
            url, data=body, headers={"Content-Type": content_type}
        )
        assert response.status == status, body[:40]

    # Sent in chunks without a length, the limit still holds.
    async def chunks() -> Any:
        for _ in range(3):
            yield b"x" * (MAX_ALERT_BYTES // 2)

    response = await client.post(url, data=chunks())
    assert response.status == 413
    response = await client.get(url, params={"message": "x"})
    assert response.status == 405
    await hass.async_block_till_done(wait_background_tasks=True)

    assert event(hass, entry, "alerts")["state"] == STATE_UNKNOWN
    assert all(
        event(hass, entry, f"{sid}_alerts")["state"] == STATE_UNKNOWN
        for sid in simulator.fleet.servers
    )
    assert len(simulator.requests) == before
    refusals = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith(NEZHA_LOGGER) and "Refused an alert" in r.getMessage()
    ]
    assert len(refusals) == 8
    assert any("unknown server" in text for text in refusals)
    # The id is the secret of the URL: the integration never logs it.
    assert not [
        r
        for r in caplog.records
        if r.name.startswith(NEZHA_LOGGER) and WEBHOOK_ID in r.getMessage()
    ]


async def test_registration_and_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    entry: MockConfigEntry,
    simulator: NezhaSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """POST only, local only; a copy with the same id loads without it; diagnostics
    show alerts on but never the id; gone when the entry unloads."""
    registered = webhooks(hass)[WEBHOOK_ID]
    assert registered["domain"] == DOMAIN
    assert registered["local_only"] is True
    assert registered["allowed_methods"] == frozenset({"POST"})

    other = alerts_entry(simulator, entry_id="01NEZHATESTENTRY000000000B")
    other.add_to_hass(hass)
    assert await hass.config_entries.async_setup(other.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert "already in use" in caplog.text
    assert webhooks(hass)[WEBHOOK_ID]["name"] == f"Nezha {ENTRY_TITLE}"

    data = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    options = data["entry"]["options"]  # type: ignore[index,call-overload]
    assert options[CONF_ALERTS_WEBHOOK] is True
    assert options[CONF_WEBHOOK_ID] == "**REDACTED**"
    assert WEBHOOK_ID not in str(data)

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert WEBHOOK_ID not in webhooks(hass)


# -------------------------------------------------------------------- options


async def test_options_enable_keep_and_disable(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Off by default; enabling shows the URL and template (a path without a known
    address); the id stays; disabling removes the webhook and the events."""
    entry, base = init_integration, BASE_OPTIONS
    registry = er.async_get(hass)

    def event_entities() -> set[str]:
        entries = er.async_entries_for_config_entry(registry, entry.entry_id)
        return {e.unique_id for e in entries if e.domain == "event"}

    assert not [h for h in webhooks(hass).values() if h["domain"] == DOMAIN]
    assert event_entities() == set()
    result = await hass.config_entries.options.async_init(entry.entry_id)
    with patch(
        "homeassistant.components.webhook.async_generate_url",
        side_effect=NoURLAvailableError,
    ):
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {**base, CONF_ALERTS_WEBHOOK: True}
        )
    url = result["description_placeholders"]["url"]
    assert url.startswith("http://<home-assistant>:8123/api/webhook/")
    hass.config_entries.options.async_abort(result["flow_id"])

    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert default(result, CONF_ALERTS_WEBHOOK) is False
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**base, CONF_ALERTS_WEBHOOK: True}
    )
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "alerts")
    assert default(result, CONF_WEBHOOK_LOCAL_ONLY) is True
    placeholders = result["description_placeholders"]
    assert placeholders["template"] == ALERT_TEMPLATE
    url = placeholders["url"]
    assert url.startswith("http")
    webhook_id = url.rsplit("/api/webhook/", 1)[1]
    assert len(webhook_id) == 64
    assert int(webhook_id, 16) >= 0
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_WEBHOOK_LOCAL_ONLY: False}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {
        **base,
        CONF_ALERTS_WEBHOOK: True,
        CONF_WEBHOOK_ID: webhook_id,
        CONF_WEBHOOK_LOCAL_ONLY: False,
    }
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
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert default(result, CONF_ALERTS_WEBHOOK) is True
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**base, CONF_ALERTS_WEBHOOK: True}
    )
    assert result["description_placeholders"]["url"] == url
    assert default(result, CONF_WEBHOOK_LOCAL_ONLY) is False
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_WEBHOOK_LOCAL_ONLY: False}
    )
    assert entry.options[CONF_WEBHOOK_ID] == webhook_id

    # Turned off: the webhook and the event entities are gone.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**base, CONF_ALERTS_WEBHOOK: False}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == base
    await hass.async_block_till_done(wait_background_tasks=True)
    assert webhook_id not in webhooks(hass)
    assert event_entities() == set()
