"""The v1/v2 coordinator: live WebSocket frames, written at a bounded rate.

Inventory comes from REST (``/server`` and ``/server-group``); state comes from
the dashboard's WebSocket, which pushes every server every 2 s. Metric changes
reach Home Assistant at most once per update interval (the coordinator's normal
schedule), while a server going online or offline, appearing or disappearing is
written at once: only the servers that changed get their new record then, the
others keep theirs until the next scheduled update, whose timing stays as it
was. While the stream is down, each scheduled update polls REST instead, so
entities follow the same availability rules as on v0.
"""

import asyncio
from dataclasses import replace
from datetime import timedelta
import time

from homeassistant.core import HomeAssistant, callback

from .client import Fleet, NezhaAuthError, NezhaError, NezhaV1Client
from .client.stream import FRAME_INTERVAL, StreamRunner
from .client.v1 import StreamFrame
from .const import LOGGER
from .coordinator import NezhaConfigEntry, NezhaCoordinator, NezhaData
from .side import NezhaV1SideCoordinator

# A frame arrives every 2 s; after this long without one the stream is stale.
STREAM_FRESH_SECONDS = 15.0
# Frames after the first carry no public note (billing data), so an edited note
# would wait for the next reconnect; the inventory is read again this often.
INVENTORY_MAX_AGE_SECONDS = 3600.0


class NezhaStreamCoordinator(NezhaCoordinator):
    """Coordinates a v1/v2 dashboard through its server-state WebSocket."""

    client: NezhaV1Client
    side: NezhaV1SideCoordinator
    # Frames are parsed at most this often (the dashboard's pace; see stream.py).
    frame_interval = FRAME_INTERVAL

    def __init__(
        self, hass: HomeAssistant, entry: NezhaConfigEntry, client: NezhaV1Client
    ) -> None:
        """Set up; the stream starts after the first successful update."""
        super().__init__(hass, entry, client)
        self.stream: StreamRunner | None = None
        self._stream_task: asyncio.Task[None] | None = None
        self._latest: Fleet | None = None
        self._frame_at = -float("inf")
        self._inventory_at = -float("inf")
        self._inventory_due = False
        self._ignored_unknown: frozenset[int] = frozenset()
        self._ignored_missing: frozenset[int] = frozenset()
        self._asked: tuple[frozenset[int], frozenset[int]] = (frozenset(), frozenset())
        self._interval = (self.update_interval or timedelta()).total_seconds()
        self._stream_down_logged = False
        self.frames_received = 0

    def _create_side(self) -> NezhaV1SideCoordinator:
        return NezhaV1SideCoordinator(self.hass, self, self.client)

    @property
    def stream_live(self) -> bool:
        """Return True while frames keep arriving."""
        return (
            self._latest is not None
            and time.monotonic() - self._frame_at <= STREAM_FRESH_SECONDS
        )

    async def _async_fetch(self) -> Fleet:
        latest = self._latest if self.stream_live else None
        if (
            latest is not None
            and not self._inventory_due
            and time.monotonic() - self._inventory_at < INVENTORY_MAX_AGE_SECONDS
        ):
            return latest
        self._inventory_due = False
        self._inventory_at = time.monotonic()
        try:
            fleet = await self._async_get_fleet()
        except NezhaAuthError:
            raise
        except NezhaError as err:
            if latest is None:
                raise
            # The stream still works: keep showing it. The ids are not marked as
            # asked, so a later frame asks again (at most once per interval).
            LOGGER.debug("Inventory refresh failed, keeping the live data: %s", err)
            return latest
        self._ignored_unknown, self._ignored_missing = self._asked
        if not self.last_update_success and self.stream is not None:
            # The dashboard answers again after an outage; the stream need not
            # sit out the rest of its backoff (up to 5 minutes).
            self.stream.reconnect_now()
        self._start_stream()
        return fleet

    def _start_stream(self) -> None:
        if self._closing or self._auth_failed or self._stream_task is not None:
            return
        self.stream = StreamRunner(
            self.client,
            on_frame=self._on_frame,
            on_down=self._on_down,
            on_auth_failure=self._on_auth_failure,
            tag=self.tag,
            parse_interval=self.frame_interval,
        )
        self._stream_task = self.start_task(
            self.stream.run(), f"{self.name} live stream"
        )

    @callback
    def _on_frame(self, frame: StreamFrame) -> None:
        now = time.monotonic()
        self.frames_received += 1
        self._latest = frame.fleet
        self._frame_at = now
        if self.issues.too_large("stream"):
            self.issues.note_too_large("stream", None)
        if self._stream_down_logged:
            self._stream_down_logged = False
            LOGGER.info("Live updates from %s are back", self.config_entry.title)
        if self._inventory_changed(frame, now):
            return
        if self.data is None or self._auth_failed:
            return
        if not self.last_update_success:
            # Back before the next scheduled update: recover from this frame now
            # (the refresh takes the live data; the debouncer coalesces frames).
            self.start_task(self.async_request_refresh(), f"{self.name} recovery")
            return
        self._write_transitions(frame)

    def _inventory_changed(self, frame: StreamFrame, now: float) -> bool:
        """Ask REST when a server appeared or vanished; True if a refresh started.

        REST has the whole truth (and the addresses). Ids REST then still
        disagrees about (a server the token may stream but not list) are not
        asked about again; at most one inventory per update interval.
        """
        if not (
            frame.unknown_ids - self._ignored_unknown
            or frame.missing_ids - self._ignored_missing
        ):
            return False
        if now - self._inventory_at < self._interval:
            return False
        self._asked = (frame.unknown_ids, frame.missing_ids)
        self._inventory_due = True
        self.start_task(self.async_refresh(), f"{self.name} inventory")
        return True

    def _write_transitions(self, frame: StreamFrame) -> None:
        """Write online/offline changes and vanished servers at once.

        Servers whose state did not change keep their last written record, so
        their metrics still change at most once per update interval, and the
        schedule of the regular update is left alone (a flapping agent must not
        postpone everybody else's metrics).
        """
        data = self.data
        fleet = frame.fleet
        online = self._online_states(fleet)  # logs each transition
        if online == data.online:
            return
        servers = {
            sid: server
            if online[sid] != data.online.get(sid)
            else data.servers.get(sid, server)
            for sid, server in fleet.servers.items()
        }
        merged = replace(fleet, servers=servers)
        self.data = NezhaData(
            servers=servers, online=online, server_time=fleet.server_time
        )
        self.sync_devices(merged)
        self.async_update_listeners()

    @callback
    def _on_down(self, err: NezhaError) -> None:
        # The last frame is stale now: the next scheduled update polls REST.
        self._frame_at = -float("inf")
        self.issues.note_too_large("stream", err)
        if not self._stream_down_logged:
            self._stream_down_logged = True
            LOGGER.info(
                "Live updates from %s interrupted (%s); polling until they resume",
                self.config_entry.title,
                err,
            )

    @callback
    def _on_auth_failure(self, err: NezhaAuthError) -> None:
        LOGGER.debug("Stream refused: %s", err)
        self.handle_auth_failure(err)

    def _stop_side_requests(self, err: NezhaAuthError) -> None:
        super()._stop_side_requests(err)
        if self._stream_task is not None and not self._stream_task.done():
            self._stream_task.cancel()
