"""State and test controls that only a v1/v2 dashboard has.

:class:`V1State` is what the v1 routes read; :class:`V1Controls` is mixed into
:class:`~nezha_dev.simulator.core.NezhaSimulator` to give tests a public API for it.
Every control raises :class:`RuntimeError` on a v0 simulator.
"""

from collections.abc import Callable, Iterable
import math
import re
from typing import Final, Unpack

from .cron import CronOptions, CronTable
from .encoding import NANOS
from .fleet import Fleet
from .services import CYCLE_RULES, SAMPLE_SECONDS, CycleRule, Window
from .tokens import (
    DEFAULT_SCOPES,
    SCOPE_INVENTORY_READ,
    SCOPE_SERVER_READ,
    ApiToken,
    TokenStore,
)
from .v1_render import GroupTable
from .v1_ws import WsHub
from .waf import BLOCK_ID_MANUAL, BLOCK_ID_TOKEN, USE_PEER_IP, Waf

LATEST_VERSION: Final = "2.3.7"
_VERSION_RE: Final = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


def parse_version(text: str) -> tuple[int, int, int]:
    """``"2.3.7"`` (or ``"v2.3.7"``) -> ``(2, 3, 7)``; only 1.x and 2.x exist."""
    match = _VERSION_RE.fullmatch(text)
    if match is None or int(match.group(1)) not in (1, 2):
        raise ValueError(f"unsupported v1 dashboard version {text!r}")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


class V1State:
    """Configuration, tokens, WAF, groups and streams of a v1 dashboard."""

    def __init__(self, clock: Callable[[], float], version: str) -> None:
        """Create the state of a dashboard of ``version`` (B.0 feature table)."""
        self.version_text = version.removeprefix("v")
        self.version = parse_version(version)
        self.clock = clock
        self.tokens = TokenStore()
        self.waf = Waf(clock)
        self.groups = GroupTable()
        self.hub = WsHub()
        self.failing: dict[int, list[Window]] = {}  # service id -> down periods
        # Enabled alert rules with a cycle-transfer rule; tests edit this list.
        self.cycle_rules: list[CycleRule] = list(CYCLE_RULES)
        self.crons = CronTable(clock)
        self.force_auth = False
        self.tsdb_enabled = True
        self.language = "en-US"
        self.site_name = "Nezha"

    @property
    def has_tsdb(self) -> bool:
        """v2.0.0+: TSDB, ``tsdb_enabled`` and ``/server/:id/service``."""
        return self.version >= (2, 0, 0)

    @property
    def has_pats(self) -> bool:
        """v2.1.0+: personal access tokens."""
        return self.version >= (2, 1, 0)

    @property
    def inventory_scope(self) -> str:
        """Scope of /server, /server-group and the stream (split off in v2.1.2)."""
        return SCOPE_INVENTORY_READ if self.version >= (2, 1, 2) else SCOPE_SERVER_READ

    @property
    def not_found_status(self) -> int:
        """Unknown /api paths: HTTP 404 since v1.5.0, HTTP 200 before."""
        return 404 if self.version >= (1, 5, 0) else 200


