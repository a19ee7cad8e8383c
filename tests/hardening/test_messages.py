"""The right message for odd input: a script redirect, a huge or an empty token."""

from __future__ import annotations

import aiohttp
from homeassistant.const import CONF_API_TOKEN
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.nezha.client import NezhaTokenError, NezhaV0Client, NezhaV1Client
from nezha_dev.simulator import NezhaSimulator
from tests.client.common import expect
from tests.client.test_transport import redirecting_server
from tests.config_flow.helpers import (
    assert_form_error,
    start_user_flow,
    submit,
    user_input,
)
from tests.helpers import PAT

pytestmark = pytest.mark.usefixtures("socket_enabled")

HUGE_TOKEN = "A" * 1_000_000


@pytest.mark.parametrize(
    ("location", "shown"),
    [
        ("javascript:alert(document.cookie)", "javascript:…"),
        ("data:text/html,<script>x()</script>", "data:…"),
        ("mailto:admin@example.com", "mailto:…"),
    ],
)
async def test_redirect_to_a_script_is_a_redirect(
    hass: HomeAssistant, location: str, shown: str
) -> None:
    """Not "cannot connect": the dashboard redirects; the payload is not echoed."""
    async with redirecting_server(302, location) as (url, _):
        result = await start_user_flow(hass)
        result = await submit(hass, result, user_input(url))
    assert result.get("errors") == {"base": "redirected"}, result
    assert_form_error(result, "user", "redirected")
    assert result["description_placeholders"]["location"] == shown


@pytest.mark.parametrize("token", [HUGE_TOKEN, "", "   "])
@pytest.mark.parametrize("generation", ["v0", "v1"])
async def test_unusable_token_is_named_and_never_sent(
    hass: HomeAssistant, token: str, generation: str
) -> None:
    """A 1 MB token or an empty one: a clear message, and no request at all."""
    async with NezhaSimulator(generation=generation, servers=2) as sim:
        result = await start_user_flow(hass)
        result = await submit(hass, result, user_input(sim.url, token))
        assert result.get("errors") == {"base": "invalid_token"}, result
        assert_form_error(result, "user", "invalid_token")
        assert sim.requests == []


async def test_reauth_with_an_empty_token_sends_nothing(
    hass: HomeAssistant, v1_sim: NezhaSimulator
) -> None:
    """Reauth has no "keep the stored token": an empty field is an error."""
    entry = MockConfigEntry(
        domain="nezha",
        data={
            "url": v1_sim.url,
            CONF_API_TOKEN: PAT,
            "verify_ssl": True,
            "api_generation": "v1",
        },
    )
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    result = await submit(hass, result, {CONF_API_TOKEN: ""})
    assert_form_error(result, "reauth_confirm", "invalid_token")
    assert v1_sim.requests == []


@pytest.mark.parametrize("token", [HUGE_TOKEN, "", " ", "nzp_x\r\nX-Evil: 1"])
async def test_clients_never_send_an_unusable_token(token: str) -> None:
    """A stored token the flows would refuse (an old entry): still never sent."""
    async with (
        NezhaSimulator(servers=2) as v0,
        NezhaSimulator(generation="v1", servers=2) as v1,
        aiohttp.ClientSession() as session,
    ):
        await expect(
            NezhaTokenError, NezhaV0Client(session, v0.url, token).async_get_fleet()
        )
        client = NezhaV1Client(session, v1.url, token)
        await expect(NezhaTokenError, client.async_get_fleet())
        await expect(NezhaTokenError, client.async_connect_stream())
        assert v0.requests == v1.requests == []
