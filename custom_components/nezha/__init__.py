"""The Nezha Monitoring integration."""

from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import CONF_API_TOKEN, CONF_URL, CONF_VERIFY_SSL, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.aiohttp_client import (
    async_create_clientsession,
    async_get_clientsession,
)

from .client import ApiGeneration, NezhaClient, NezhaError, NezhaV0Client, NezhaV1Client
from .client.v1 import refuse_redirects
from .const import CONF_API_GENERATION, LOGGER
from .coordinator import NezhaConfigEntry, NezhaCoordinator
from .coordinator_v1 import NezhaStreamCoordinator
from .device import server_id_of
from .issues import async_delete_issues
from .webhook import async_setup_alerts

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.EVENT,
    Platform.SENSOR,
]


def _v1(entry: NezhaConfigEntry) -> bool:
    return entry.data.get(CONF_API_GENERATION) == ApiGeneration.V1


def _v1_client(
    hass: HomeAssistant, entry: NezhaConfigEntry, *, stream: bool = False
) -> NezhaV1Client:
    verify_ssl = entry.data[CONF_VERIFY_SSL]
    # The WebSocket handshake cannot be told not to follow redirects, so the
    # stream gets a session of its own that refuses them. Created during setup,
    # Home Assistant detaches it when the entry unloads.
    stream_session = (
        async_create_clientsession(
            hass, verify_ssl=verify_ssl, trace_configs=[refuse_redirects()]
        )
        if stream
        else None
    )
    return NezhaV1Client(
        async_get_clientsession(hass, verify_ssl=verify_ssl),
        entry.data[CONF_URL],
        entry.data[CONF_API_TOKEN],
        stream_session=stream_session,
    )


def _v0_client(hass: HomeAssistant, entry: NezhaConfigEntry) -> NezhaV0Client:
    return NezhaV0Client(
        async_get_clientsession(hass, verify_ssl=entry.data[CONF_VERIFY_SSL]),
        entry.data[CONF_URL],
        entry.data[CONF_API_TOKEN],
    )


async def async_setup_entry(hass: HomeAssistant, entry: NezhaConfigEntry) -> bool:
    """Connect to the dashboard, fetch the fleet once, then set up the platforms.

    The entry's API generation picks the coordinators: v1/v2 dashboards stream
    their servers and have services and tasks beside the ping history.
    """
    coordinator = (
        NezhaStreamCoordinator(hass, entry, _v1_client(hass, entry, stream=True))
        if _v1(entry)
        else NezhaCoordinator(hass, entry, _v0_client(hass, entry))
    )
    await coordinator.async_config_entry_first_refresh()
    entry.runtime_data = coordinator
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    async_setup_alerts(hass, entry)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: NezhaConfigEntry) -> bool:
    """Unload the platforms; background ping fetching stops with the entry."""
    # A side round must not send more while the platforms unload: its answers
    # would be dropped, and after a reauth its old token would be refused.
    side = entry.runtime_data.side
    side.stop()
    if unloaded := await hass.config_entries.async_unload_platforms(entry, PLATFORMS):
        # A request still in flight must not raise an issue again once deleted.
        entry.runtime_data.issues.close()
        async_delete_issues(hass, entry.entry_id)
    else:
        side.resume()
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: NezhaConfigEntry) -> None:
    """Remove the entry's repair issues (it may never have loaded)."""
    async_delete_issues(hass, entry.entry_id)


async def async_remove_config_entry_device(
    hass: HomeAssistant, entry: NezhaConfigEntry, device: dr.DeviceEntry
) -> bool:
    """Allow deleting a server device only once the dashboard no longer lists it.

    The dashboard is asked now, unfiltered, instead of trusting the last poll: that
    poll may be older than the deletion on the dashboard, filtered by group, or may
    have skipped an unreadable record of a server that still exists. It also works
    while the entry is not loaded. When in doubt, the device is kept.
    """
    server_id = server_id_of(device, entry.entry_id)
    if server_id is None:
        return False  # the dashboard device lives as long as the entry
    coordinator = getattr(entry, "runtime_data", None)
    if any(entry.async_get_active_flows(hass, {SOURCE_REAUTH})) or (
        isinstance(coordinator, NezhaCoordinator) and coordinator.auth_failed
    ):
        # The stored token was refused: sending it again would cost a v1
        # dashboard's WAF strike. Keep the device until a new token works.
        LOGGER.warning(
            "Keeping device %s: the dashboard refused the API token", device.name
        )
        return False
    try:
        client: NezhaClient = (
            _v1_client(hass, entry) if _v1(entry) else _v0_client(hass, entry)
        )
        fleet = await client.async_get_fleet()
    except NezhaError as err:
        LOGGER.warning(
            "Keeping device %s: could not check that server %s is gone: %s",
            device.name,
            server_id,
            err,
        )
        return False
    return not fleet.may_have(server_id)