class V1Controls:
    """Test controls of the v1 API, mixed into ``NezhaSimulator``."""

    _v1_state: V1State | None
    fleet: Fleet

    @property
    def v1(self) -> V1State:
        """The v1 state (language, site_name, tsdb_enabled, tokens, waf, ...)."""
        if self._v1_state is None:
            raise RuntimeError("only a v1/v2 simulator has this (generation='v1')")
        return self._v1_state

    @property
    def version(self) -> str | None:
        """Simulated dashboard version, e.g. ``"2.3.7"`` (``None`` for v0)."""
        return None if self._v1_state is None else self._v1_state.version_text

    # -- personal access tokens --------------------------------------------------------

    def add_token(
        self,
        scopes: Iterable[str] = DEFAULT_SCOPES,
        expires_in: float | None = None,
        server_ids: Iterable[int] | None = None,
        *,
        token: str | None = None,
        member: bool = False,
    ) -> str:
        """Create a PAT and return its plaintext (``nzp_…``).

        Args:
            scopes: Granted scopes (exact, ``nezha:<res>:*`` or ``nezha:*``).
            expires_in: Seconds until it expires (simulator clock); ``None`` never.
            server_ids: Allow-list of server ids; ``None`` = all servers.
            token: Use this plaintext instead of a random one.
            member: Issued by a member user (user id 2): ``/server`` lists only
                the servers it owns (``SimServer.owner_id``), no groups, guest
                views of services and the stream.

        Dashboards before 2.1.0 store it too but never accept it.
        """
        state = self.v1
        if expires_in is not None and expires_in <= 0:
            raise ValueError("expires_in must be positive or None")
        expires_at = None if expires_in is None else state.clock() + expires_in
        entry = state.tokens.add(
            scopes=scopes,
            expires_at=expires_at,
            server_ids=server_ids,
            token=token,
            member=member,
        )
        return entry.token

    def get_token(self, token: str) -> ApiToken | None:
        """The stored PAT (scopes, expiry, allow-list), ``None`` if deleted."""
        return self.v1.tokens.get(token)

    # -- guests, settings ----------------------------------------------------------------

    @property
    def force_auth(self) -> bool:
        """``force_auth``: guests get ``ApiErrorUnauthorized`` on optional routes."""
        return self.v1.force_auth

    @force_auth.setter
    def force_auth(self, value: bool) -> None:
        self.v1.force_auth = value

    # -- WAF ------------------------------------------------------------------------------

    @property
    def waf_enabled(self) -> bool:
        """Whether ``web_real_ip_header`` is set, i.e. the WAF counts anything."""
        return bool(self.v1.waf.real_ip_header)

    @waf_enabled.setter
    def waf_enabled(self, enabled: bool) -> None:
        self.v1.waf.real_ip_header = USE_PEER_IP if enabled else ""

    @property
    def real_ip_header(self) -> str:
        """``web_real_ip_header``: ``NZ::Use-Peer-IP``, a header name, or ""."""
        return self.v1.waf.real_ip_header

    @real_ip_header.setter
    def real_ip_header(self, header: str) -> None:
        self.v1.waf.real_ip_header = header

    def waf_strikes(self, ip: str = "127.0.0.1") -> int:
        """Total strikes of ``ip`` over all identifiers."""
        return self.v1.waf.strikes(ip)

    def waf_blocked(self, ip: str = "127.0.0.1") -> bool:
        """Whether ``ip`` is blocked right now (simulator clock)."""
        return self.v1.waf.is_blocked(ip)

    def add_waf_strike(
        self, ip: str = "127.0.0.1", identifier: int = BLOCK_ID_TOKEN
    ) -> None:
        """Record a strike as if a bad credential came from ``ip``.

        ``identifier=BLOCK_ID_MANUAL`` (-124) is the admin's manual block (99999).
        """
        self.v1.waf.strike(ip, identifier)

    def block_ip(self, ip: str = "127.0.0.1") -> None:
        """Manually block ``ip`` (Online Users → block): practically forever."""
        self.v1.waf.strike(ip, BLOCK_ID_MANUAL)

    def clear_waf(self, ip: str | None = None) -> None:
        """Delete the WAF rows of one IP, or of all IPs."""
        self.v1.waf.clear(ip)

    # -- services and groups ----------------------------------------------------------

    def set_service_down(self, service_id: int, down: bool = True) -> None:
        """Make every probe of a service fail from now on (or recover it).

        The current 30 s result slot already counts as failed, so ``/service``
        shows ``current_down > current_up`` and a bigger ``down[29]`` at once.
        """
        state = self.v1
        if service_id not in self.fleet.monitors:
            raise KeyError(f"no service with id {service_id}")
        now = state.clock()
        windows = state.failing.setdefault(service_id, [])
        is_down = bool(windows) and windows[-1][1] == math.inf
        if down and not is_down:
            windows.append(
                (math.floor(now / SAMPLE_SECONDS) * SAMPLE_SECONDS, math.inf)
            )
        elif not down and is_down:
            windows[-1] = (windows[-1][0], now)

    def set_public_note(self, server_id: int, note: str) -> None:
        """Edit a server's public note (``PATCH /api/v1/server/:id``).

        ``/server`` shows it at once; the stream only in the first frame of the
        next connection.
        """
        self.v1  # noqa: B018 - only a v1 dashboard has public notes
        self.fleet.servers[server_id].public_note = note

    def add_server_group(self, name: str) -> int:
        """Create a server group (members are the servers tagged ``name``)."""
        if not name:
            raise ValueError("a group needs a name")
        return self.v1.groups.add(name, math.floor(self.v1.clock() * NANOS)).id

    # -- WebSocket stream ------------------------------------------------------------

    @property
    def ws_interval(self) -> float:
        """Seconds between stream frames (2.0 like the dashboard)."""
        return self.v1.hub.interval

    @ws_interval.setter
    def ws_interval(self, seconds: float) -> None:
        if seconds <= 0:
            raise ValueError("ws_interval must be positive")
        self.v1.hub.interval = seconds

    @property
    def ws_connections(self) -> int:
        """Number of open ``/api/v1/ws/server`` streams."""
        return len(self.v1.hub.sessions)

    def pause_ws(self, paused: bool = True) -> None:
        """Stop sending frames without closing the streams (silent dead stream)."""
        self.v1.hub.pause(paused)

    async def drop_websockets(self) -> int:
        """Cut every stream's TCP connection abruptly; returns how many."""
        hub = self.v1.hub
        victims = hub.kill_all()
        await hub.wait_closed(victims)
        return len(victims)

    # -- scheduled tasks ---------------------------------------------------------------

    def add_cron(self, name: str, **options: Unpack[CronOptions]) -> int:
        """Create a scheduled (``task_type=0``) or trigger task; returns its id.

        ``cover``: 0 runs on ``servers``, 1 on every server but ``servers``, 2 on
        the server that triggered an alert (trigger tasks only).
        """
        return self.v1.crons.add(name, **options)

    def remove_cron(self, cron_id: int) -> None:
        """Delete a task."""
        self.v1.crons.remove(cron_id)

    @property
    def cron_runs(self) -> list[int]:
        """Ids of the tasks that manual triggers dispatched, in order."""
        return list(self.v1.crons.runs)
