"""A clean shutdown: unload, reload, reconfigure and reauth while a refresh is slow.

Whatever the entry started (refreshes, ping rounds, the stream) is cancelled at
unload, and nothing is started after it: the unload takes well under a second
and not one request of the old generation of the entry reaches the dashboard
after it. Real time (the stream and the slow answers run on it); the dashboard
answers the inventory (v1) or the details (v0) request after ``SLOW`` seconds.

On v0 the slow refresh is one a user asked for (``homeassistant.update_entity``),
which runs in the service call's task, not in one of the entry's; on v1 it is the
inventory refresh a new server in the stream starts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
import time
from typing import Any

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import CONF_API_TOKEN, CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from nezha_dev.simulator import Fault, NezhaSimulator
from tests.hardening import test_bounds as bounds
from tests.helpers import (
    DETAILS,
    SERVERS,
    TOKEN,
    register_secret,
    start_live,
    until,
    v0_entry,
)

SLOW = 2.0  # seconds the dashboard takes for the slow answer
UNLOAD_LIMIT = 1.0
NEW_V0_TOKEN = register_secret("Nw0TokenQ1w2E3r4T5y6U7i8O9p0A1s2D")
NEW_PAT = register_secret("nzp_Sh0tD0wnT0kenA1b2C3d4E5f6G7h8I9j")
ACTIONS = ("unload", "reload", "reconfigure", "reauth")


def wall() -> float:
    """Real elapsed seconds."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


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
        """Record the state changes of the entry and spy on the old client."""
        self.unsub = self.entry.async_on_state_change(self._state_changed)
        client = self.entry.runtime_data.client
        transport = client._transport  # the old generation's own transport
        original_get = transport.get

        async def get(path: str, **kwargs: Any) -> Any:
            if self.unloaded_at is not None:
                self.calls_after.append(path)
            return await original_get(path, **kwargs)

        transport.get = get  # type: ignore[method-assign]
        if hasattr(client, "async_connect_stream"):
            original_connect = client.async_connect_stream

            async def connect() -> Any:
                if self.unloaded_at is not None:
                    self.calls_after.append("stream")
                return await original_connect()

            client.async_connect_stream = connect

    def _state_changed(self) -> None:
        state = self.entry.state
        if state is ConfigEntryState.UNLOAD_IN_PROGRESS and self.unloading_at is None:
            self.unloading_at = wall()
        if state is ConfigEntryState.NOT_LOADED and self.unloaded_at is None:
            self.unloaded_at = wall()
            self.requests_at_unload = len(self.sim.requests)

    @property
    def unload_seconds(self) -> float:
        """How long the old generation took to unload."""
        assert self.unloading_at is not None and self.unloaded_at is not None
        return self.unloaded_at - self.unloading_at

    def old_token_requests_after(self) -> list[str]:
        """Requests carrying the old token that arrived after the unload."""
        assert self.requests_at_unload is not None
        return [
            r.path
            for r in self.sim.requests[self.requests_at_unload :]
            if self.old_token in r.headers.get("Authorization", "")
        ]


async def reconfigure(
    hass: HomeAssistant, entry: MockConfigEntry, url: str, token: str
) -> None:
    """Change the token in the reconfigure flow (the entry reloads)."""
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_URL: url, CONF_API_TOKEN: token, CONF_VERIFY_SSL: True}
    )  # an empty token keeps the stored one
    assert result["type"] is FlowResultType.ABORT, result
    assert result["reason"] == "reconfigure_successful"


async def reauth(hass: HomeAssistant, entry: MockConfigEntry, token: str) -> None:
    """Enter a new token in a reauth flow (the entry reloads)."""
    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_TOKEN: token}
    )
    assert result["type"] is FlowResultType.ABORT, result
    assert result["reason"] == "reauth_successful"


async def act(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    action: str,
    new_token: str,
    rotate: Callable[[], None],
) -> None:
    """Unload, reload, reconfigure or reauthenticate the entry."""
    if action == "unload":
        assert await hass.config_entries.async_unload(entry.entry_id)
    elif action == "reload":
        assert await hass.config_entries.async_reload(entry.entry_id)
    elif action == "reconfigure":
        rotate()
        await reconfigure(hass, entry, entry.data[CONF_URL], new_token)
    else:
        rotate()  # the old token no longer works: each request with it is refused
        await reauth(hass, entry, new_token)


async def check_quiet_after(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    watch: Watch,
    action: str,
    wait_reloaded: Callable[[], Awaitable[None]],
) -> None:
    """The old generation unloaded fast and sent nothing after it."""
    if action != "unload":
        await wait_reloaded()
    # Long enough for the slow answer to have come back, and for what it would
    # have started (a ping round, a stream) to have been sent.
    await asyncio.sleep(SLOW + 1.5)
    await hass.async_block_till_done()
    watch.unsub()
    assert watch.unload_seconds < UNLOAD_LIMIT, watch.unload_seconds
    assert watch.calls_after == []
    if entry.data[CONF_API_TOKEN] != watch.old_token:
        assert watch.old_token_requests_after() == []
    if action == "unload":
        assert watch.requests_at_unload == len(watch.sim.requests)
    # A late answer of the old generation opens no reauth flow either.
    assert not list(entry.async_get_active_flows(hass, {SOURCE_REAUTH}))


