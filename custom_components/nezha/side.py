"""Side data: what is asked once per ping interval rather than on every poll.

The fleet coordinator (coordinator.py) polls the servers; this coordinator, one
per entry, asks on its own interval (the ping interval option) for the ping
history of the online servers and, on v1/v2 dashboards, first for the service
monitors with their traffic quotas and for the scheduled tasks. When its
interval is up, the round goes with the fleet's next successful answer: it
needs the online servers, and a token refused since the last round then costs
one refusal, not one per request. It shares the fleet coordinator's
auth-failure gate: after a refused token nothing is sent by either (on v1 each
refusal is a WAF strike).
"""

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .client import (
    NezhaAuthError,
    NezhaError,
    NezhaNotFoundError,
    NezhaRefusedError,
    NezhaScopeError,
    NezhaTooLargeError,
    NezhaV1Client,
    PingMonitor,
    ServiceStatus,
    TransferQuota,
)
from .client.cron import CronTask
from .client.limits import MAX_MONITORS_PER_SERVER
from .const import DOMAIN, LOGGER, PING_CONCURRENCY
from .unique_id import is_ping_key, parse_server_unique_id, server_id_in

if TYPE_CHECKING:
    from .coordinator import NezhaConfigEntry, NezhaCoordinator, NezhaData


def _retrieve(future: asyncio.Future[list[None]]) -> None:
    if not future.cancelled():
        future.exception()


@dataclass(slots=True)
class SideData:
    """The side data, updated in place round by round."""

    # Ping monitors by server id, then monitor id; kept for servers not asked.
    pings: dict[int, dict[int, PingMonitor]] = field(default_factory=dict)
    services: dict[int, ServiceStatus] = field(default_factory=dict)
    # Traffic quotas by alert rule id (v1 only), from the services request.
    quotas: dict[int, TransferQuota] = field(default_factory=dict)
    # Tasks a button may run (v1 only, with the optional scopes).
    crons: dict[int, CronTask] = field(default_factory=dict)


class NezhaSideCoordinator(DataUpdateCoordinator[SideData]):
    """Asks for the ping history of the online servers, once per ping interval."""

    config_entry: NezhaConfigEntry
    # Ping-history requests in flight at once.
    ping_concurrency = PING_CONCURRENCY

    def __init__(self, hass: HomeAssistant, fleet: NezhaCoordinator) -> None:
        """Follow the fleet coordinator of the same entry."""
        entry = fleet.config_entry
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{fleet.name} side",
            update_interval=timedelta(seconds=fleet.ping_interval),
        )
        self.fleet = fleet
        self.data = SideData()
        self._pinged_once = False
        # Until then the ping sensors of a large fleet are not known (budget.py).
        self.first_round_done = False
        # A round is owed (the first one, or the interval is up); it starts
        # with the fleet's next successful answer.
        self._owed = True
        # Also owed once the interval is up with polling disabled on the entry:
        # Home Assistant then never runs the interval, only the fleet's refreshes.
        self._next_round_at = 0.0
        self._go = False
        self._running = False
        self._stopped = False
        self._requests: asyncio.Future[list[None]] | None = None
        entry.async_on_unload(fleet.async_add_listener(self._fleet_updated))
        entry.async_on_unload(
            hass.bus.async_listen(dr.EVENT_DEVICE_REGISTRY_UPDATED, self._removed)
        )

    @callback
    def _fleet_updated(self) -> None:
        fleet = self.fleet
        now = dt_util.utcnow().timestamp()
        due = self._owed or now >= self._next_round_at
        if due and fleet.last_update_success and not self.halted:
            self._owed = False
            self._next_round_at = now + self.fleet.ping_interval
            fleet.start_task(self._async_start_round(), f"{self.name} round")

    async def _async_start_round(self) -> None:
        self._go = True
        await self.async_refresh()

    @callback
    def _removed(self, event: Event[dr.EventDeviceRegistryUpdatedData]) -> None:
        if event.data["action"] == "remove":
            identifiers = event.data["device"].get("identifiers", ())
            server_id = server_id_in(identifiers, self.config_entry.entry_id)
            if server_id is not None:
                self.data.pings.pop(server_id, None)

    @property
    def halted(self) -> bool:
        """Whether no side request may go out (token refused, or unloading)."""
        return self._stopped or self.fleet.auth_failed

    @callback
    def cancel_round(self) -> None:
        """Cancel the requests in flight (the token was refused)."""
        if self._requests is not None:
            self._requests.cancel()

    @callback
    def stop(self) -> None:
        """Send nothing more: the entry is unloading (see async_unload_entry)."""
        self._stopped = True
        self.cancel_round()

    @callback
    def resume(self) -> None:
        """Carry on after an unload that failed; the next answer starts a round."""
        self._stopped = False
        self._owed = True

    async def _async_update_data(self) -> SideData:
        """Run the round the fleet's answer started; on the interval, owe one."""
        if not self._go:
            if not self._running:
                self._owed = True
            return self.data
        self._go = False
        fleet = self.fleet
        if self.halted or fleet.data is None:
            return self.data
        self._running = True
        try:
            await self._async_round(fleet.data)
        finally:
            self._running = False
        return self.data

    async def _async_before_pings(self) -> None:
        """Requests that go first and alone (none on v0)."""

    async def _async_round(self, fleet: NezhaData) -> None:
        await self._async_before_pings()
        limit = asyncio.Semaphore(self.ping_concurrency)
        too_large: list[NezhaError] = []
        too_many: dict[int, int] = {}

        async def fetch(server_id: int) -> None:
            async with limit:
                if self.halted:
                    return
                try:
                    monitors = await self.fleet.client.async_get_ping_monitors(
                        server_id
                    )
                except NezhaAuthError as err:
                    self.fleet.handle_auth_failure(err)
                    return
                except NezhaError as err:
                    if isinstance(err, NezhaTooLargeError):
                        too_large.append(err)
                    LOGGER.debug(
                        "Ping history of server %s unavailable: %s", server_id, err
                    )
                    return
                if len(monitors) > MAX_MONITORS_PER_SERVER:
                    too_many[server_id] = len(monitors)
                    monitors = monitors[:MAX_MONITORS_PER_SERVER]  # the lowest ids
                self.data.pings[server_id] = {m.monitor_id: m for m in monitors}

        targets = self._ping_targets(fleet)
        requests = self._requests = asyncio.gather(*map(fetch, targets))
        # A cancelled gather ends with CancelledError as its exception: read it.
        requests.add_done_callback(_retrieve)
        try:
            await asyncio.wait((requests,))
        finally:
            requests.cancel()  # a no-op once done; the round itself was cancelled
            self._requests = None
        self.first_round_done = True
        if self.halted:
            return
        issues = self.fleet.issues
        issues.note_too_large("ping", too_large[0] if too_large else None)
        servers = self.fleet.data.servers
        issues.set(
            "too_many_monitors",
            {
                "count": str(len(too_many)),
                "servers": ", ".join(
                    servers[sid].name if sid in servers else f"Server {sid}"
                    for sid in list(too_many)[:3]
                ),
                "limit": str(MAX_MONITORS_PER_SERVER),
            }
            if too_many
            else None,
        )

    def _ping_targets(self, fleet: NezhaData) -> list[int]:
        """Online servers whose ping history is wanted.

        A server whose ping sensors all exist and are all disabled is skipped: its
        history costs a request of about 60 KiB per round on v0. Servers without
        ping sensors yet are asked, since their sensors come from the answer, and
        the first round after setup asks every server, to find new monitors.
        """
        online = [sid for sid, is_online in fleet.online.items() if is_online]
        if not self._pinged_once:
            self._pinged_once = True
            return online
        entry_id = self.config_entry.entry_id
        wanted: dict[int, bool] = {}
        registry = er.async_get(self.hass)
        for entity in er.async_entries_for_config_entry(registry, entry_id):
            parsed = parse_server_unique_id(entry_id, entity.unique_id)
            if parsed is not None and is_ping_key(parsed[1]):
                sid = parsed[0]
                wanted[sid] = wanted.get(sid, False) or entity.disabled_by is None
        return [sid for sid in online if wanted.get(sid, True)]


