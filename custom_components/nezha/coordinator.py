"""Fleet coordinator: one dashboard request per poll; side data in side.py."""

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
import time
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed

from .budget import EntityBudget
from .client import (
    Fleet,
    NezhaAuthError,
    NezhaClient,
    NezhaError,
    NezhaTimeoutError,
    NezhaWafBlockedError,
    Server,
)
from .client.alerts import SilencedServers
from .client.limits import MAX_SERVERS, MAX_TEMPERATURES_PER_SERVER
from .const import (
    ALL_GROUPS,
    CONF_OFFLINE_THRESHOLD,
    CONF_PING_INTERVAL,
    CONF_SCAN_INTERVAL,
    CONF_SERVER_GROUP,
    DEFAULT_OFFLINE_THRESHOLD,
    DEFAULT_PING_INTERVAL,
    DEFAULT_SCAN_INTERVAL,
    DOMAIN,
    GROUP_PREFIX,
    LOGGER,
    REAUTH_REASON,
    TEMPERATURE_GRACE,
    UPDATE_DEADLINE,
)
from .device import DeviceSync
from .issues import EntryIssues
from .side import NezhaSideCoordinator
from .unique_id import (
    parse_server_unique_id,
    server_id_in,
    server_unique_id,
    temperature_key,
    temperature_name,
)
from .validation import connection_failure

type NezhaConfigEntry = ConfigEntry[NezhaCoordinator]


@dataclass(frozen=True, slots=True)
class NezhaData:
    """What the entities read: the servers, their online state and the dashboard clock."""

    servers: dict[int, Server]
    online: dict[int, bool]
    server_time: datetime


def group_filter(option: str | None) -> str | None:
    """Turn the stored group option into the tag to request, or None for all."""
    if option and option != ALL_GROUPS and option.startswith(GROUP_PREFIX):
        return option.removeprefix(GROUP_PREFIX) or None
    return None


def failure_key(err: NezhaError) -> str:
    """The translation key of a failed update (other than a refused token)."""
    return connection_failure(err) or "invalid_response"