@pytest.mark.parametrize("action", ACTIONS)
async def test_v0_slow_refresh_then(
    hass: HomeAssistant, v0_sim: NezhaSimulator, action: str
) -> None:
    """v0: a user's refresh hangs on the dashboard while the entry goes away."""
    sim = v0_sim
    assert await async_setup_component(hass, "homeassistant", {})
    entry = v0_entry(sim.url, ping_interval=1)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    old = entry.runtime_data
    await asyncio.sleep(1.1)  # the ping history is due again

    sim.slow_seconds = SLOW
    sim.inject_fault(Fault.SLOW, count=1, path=DETAILS)
    before = len(sim.requests)
    cpu = hass.states.async_entity_ids("sensor")[0]
    refresh = hass.async_create_task(
        hass.services.async_call(
            "homeassistant", "update_entity", {"entity_id": cpu}, blocking=True
        )
    )
    await until(lambda: DETAILS in [r.path for r in sim.requests[before:]], "refresh")

    watch = Watch(entry, sim, TOKEN)

    async def wait_reloaded() -> None:
        await until(
            lambda: (
                entry.state is ConfigEntryState.LOADED and entry.runtime_data is not old
            ),
            "the reload",
        )

    def rotate() -> None:
        if action == "reauth":  # the dashboard refuses the old token now
            sim.set_token(NEW_V0_TOKEN)

    # v0 has one token: a reconfigure keeps it (empty field), so what the old
    # generation sends is told apart by the spy on its client alone.
    new_token = NEW_V0_TOKEN if action == "reauth" else ""
    await act(hass, entry, action, new_token, rotate)
    await check_quiet_after(hass, entry, watch, action, wait_reloaded)
    await refresh


@pytest.mark.parametrize("action", ACTIONS)
async def test_v1_slow_inventory_then(
    hass: HomeAssistant, v1_sim: NezhaSimulator, action: str
) -> None:
    """v1: a new server in the stream starts an inventory refresh that hangs."""
    sim = v1_sim
    live = await start_live(hass, sim, scan_interval=1, ping_interval=1)
    entry, old = live.entry, live.coordinator
    await asyncio.sleep(1.1)  # an inventory refresh is allowed again

    sim.slow_seconds = SLOW
    sim.inject_fault(Fault.SLOW, count=None, path=SERVERS)
    before = len(sim.requests)
    sim.add_server("newcomer")
    await until(
        lambda: SERVERS in [r.path for r in sim.requests[before:]], "the inventory"
    )

    watch = Watch(entry, sim, entry.data[CONF_API_TOKEN])

    def rotate() -> None:
        # The old token keeps working: every request it still sent would count
        # (and, revoked, be a WAF strike each).
        sim.add_token(token=NEW_PAT)

    async def wait_reloaded() -> None:
        sim.clear_faults()
        await until(
            lambda: (
                entry.state is ConfigEntryState.LOADED
                and entry.runtime_data is not old
                and entry.runtime_data.frames_received > 0
            ),
            "the reload",
            limit=15,
        )

    await act(hass, entry, action, NEW_PAT, rotate)
    await check_quiet_after(hass, entry, watch, action, wait_reloaded)


# -- side requests while the platforms unload -------------------------------------------


@pytest.mark.usefixtures("socket_enabled")
async def test_side_round_stops_when_unloading_begins(hass: HomeAssistant) -> None:
    """Unloading stops the side round first: no request of it answers or follows.

    Between the start of an unload and the coordinators' shutdown the platforms
    unload; a round still running then would send requests that are dropped (and,
    after a reauth, carry a token the dashboard refuses).
    """
    answered = asyncio.Event()
    async with bounds.dashboard(
        [bounds.record(1)], bounds.monitors(3), monitors_after=answered
    ) as url:
        entry = v0_entry(url)
        entry.add_to_hass(hass)
        await hass.config_entries.async_setup(entry.entry_id)
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


@pytest.mark.usefixtures("socket_enabled")
async def test_failed_unload_resumes_the_side_data(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If a platform cannot unload, the entry stays and its side data goes on."""
    async with bounds.dashboard([bounds.record(1)], bounds.monitors(1)) as url:
        entry = v0_entry(url)
        entry.add_to_hass(hass)
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done(wait_background_tasks=True)
        side = entry.runtime_data.side

        async def refuse(*_: Any) -> bool:
            return False  # Home Assistant's answer when a platform fails to unload

        monkeypatch.setattr(hass.config_entries, "async_unload_platforms", refuse)
        assert not await hass.config_entries.async_unload(entry.entry_id)
        assert not side.halted
        monkeypatch.undo()
