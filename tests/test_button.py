"""Task buttons of a v1/v2 entry: only with the optional scopes, one request a press."""

from collections.abc import Awaitable
from unittest.mock import patch

from homeassistant.components.button import DOMAIN as BUTTON_DOMAIN, SERVICE_PRESS
from homeassistant.const import ATTR_ENTITY_ID, STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

from nezha_dev.simulator import Fault, NezhaSimulator
from tests.config_flow.helpers import (
    CRON_SCOPES,
    SCOPES,
    start_user_flow,
    submit,
    user_input,
)
from tests.helpers import (
    PAT,
    ping_round_done,
    register_secret,
    setup_frozen,
    state,
    v1_entry,
    wait_for,
)

CRON_LIST = "/api/v1/cron"
PROBE = "/api/v1/cron/0/manual"
ENTRY_ID = "01NEZHAV1BUTTONENTRY00000A"


@pytest.fixture
def sim(v1_sim: NezhaSimulator) -> NezhaSimulator:
    """The v2.3.7 dashboard with three tasks; the main token may run them."""
    v1_sim.get_token(PAT).scopes = CRON_SCOPES  # type: ignore[union-attr]
    v1_sim.add_cron('Backup "db"', servers=[1, 2], command="backup.sh")
    v1_sim.add_cron("Rotate logs", servers=[3], cover=1)
    v1_sim.add_cron("Restart on alert", task_type=1, cover=2)
    return v1_sim


@pytest.fixture
async def entry(hass: HomeAssistant, sim: NezhaSimulator) -> MockConfigEntry:
    """The entry with the main token, set up from one frame and one ping round."""
    config_entry = v1_entry(sim, entry_id=ENTRY_ID)
    await setup_frozen(hass, config_entry)
    return config_entry


def buttons(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, er.RegistryEntry]:
    """The entry's button registry entries by unique id."""
    entries = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    return {e.unique_id: e for e in entries if e.domain == BUTTON_DOMAIN}


def button(hass: HomeAssistant, entry: MockConfigEntry, cron: int) -> str:
    """The entity id of a task's (enabled) button."""
    return state(hass, entry, f"cron_{cron}", BUTTON_DOMAIN).entity_id


def requests(sim: NezhaSimulator, prefix: str = CRON_LIST) -> list[tuple[str, str]]:
    """Method and path of the task requests the dashboard got."""
    return [(r.method, r.path) for r in sim.requests if r.path.startswith(prefix)]


async def press(hass: HomeAssistant, entity_id: str) -> None:
    """Press a button through the service, like the UI does."""
    await hass.services.async_call(
        BUTTON_DOMAIN, SERVICE_PRESS, {ATTR_ENTITY_ID: entity_id}, blocking=True
    )


async def refused(call: Awaitable[None], key: str) -> HomeAssistantError:
    """A press (or trigger) that fails with this translated error."""
    with pytest.raises(HomeAssistantError) as info:
        await call
    assert info.value.translation_key == key
    return info.value


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_button_snapshot(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    sim: NezhaSimulator,
) -> None:
    """One button per task that a press can run, on the dashboard device."""
    entry = v1_entry(sim, entry_id=ENTRY_ID)
    with patch("custom_components.nezha.PLATFORMS", [Platform.BUTTON]):
        await setup_frozen(hass, entry)
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)


