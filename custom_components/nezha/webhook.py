"""The alerts webhook: the dashboard's notifications become events at once.

The entry's options may enable a Home Assistant webhook; Nezha's "custom webhook"
notification method posts :data:`ALERT_TEMPLATE` to it. Each accepted alert is
sent to the event entities (dispatcher), and when it names a server, that
server is read again at once: the dashboard alerts "offline" after a few seconds
of silence, long before the offline threshold would show it.

The webhook id is the only secret of the URL: it is never logged.
"""

import asyncio
from dataclasses import replace
from http import HTTPStatus
import time
from typing import TYPE_CHECKING

from aiohttp import hdrs, web
from homeassistant.components import webhook
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.network import NoURLAvailableError

from .client.alerts import MAX_ALERT_BYTES, AlertPayloadError, NezhaAlert, parse_alert
from .const import (
    CONF_ALERTS_WEBHOOK,
    CONF_WEBHOOK_ID,
    CONF_WEBHOOK_LOCAL_ONLY,
    DOMAIN,
    LOGGER,
)

if TYPE_CHECKING:
    from aiohttp.web import Request

    from .coordinator import NezhaConfigEntry, NezhaCoordinator


def alert_signal(entry_id: str) -> str:
    """The dispatcher signal that carries an entry's alerts."""
    return f"{DOMAIN}_alert_{entry_id}"


def webhook_id_of(entry: NezhaConfigEntry) -> str | None:
    """The entry's webhook id when alerts are enabled, else None."""
    options = entry.options
    webhook_id = options.get(CONF_WEBHOOK_ID)
    if options.get(CONF_ALERTS_WEBHOOK) and isinstance(webhook_id, str) and webhook_id:
        return webhook_id
    return None


def webhook_url(hass: HomeAssistant, webhook_id: str) -> str:
    """The URL to give the dashboard (external if configured, else internal)."""
    try:
        return webhook.async_generate_url(hass, webhook_id)
    except NoURLAvailableError:
        return "http://<home-assistant>:8123" + webhook.async_generate_path(webhook_id)


async def _read_body(request: Request) -> bytes | None:
    """The body, or None when it is larger than the limit."""
    length = request.headers.get(hdrs.CONTENT_LENGTH, "")
    if length.isdecimal() and int(length) > MAX_ALERT_BYTES:
        return None
    body = bytearray()
    while chunk := await request.content.read(MAX_ALERT_BYTES + 1 - len(body)):
        body += chunk
        if len(body) > MAX_ALERT_BYTES:
            return None
    return bytes(body)


class AlertReceiver:
    """Accepts an entry's alerts and re-reads the servers they name."""

    def __init__(self, entry: NezhaConfigEntry) -> None:
        """Bind to a loaded entry."""
        self._entry = entry
        self._lock = asyncio.Lock()
        self._pending: set[int] = set()

    @property
    def coordinator(self) -> NezhaCoordinator:
        """The entry's coordinator."""
        return self._entry.runtime_data

    async def async_handle(
        self, hass: HomeAssistant, webhook_id: str, request: Request
    ) -> web.Response:
        """Check one request and act on it; anything unexpected changes nothing."""
        body = await _read_body(request)
        if body is None:
            return self._refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "too large")
        content_type = request.headers.get(hdrs.CONTENT_TYPE, "")
        try:
            alert = parse_alert(body, content_type.split(";")[0].strip().lower())
        except AlertPayloadError as err:
            return self._refuse(HTTPStatus.BAD_REQUEST, str(err))
        data = self.coordinator.data
        if alert.server_id is not None and alert.server_id not in data.servers:
            return self._refuse(HTTPStatus.BAD_REQUEST, "unknown server")
        LOGGER.debug("Alert from %s: %s", self._entry.title, alert.kind)
        async_dispatcher_send(hass, alert_signal(self._entry.entry_id), alert)
        if alert.server_id is not None:
            self._pending.add(alert.server_id)
            self._entry.async_create_background_task(
                hass,
                self._async_check(alert.server_id),
                f"Nezha {self._entry.title} alert check",
            )
        return web.Response(status=HTTPStatus.OK)

    def _refuse(self, status: HTTPStatus, reason: str) -> web.Response:
        LOGGER.warning(
            "Refused an alert sent to %s's webhook: %s", self._entry.title, reason
        )
        return web.Response(status=status, text=reason)

    async def _async_check(self, server_id: int) -> None:
        """Read the dashboard again and hold silent servers offline.

        Alerts that arrive while a check runs share the next one.
        """
        async with self._lock:
            if server_id not in self._pending:
                return  # a check that started after this alert came covered it
            batch, self._pending = self._pending, set()
            coordinator = self.coordinator
            if coordinator.auth_failed:
                return  # nothing is sent with a refused token
            started = time.monotonic()
            await coordinator.async_refresh()
            if coordinator.last_update_success:
                self._hold_silent(batch)
            LOGGER.debug(
                "Alert check of %s took %.3f s",
                self._entry.title,
                time.monotonic() - started,
            )

    @callback
    def _hold_silent(self, server_ids: set[int]) -> None:
        coordinator = self.coordinator
        data = coordinator.data
        online = dict(data.online)
        for server_id in sorted(server_ids):
            server = data.servers.get(server_id)
            if server is None or not online.get(server_id):
                continue
            if coordinator.silenced.mark(server, data.server_time):
                online[server_id] = False
                LOGGER.info(
                    "Server %s (id %s) is now offline: the dashboard sent an alert "
                    "and its agent has not reported for a while",
                    server.name,
                    server_id,
                )
        if online != data.online:
            coordinator.async_set_updated_data(replace(data, online=online))


def async_setup_alerts(hass: HomeAssistant, entry: NezhaConfigEntry) -> None:
    """Register the entry's webhook when enabled; it is removed at unload."""
    webhook_id = webhook_id_of(entry)
    if webhook_id is None:
        return
    receiver = AlertReceiver(entry)
    try:
        webhook.async_register(
            hass,
            DOMAIN,
            f"Nezha {entry.title}",
            webhook_id,
            receiver.async_handle,
            local_only=bool(entry.options.get(CONF_WEBHOOK_LOCAL_ONLY, True)),
            allowed_methods=(hdrs.METH_POST,),
        )
    except ValueError:
        LOGGER.error("The alerts webhook of %s is already in use", entry.title)
        return
    entry.async_on_unload(lambda: webhook.async_unregister(hass, webhook_id))


def alert_attributes(alert: NezhaAlert) -> dict[str, str | int | None]:
    """What an event entity shows of an alert."""
    return {
        "message": alert.message,
        "server_id": alert.server_id,
        "server_name": alert.server_name,
        "rule": alert.rule,
    }
