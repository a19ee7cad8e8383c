"""Alerts on a v1/v2 entry: the stream's data is fresh, so no request is needed."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.nezha.const import (
    CONF_ALERTS_WEBHOOK,
    CONF_WEBHOOK_ID,
    CONF_WEBHOOK_LOCAL_ONLY,
)
from nezha_dev.simulator import NezhaSimulator
from nezha_dev.simulator.notify import AlertServer, alert_message, render
from tests.helpers import MakeLive, until

HK = 1
WEBHOOK_ID = "b2" * 32


async def test_alert_on_a_streaming_entry(
    hass: HomeAssistant,
    make_live: MakeLive,
    sim: NezhaSimulator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """The stream already shows a disconnect; the alert adds its event, no request.

    A v1/v2 dashboard sends the zero time as ``last_active`` once the agent is
    gone, so the stream shows it offline before Nezha's rule fires; the check
    after the alert reads the live data and sends nothing.
    """
    live = await make_live(
        **{
            CONF_ALERTS_WEBHOOK: True,
            CONF_WEBHOOK_ID: WEBHOOK_ID,
            CONF_WEBHOOK_LOCAL_ONLY: True,
        }
    )
    sim.set_online(HK, False)
    await until(lambda: live.online(HK) == "off", "offline from the stream", 3.0)

    name = sim.fleet.servers[HK].name
    message = alert_message("Incident", name, "203.0.*.*", "Offline")
    body, content_type = render(message, AlertServer(HK, name))
    client = await hass_client_no_auth()
    before = len(sim.requests)
    response = await client.post(
        f"/api/webhook/{WEBHOOK_ID}", data=body, headers={"Content-Type": content_type}
    )
    assert response.status == 200
    events = live.entity_id(f"{HK}_alerts", "event")
    await until(
        lambda: hass.states.get(events).attributes.get("message") == message,  # type: ignore[union-attr]
        "the event",
        1.0,
    )
    await hass.async_block_till_done()
    assert live.paths(since=before) == []  # the live stream was enough
    assert live.online(HK) == "off"
    assert HK not in live.coordinator.silenced  # already offline: nothing to hold

    sim.set_online(HK, True)
    await until(lambda: live.online(HK) == "on", "online again", 3.0)