class NezhaV1SideCoordinator(NezhaSideCoordinator):
    """v1/v2: the services (with quotas) first and alone, then the tasks, then pings."""

    # One at a time: every request refused with a revoked or expired token is a
    # WAF strike, so the first refusal must stop the round before the next goes.
    ping_concurrency = 1

    def __init__(
        self, hass: HomeAssistant, fleet: NezhaCoordinator, client: NezhaV1Client
    ) -> None:
        """Follow the fleet coordinator; ``client`` is its v1 client."""
        super().__init__(hass, fleet)
        self.client = client
        # Whether the token may list and run tasks; None until asked.
        self.cron_access: bool | None = None

    async def _async_before_pings(self) -> None:
        # A token revoked or expired since the last round then costs one WAF
        # strike, not one per request in flight.
        await self._async_services()
        await self._async_crons()

    async def _async_services(self) -> None:
        """Refresh the dashboard's service monitors and quotas (one request)."""
        if self.halted:
            return
        try:
            overview = await self.client.async_get_service_overview()
        except NezhaAuthError as err:
            self.fleet.handle_auth_failure(err)
            return
        except NezhaError as err:
            self.fleet.issues.note_too_large("services", err)
            LOGGER.debug("Service status unavailable: %s", err)
            return
        self.fleet.issues.note_too_large("services", None)
        self.data.services = {service.id: service for service in overview.services}
        self.data.quotas = overview.quotas

    async def _async_crons(self) -> None:
        """Refresh the tasks; the first time, find out whether the token may run them.

        Without either scope the dashboard answers HTTP 403 (no WAF strike) and
        the tasks are not asked for again until the entry reloads.
        """
        if self.cron_access is False or self.halted:
            return
        try:
            tasks = await self.client.async_get_crons()
            if self.cron_access is None:
                self.cron_access = await self.client.async_can_trigger_crons()
        except NezhaScopeError, NezhaNotFoundError:
            self.cron_access = False
        except NezhaAuthError as err:
            self.fleet.handle_auth_failure(err)
            return
        except NezhaError as err:
            LOGGER.debug("Scheduled tasks unavailable: %s", err)
            return
        if not self.cron_access:
            LOGGER.debug("The API token may not list and run tasks: no task buttons")
            return
        self.data.crons = {task.id: task for task in tasks if task.runs_on_demand}

    async def async_trigger_cron(self, cron_id: int) -> None:
        """Run a task once; every failure is a translated error, never retried."""
        fleet = self.fleet
        if fleet.auth_failed:
            raise HomeAssistantError(
                translation_domain=DOMAIN, translation_key=fleet.auth_reason
            )
        task = self.data.crons.get(cron_id)
        name = task.name if task else str(cron_id)
        try:
            await self.client.async_trigger_cron(cron_id)
        except NezhaScopeError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="cron_not_allowed",
                translation_placeholders={"task": name},
            ) from err
        except NezhaAuthError as err:
            fleet.handle_auth_failure(err)
            raise HomeAssistantError(
                translation_domain=DOMAIN, translation_key=fleet.auth_reason
            ) from err
        except NezhaRefusedError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="cron_refused",
                translation_placeholders={"task": name, "reason": err.reason},
            ) from err
        except NezhaError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="cron_failed",
                translation_placeholders={"task": name, "error": str(err)},
            ) from err
