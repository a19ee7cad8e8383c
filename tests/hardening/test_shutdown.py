"""Unload, reload, reconfigure, reauth in a slow refresh: the old entry stops."""

import asyncio
from dataclasses import dataclass, field
from typing import Any

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import CONF_API_TOKEN, CONF_URL
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from nezha_dev.simulator import Fault, NezhaSimulator
from tests.config_flow.helpers import assert_aborted, submit, user_input
from tests.hardening.helpers import dashboard, loaded, monitors, record
from tests.helpers import (
    DETAILS,
    SERVERS,
    register_secret,
    setup_integration,
    start_live,
    until,
    v0_entry,
)
from tests.reliability.helpers import wall

pytestmark = pytest.mark.usefixtures("socket_enabled")
SLOW = 2.0  # seconds the dashboard takes for the slow answer
NEW_TOKEN = {
    "v0": register_secret("Nw0TokenQ1w2E3r4T5y6U7i8O9p0A1s2D"),
    "v1": register_secret("nzp_Sh0tD0wnT0kenA1b2C3d4E5f6G7h8I9j"),
}


@dataclass
class Watch:
    """When the old generation unloaded, and what it sent afterwards."""

    entry: MockConfigEntry
    sim: NezhaSimulator
    old_token: str
    unloading_at: float | None = None
    unloaded_at: float | None = None
    requests_at_unload: int | None = None
    calls_after: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Record the entry's state changes and spy on the old client."""
        self.unsub = self.entry.async_on_state_change(self._state_changed)
        client = self.entry.runtime_data.client
        transport = client._transport  # the old generation's own transport

        def spy(call: Any, name: str | None = None) -> Any:
            async def spied(*args: Any, **kwargs: Any) -> Any:
                if self.unloaded_at is not None:
                    self.calls_after.append(name or args[0])
                return await call(*args, **kwargs)

            return spied

        transport.get = spy(transport.get)
        if hasattr(client, "async_connect_stream"):
            client.async_connect_stream = spy(client.async_connect_stream, "stream")

    def _state_changed(self) -> None:
        state = self.entry.state
        if state is ConfigEntryState.UNLOAD_IN_PROGRESS and self.unloading_at is None:
            self.unloading_at = wall()
        if state is ConfigEntryState.NOT_LOADED and self.unloaded_at is None:
            self.unloaded_at = wall()
            self.requests_at_unload = len(self.sim.requests)

    def old_token_requests_after(self) -> list[str]:
        """Requests carrying the old token that arrived after the unload."""
        return [
            r.path
            for r in self.sim.requests[self.requests_at_unload :]
            if self.old_token in r.headers.get("Authorization", "")
        ]


async def act(
    hass: HomeAssistant, entry: MockConfigEntry, action: str, token: str
) -> None:
    """Unload, reload, reconfigure or reauthenticate (with ``token``) the entry."""
    if action in ("unload", "reload"):
        assert await getattr(hass.config_entries, f"async_{action}")(entry.entry_id)
        return
    if action == "reconfigure":
        result = await entry.start_reconfigure_flow(hass)
        data = user_input(entry.data[CONF_URL], token)
    else:
        result = await entry.start_reauth_flow(hass)
        data = {CONF_API_TOKEN: token}
    result = await submit(hass, result, data)
    assert_aborted(result, f"{action}_successful")