class NezhaCoordinator(DataUpdateCoordinator[NezhaData]):
    """Polls one dashboard and keeps the device registry in step with it."""

    config_entry: NezhaConfigEntry

    def __init__(
        self, hass: HomeAssistant, entry: NezhaConfigEntry, client: NezhaClient
    ) -> None:
        """Set up from the entry's options."""
        options = entry.options
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"Nezha {entry.title}",
            update_interval=timedelta(
                seconds=options.get(CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL)
            ),
        )
        self.client = client
        self.tag = group_filter(options.get(CONF_SERVER_GROUP))
        self.offline_threshold = float(
            options.get(CONF_OFFLINE_THRESHOLD, DEFAULT_OFFLINE_THRESHOLD)
        )
        self.ping_interval = float(
            options.get(CONF_PING_INTERVAL, DEFAULT_PING_INTERVAL)
        )
        # How often each server's device was removed (by us or by the user); the
        # platforms compare it to recreate the entities of a server that returns.
        self.device_removals: dict[int, int] = {}
        # Servers an alert found silent, shown offline before the threshold is up.
        self.silenced = SilencedServers()
        # Every task this coordinator starts; all are cancelled at unload.
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False
        # Temperature sensors with an entity (or allowed one): name -> when the
        # agent last reported it (monotonic); see _track_temperatures.
        self.temperatures: dict[int, dict[str, float]] = {}
        # Names whose entity was removed, for the sensor platform to forget.
        self.removed_temperatures: dict[int, set[str]] = {}
        self._temperatures_seeded = False
        self.issues = EntryIssues(hass, entry)
        self.entity_budget = EntityBudget(hass, entry.entry_id)
        self.sync_devices = DeviceSync(hass, entry.entry_id)
        self._auth_failed = False
        # The translation key of the auth failure: the WAF ban has its own.
        self._auth_reason = "auth_failed"
        # Ping history, services, quotas and tasks, on the ping interval.
        self.side = self._create_side()

    def _create_side(self) -> NezhaSideCoordinator:
        return NezhaSideCoordinator(self.hass, self)

    @property
    def auth_failed(self) -> bool:
        """Return True once the dashboard refused the token (nothing is sent then)."""
        return self._auth_failed

    @property
    def auth_reason(self) -> str:
        """Return the translation key of the auth failure (the WAF ban has its own)."""
        return self._auth_reason

    async def _async_setup(self) -> None:
        """Follow device removals, whoever makes them."""
        self.config_entry.async_on_unload(
            self.hass.bus.async_listen(
                dr.EVENT_DEVICE_REGISTRY_UPDATED, self._async_device_removed
            )
        )

    @callback
    def _async_device_removed(
        self, event: Event[dr.EventDeviceRegistryUpdatedData]
    ) -> None:
        if event.data["action"] != "remove":
            return
        identifiers = event.data["device"].get("identifiers", ())
        server_id = server_id_in(identifiers, self.config_entry.entry_id)
        if server_id is not None:
            self.temperatures.pop(server_id, None)
            self.removed_temperatures.pop(server_id, None)
            self.device_removals[server_id] = self.device_removals.get(server_id, 0) + 1
            self.entity_budget.admitted.discard(server_id)  # budgeted anew if back

    def start_task(
        self, coro: Coroutine[Any, Any, Any], name: str
    ) -> asyncio.Task[Any] | None:
        """Run ``coro`` as an entry background task, cancelled at unload.

        Home Assistant waits up to 10 s at unload for the entry's plain tasks but
        cancels its background tasks; none of ours is worth waiting for.
        """
        if self._closing:
            coro.close()
            return None
        task = self.config_entry.async_create_background_task(self.hass, coro, name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def async_shutdown(self) -> None:
        """Stop for good: cancel every task and start nothing after this."""
        self._closing = True
        for task in list(self._tasks):
            task.cancel()
        await super().async_shutdown()

    @callback
    def update_entity_issue(self) -> None:
        """Say how many servers have entities left out (see budget.py)."""
        self.issues.update_entities(self.entity_budget)

    async def _async_update_data(self) -> NezhaData:
        if self._auth_failed:
            # After a rejected token nothing is sent until the user acts (on v1
            # every failed authentication is a WAF strike against this IP).
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key=self._auth_reason
            )
        try:
            fleet = await self._async_fetch()
        except NezhaAuthError as err:
            self._drop_if_closing()
            self._stop_side_requests(err)
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key=self._auth_reason
            ) from err
        except NezhaError as err:
            self._drop_if_closing()
            self.issues.note_too_large("fleet", err)
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key=failure_key(err),
                translation_placeholders={"error": str(err)},
            ) from err
        self._drop_if_closing()
        self.issues.note_too_large("fleet", None)
        return self._build(fleet)

    def _drop_if_closing(self) -> None:
        """End a refresh whose answer came after the unload, quietly.

        Its result would sync devices, start a ping round or open a reauth flow
        for an entry that is gone; a cancelled refresh is a silent no-op for
        the coordinator. (A refresh a service call started is not ours to cancel.)
        """
        if self._closing:
            raise asyncio.CancelledError

    async def _async_fetch(self) -> Fleet:
        """Fetch the fleet: one request on v0."""
        return await self._async_get_fleet()

    async def _async_get_fleet(self) -> Fleet:
        """Ask the dashboard for the fleet, all its requests within one deadline."""
        try:
            async with asyncio.timeout(UPDATE_DEADLINE):
                return await self.client.async_get_fleet(self.tag)
        except TimeoutError as err:
            raise NezhaTimeoutError(
                f"no complete answer within {UPDATE_DEADLINE:g} s"
            ) from err

    def _build(self, fleet: Fleet) -> NezhaData:
        data = NezhaData(
            servers=fleet.servers,
            online=self._online_states(fleet),
            server_time=fleet.server_time,
        )
        self.sync_devices(fleet)
        self.issues.set(
            "too_many_servers",
            {"count": str(MAX_SERVERS + fleet.left_out), "limit": str(MAX_SERVERS)}
            if fleet.left_out
            else None,
        )
        self._track_temperatures(data)
        return data

    @callback
    def _track_temperatures(self, data: NezhaData) -> None:
        """Bound the temperature sensors of each server, forget those long gone.

        An agent names its sensors itself, so a broken one could add new names
        with every report. Each server gets at most MAX_TEMPERATURES_PER_SERVER
        sensor entities; a sensor its online agent has not reported for
        TEMPERATURE_GRACE (while reporting others) loses its entity, and gets a
        new one if it comes back. Names beyond the limit get no entity (a
        repair issue says so) until old ones are gone.
        """
        now = time.monotonic()
        if not self._temperatures_seeded:
            self._temperatures_seeded = True
            self._seed_temperatures(now)
        refused: list[str] = []
        for sid, server in data.servers.items():
            reported = server.state.temperatures
            if not reported:
                continue  # no sensors, or none in this answer: nothing is gone
            names = self.temperatures.setdefault(sid, {})
            for temperature in reported:
                if (
                    temperature.name in names
                    or len(names) < MAX_TEMPERATURES_PER_SERVER
                ):
                    names[temperature.name] = now
                elif not refused or refused[-1] != server.name:
                    refused.append(server.name or f"Server {sid}")
            if data.online.get(sid):  # an offline server's sensors are not gone
                self._forget_temperatures(sid, names, now)
        self.issues.set(
            "too_many_temperatures",
            {
                "count": str(len(refused)),
                "servers": ", ".join(refused[:3]),
                "limit": str(MAX_TEMPERATURES_PER_SERVER),
            }
            if refused
            else None,
        )

    def _seed_temperatures(self, now: float) -> None:
        """Start the clock of the sensor entities left from before a restart."""
        entry_id = self.config_entry.entry_id
        registry = er.async_get(self.hass)
        for entity in er.async_entries_for_config_entry(registry, entry_id):
            parsed = parse_server_unique_id(entry_id, entity.unique_id)
            if parsed and (name := temperature_name(parsed[1])) is not None:
                self.temperatures.setdefault(parsed[0], {})[name] = now

    def _forget_temperatures(
        self, sid: int, names: dict[str, float], now: float
    ) -> None:
        gone = [name for name, seen in names.items() if now - seen > TEMPERATURE_GRACE]
        if not gone:
            return
        registry = er.async_get(self.hass)
        entry_id = self.config_entry.entry_id
        for name in gone:
            del names[name]
            self.removed_temperatures.setdefault(sid, set()).add(name)
            unique_id = server_unique_id(entry_id, sid, temperature_key(name))
            if entity_id := registry.async_get_entity_id("sensor", DOMAIN, unique_id):
                LOGGER.info(
                    "Removing %s: not reported for %d hours",
                    entity_id,
                    TEMPERATURE_GRACE // 3600,
                )
                registry.async_remove(entity_id)

    def _is_online(self, server: Server, now: datetime) -> bool:
        # Compare against the dashboard's own clock (its Date header or the
        # stream's timestamp), so a skewed Home Assistant clock cannot flip it.
        age = server.seconds_since_report(now)
        return age is not None and age <= self.offline_threshold

    def _online_states(self, fleet: Fleet) -> dict[int, bool]:
        previous = self.data.online if self.data else {}
        online: dict[int, bool] = {}
        for server_id, server in fleet.servers.items():
            is_online = self.silenced.apply(
                server, self._is_online(server, fleet.server_time)
            )
            online[server_id] = is_online
            was = previous.get(server_id)
            if was is not None and was != is_online:
                LOGGER.info(
                    "Server %s (id %s) is now %s",
                    server.name,
                    server_id,
                    "online" if is_online else "offline",
                )
        return online

    @callback
    def handle_auth_failure(self, err: NezhaAuthError) -> None:
        """Stop everything and let a refresh raise ConfigEntryAuthFailed (no request)."""
        if self._auth_failed:
            return
        self._stop_side_requests(err)
        self.start_task(self.async_refresh(), f"{self.name} auth failure")

    def _stop_side_requests(self, err: NezhaAuthError) -> None:
        self._auth_failed = True
        if isinstance(err, NezhaWafBlockedError):
            # The reauth form opens with the ban explained. Started here, the
            # flow gets the reason; the coordinator's own start is then a no-op.
            self._auth_reason = "waf_blocked"
            self.config_entry.async_start_reauth(
                self.hass, data={REAUTH_REASON: self._auth_reason}
            )
        self.side.cancel_round()
