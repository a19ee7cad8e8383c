"""WAF safety of the v1 coordinator: one refused request, then nothing at all.

Every refused token is a strike against Home Assistant's IP on a v1 dashboard
(banned for max(3, n**4) s after n strikes), so after the first refusal the
integration must stop the stream, the polls and the side requests until the user
enters a new token. Real time for the stream, then simulated minutes for timers.
"""

from __future__ import annotations

import asyncio

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.data_entry_flow import FlowResultType
import pytest

from custom_components.nezha import async_remove_config_entry_device
from custom_components.nezha.client.v1 import StreamFrame
from nezha_dev.simulator import Fault, NezhaSimulator
from tests.conftest import register_secret
from tests.helpers import (
    GROUPS,
    SERVERS,
    SERVICES,
    WS,
    Live,
    MakeLive,
    server_device,
    simulated_minutes,
    until,
)

HK = 1
NEW_PAT = register_secret("nzp_N3wV1T0kenB2c3D4e5F6g7H8i9J0k1L2")


def assert_one_rest_refusal(sent: list[str]) -> None:
    """One REST request of a poll was refused (maybe half done); only 502'd handshakes."""
    assert len([p for p in sent if p != WS]) == 1, sent
    assert sent[-1] in (SERVERS, GROUPS), sent


async def assert_silence(live: Live, since: int, sent: list[str]) -> None:
    """Nothing more reaches the dashboard, in real time and over simulated minutes."""
    await asyncio.sleep(2)  # two update intervals of the fast tests, in real time
    await simulated_minutes(live, 10)
    assert live.paths(since=since) == sent
    assert live.sim.ws_connections == 0
    assert len(live.reauth_flows()) == 1


async def assert_reauth_explains_ban(live: Live) -> None:
    """The reauth form opens with the WAF ban as its error."""
    flow_id = live.reauth_flows()[0]["flow_id"]
    result = await live.hass.config_entries.flow.async_configure(flow_id)
    assert result["step_id"] == "reauth_confirm"
    assert result["errors"] == {"base": "waf_blocked"}


async def test_revoked_token_refused_at_handshake(
    make_live: MakeLive, sim: NezhaSimulator
) -> None:
    """Revoking closes the stream; its reconnect is refused once, then silence."""
    live = await make_live(scan_interval=30)
    before = len(sim.requests)
    sim.revoke_token()
    await until(lambda: bool(live.reauth_flows()), "a reauth flow", limit=5)
    assert live.paths(since=before) == [WS]
    assert sim.waf_strikes() == 1
    assert live.entry.state is ConfigEntryState.LOADED
    assert live.state(f"{HK}_cpu_usage") == STATE_UNAVAILABLE
    assert live.online(HK) == STATE_UNAVAILABLE
    await assert_silence(live, before, [WS])
    assert sim.waf_strikes() == 1

    # A frame still in flight when the token was refused changes nothing and
    # asks for nothing (no recovery refresh).
    coordinator = live.coordinator
    assert coordinator._latest is not None
    coordinator._on_frame(StreamFrame(coordinator._latest, frozenset(), frozenset()))
    await live.hass.async_block_till_done()
    assert live.paths(since=before) == [WS]
    assert live.online(HK) == STATE_UNAVAILABLE

    # Neither the options form (server groups) nor deleting a device asks the
    # dashboard with the refused token.
    result = await live.hass.config_entries.options.async_init(live.entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    live.hass.config_entries.options.async_abort(result["flow_id"])
    device = server_device(live.hass, live.entry, HK)
    assert device is not None
    assert not await async_remove_config_entry_device(live.hass, live.entry, device)
    assert live.paths(since=before) == [WS]

    # The user enters a new token: the entry reloads and streams again.
    sim.add_token(token=NEW_PAT)
    sim.shift_clock(4)  # past the 3 s ban of the one strike
    flow_id = live.reauth_flows()[0]["flow_id"]
    result = await live.hass.config_entries.flow.async_configure(
        flow_id, {"api_token": NEW_PAT}
    )
    assert result["reason"] == "reauth_successful"
    await live.hass.async_block_till_done()
    assert live.entry.state is ConfigEntryState.LOADED
    await live.frames(2)
    assert live.online(HK) == "on"
    assert sim.waf_strikes() == 0


@pytest.mark.parametrize("blocked", [False, True], ids=["revoked", "waf_block"])
async def test_refused_on_rest_poll(
    make_live: MakeLive,
    sim: NezhaSimulator,
    caplog: pytest.LogCaptureFixture,
    blocked: bool,
) -> None:
    """While the stream is down, the REST poll is the one refused request."""
    live = await make_live(scan_interval=1)
    sim.inject_fault(Fault.HTML_502, count=None, path=WS)  # handshakes never auth
    await sim.drop_websockets()
    before = len(sim.requests)
    await until(lambda: live.count(SERVERS, since=before) > 0, "REST fallback", 3)

    refused = len(sim.requests)
    sim.block_ip() if blocked else sim.revoke_token()
    await until(lambda: bool(live.reauth_flows()), "a reauth flow", limit=5)
    sent = live.paths(since=refused)
    assert_one_rest_refusal(sent)
    if blocked:
        assert "WAF" in caplog.text
        await assert_reauth_explains_ban(live)
    else:
        assert sim.waf_strikes() == 1
    await assert_silence(live, refused, sent)


@pytest.mark.parametrize("blocked", [False, True], ids=["expired", "waf_block"])
async def test_refused_in_ping_round(
    make_live: MakeLive, sim: NezhaSimulator, blocked: bool
) -> None:
    """The stream outlives the token or the block; one side request alone is refused."""
    expiring = register_secret(sim.add_token(expires_in=3600))
    live = await make_live(expiring, scan_interval=1, ping_interval=1)
    if not blocked:  # blocked at once, the next round's first request meets it
        await until(lambda: live.count(SERVICES) >= 2, "a second ping round")
    refused = len(sim.requests)
    sim.block_ip() if blocked else sim.shift_clock(3601)
    await until(lambda: bool(live.reauth_flows()), "a reauth flow", limit=5)
    sent = live.paths(since=refused)
    assert len(sent) == 1
    assert sent[0].endswith("/service"), sent
    if blocked:
        await assert_reauth_explains_ban(live)
        await until(lambda: sim.ws_connections == 0, "the stream closed", limit=2)
    await assert_silence(live, refused, sent)
    assert sim.waf_strikes() == (99999 if blocked else 1)  # a manual block: 99999