@pytest.mark.parametrize("action", ["unload", "reload", "reconfigure", "reauth"])
@pytest.mark.parametrize("generation", ["v0", "v1"])
async def test_slow_refresh_then(
    hass: HomeAssistant, sim: NezhaSimulator, generation: str, action: str
) -> None:
    """The entry goes while a refresh hangs (v0: a user's; v1: for a new server)."""
    if generation == "v0":
        assert await async_setup_component(hass, "homeassistant", {})
        entry = v0_entry(sim.url, ping_interval=1)
        await setup_integration(hass, entry)
    else:
        entry = (await start_live(hass, sim, scan_interval=1, ping_interval=1)).entry
    old = entry.runtime_data
    await asyncio.sleep(1.1)  # the ping history (v1: an inventory refresh) is due again

    sim.slow_seconds = SLOW
    before = len(sim.requests)
    refresh = None
    if generation == "v0":
        sim.inject_fault(Fault.SLOW, count=1, path=DETAILS)
        cpu = hass.states.async_entity_ids("sensor")[0]
        refresh = hass.async_create_task(
            hass.services.async_call(
                "homeassistant", "update_entity", {"entity_id": cpu}, blocking=True
            )
        )
    else:
        sim.inject_fault(Fault.SLOW, count=None, path=SERVERS)
        sim.add_server("newcomer")
    slow_path = DETAILS if generation == "v0" else SERVERS
    await until(lambda: slow_path in [r.path for r in sim.requests[before:]], "it")
    watch = Watch(entry, sim, entry.data[CONF_API_TOKEN])

    token = NEW_TOKEN[generation]
    if generation == "v1" and action in ("reconfigure", "reauth"):
        # The old token keeps working: every request it still sent would count
        # (and, revoked, be a WAF strike each).
        sim.add_token(token=token)
    elif action == "reauth":
        sim.set_token(token)  # v0: each request with the old token is refused
    else:
        # v0 has one token: a reconfigure keeps it (empty field), so what the old
        # generation sends is told apart by the spy on its client alone.
        token = ""
    await act(hass, entry, action, token)
    if action != "unload":
        if generation == "v1":
            sim.clear_faults()

        def reloaded() -> bool:
            return (
                entry.state is ConfigEntryState.LOADED
                and entry.runtime_data is not old
                and (generation == "v0" or entry.runtime_data.frames_received > 0)
            )

        await until(reloaded, "the reload", limit=15)
    # Long enough for the slow answer to have come back, and for what it would
    # have started (a ping round, a stream) to have been sent.
    await asyncio.sleep(SLOW + 1.5)
    await hass.async_block_till_done()
    watch.unsub()
    assert watch.unloading_at is not None and watch.unloaded_at is not None
    assert watch.unloaded_at - watch.unloading_at < 1.0
    assert watch.calls_after == []
    if entry.data[CONF_API_TOKEN] != watch.old_token:
        assert watch.old_token_requests_after() == []
    if action == "unload":
        assert watch.requests_at_unload == len(sim.requests)
    # A late answer of the old generation opens no reauth flow either.
    assert not list(entry.async_get_active_flows(hass, {SOURCE_REAUTH}))
    if refresh is not None:
        await refresh


# -- side requests while the platforms unload -------------------------------------------


async def test_side_round_stops_when_unloading_begins(hass: HomeAssistant) -> None:
    """Unloading stops the side round first; resumed, it goes on and unloads cleanly."""
    answered = asyncio.Event()
    async with dashboard([record(1)], monitors(3), monitors_after=answered) as url:
        entry = v0_entry(url)
        await setup_integration(hass, entry, background=False)
        side = entry.runtime_data.side
        await until(lambda: side._running, "the first round's request")

        side.stop()  # what async_unload_entry does first
        await until(lambda: not side._running, "the round to be cancelled")
        answered.set()
        await entry.runtime_data.async_refresh()  # an answer that would start one
        await hass.async_block_till_done(wait_background_tasks=True)
        assert not side._running
        assert side.data.pings == {}

        side.resume()  # the unload failed: the next answer starts the round
        await entry.runtime_data.async_refresh()
        await hass.async_block_till_done(wait_background_tasks=True)
        assert set(side.data.pings[1]) == {1, 2, 3}
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_failed_unload_resumes_the_side_data(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If a platform cannot unload, the entry stays and its side data goes on."""
    async with loaded(hass, [record(1)], monitors(1)) as entry:

        async def refuse(*_: Any) -> bool:
            return False  # Home Assistant's answer when a platform fails to unload

        monkeypatch.setattr(hass.config_entries, "async_unload_platforms", refuse)
        assert not await hass.config_entries.async_unload(entry.entry_id)
        assert not entry.runtime_data.side.halted
        monkeypatch.undo()