async def test_buttons_are_disabled_by_default_and_go_with_the_scope(
    hass: HomeAssistant, sim: NezhaSimulator, entry: MockConfigEntry
) -> None:
    """Two disabled buttons (no alert-triggered task), one probe; gone without scope."""
    found = buttons(hass, entry)
    assert set(found) == {f"{ENTRY_ID}_cron_1", f"{ENTRY_ID}_cron_2"}
    assert {e.disabled_by for e in found.values()} == {
        er.RegistryEntryDisabler.INTEGRATION
    }
    assert entry.runtime_data.side.cron_access is True
    assert requests(sim) == [("GET", CRON_LIST), ("POST", PROBE)]
    assert sim.cron_runs == []  # the probe ran nothing

    sim.get_token(PAT).scopes = SCOPES  # type: ignore[union-attr]
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    coordinator = entry.runtime_data
    await wait_for(lambda: coordinator.side.cron_access is False, "the scope probe")
    await wait_for(lambda: ping_round_done(coordinator), "the ping round")
    await hass.async_block_till_done()
    assert buttons(hass, entry) == {}


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_press_runs_the_task_once(
    hass: HomeAssistant, sim: NezhaSimulator, entry: MockConfigEntry
) -> None:
    """A press is one POST; refusals are translated errors and never retried."""
    backup, rotate = button(hass, entry, 1), button(hass, entry, 2)

    before = len(requests(sim))
    await press(hass, backup)
    assert sim.cron_runs == [1]
    assert requests(sim)[before:] == [("POST", "/api/v1/cron/1/manual")]

    # Deleted on the dashboard since the last list: refused with its reason.
    sim.remove_cron(1)
    before = len(requests(sim))
    error = await refused(press(hass, backup), "cron_refused")
    assert error.translation_placeholders == {
        "task": 'Backup "db"',
        "reason": "task id 1 does not exist",
    }
    assert len(requests(sim)) == before + 1

    # The scope taken away on the dashboard: refused, not a reauth.
    token = sim.get_token(PAT)
    assert token is not None
    token.scopes = (*SCOPES, "nezha:cron:read")
    await refused(press(hass, rotate), "cron_not_allowed")
    assert len(requests(sim)) == before + 2
    assert not entry.runtime_data.auth_failed

    # The dashboard unreachable for this one request.
    token.scopes = CRON_SCOPES
    sim.inject_fault(Fault.RESET, path="/api/v1/cron/2/manual")
    await refused(press(hass, rotate), "cron_failed")
    assert len(requests(sim)) == before + 3
    assert sim.cron_runs == [1]
    assert sim.waf_strikes() == 0

    # A task the next list lacks leaves its button unavailable.
    sim.remove_cron(2)
    await entry.runtime_data.side._async_before_pings()
    entry.runtime_data.side.async_update_listeners()
    await hass.async_block_till_done()
    assert hass.states.get(rotate).state == STATE_UNAVAILABLE  # type: ignore[union-attr]


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_revoked_token_press(
    hass: HomeAssistant, sim: NezhaSimulator, entry: MockConfigEntry
) -> None:
    """A revoked token: one refusal starts reauth, the next press sends nothing."""
    coordinator, rotate = entry.runtime_data, button(hass, entry, 2)
    sim.waf_enabled = True
    sim.revoke_token()
    before = len(sim.requests)
    await refused(press(hass, rotate), "auth_failed")
    assert coordinator.auth_failed
    await hass.async_block_till_done()
    sent = len(sim.requests)
    assert sent - before >= 1
    # The button is unavailable now; the coordinator would refuse anyway.
    assert hass.states.get(rotate).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    await press(hass, rotate)
    await refused(coordinator.side.async_trigger_cron(2), "auth_failed")
    assert len(sim.requests) == sent  # nothing sent with a refused token
    assert sim.waf_strikes() == 1


@pytest.mark.parametrize("extra", ["none", "read", "exec"])
async def test_no_buttons_without_both_scopes(
    hass: HomeAssistant, sim: NezhaSimulator, extra: str
) -> None:
    """No buttons without both cron scopes (cron:read: probed); not asked again."""
    scopes = SCOPES if extra == "none" else (*SCOPES, f"nezha:cron:{extra}")
    asked = [("GET", CRON_LIST), *([("POST", PROBE)] if extra == "read" else [])]
    token = register_secret(sim.add_token(scopes=scopes))
    entry = v1_entry(sim, token, entry_id=ENTRY_ID)
    coordinator = await setup_frozen(hass, entry)
    assert coordinator.side.cron_access is False
    assert buttons(hass, entry) == {}
    assert requests(sim) == asked
    # Later rounds leave the tasks alone.
    services = len(requests(sim, "/api/v1/service"))
    await coordinator.side._async_before_pings()
    assert len(requests(sim, "/api/v1/service")) == services + 1
    assert requests(sim) == asked
    assert sim.waf_strikes() == 0


async def test_config_flow_never_asks_for_tasks(
    hass: HomeAssistant, sim: NezhaSimulator
) -> None:
    """The flow checks the three read scopes only, whatever else the token has."""
    result = await start_user_flow(hass)
    # A mocked setup that fails: nothing to unload, only the flow's requests count.
    with patch("custom_components.nezha.async_setup_entry", return_value=False):
        result = await submit(hass, result, user_input(sim.url, PAT))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert requests(sim) == []


async def test_task_list_failures(hass: HomeAssistant, sim: NezhaSimulator) -> None:
    """A failed list is asked again next round; a refused token stops everything."""
    sim.inject_fault(Fault.HTML_502, path=CRON_LIST)
    entry = v1_entry(sim, entry_id=ENTRY_ID)
    coordinator = await setup_frozen(hass, entry)
    assert coordinator.side.cron_access is None
    assert buttons(hass, entry) == {}
    await coordinator.side._async_crons()  # the next round's task request
    coordinator.side.async_update_listeners()
    await hass.async_block_till_done()
    assert coordinator.side.cron_access is True
    assert len(buttons(hass, entry)) == 2

    sim.revoke_token()
    await coordinator.side._async_crons()
    await hass.async_block_till_done()
    assert coordinator.auth_failed
    before = len(sim.requests)
    await coordinator.side._async_crons()
    assert len(sim.requests) == before
