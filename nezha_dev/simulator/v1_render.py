"""How the v1 dashboard serialises the fleet: snake_case keys, omitempty everywhere.

Spec: ``nezha-api.md`` B.5, B.6, B.7 and D.2. The quirks kept on purpose: every
``host``/``state`` key is absent when zero; ``temperatures`` has PascalCase keys
inside; ``state.gpu`` is a list; ``last_active`` is the zero time while the agent is
disconnected although ``state`` keeps its last values; ws frames omit
``display_index`` when 0 and carry ``public_note`` only in the first frame.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
import math
from typing import Any, Final
import uuid

from .encoding import NANOS, go_time
from .fleet import Fleet, HostInfo, SimServer
from .metrics import CH_CREATED, CH_REPORT_NANOS, CH_UUID, DAY, LiveStatus, fold, unit
from .tokens import ApiToken
from .v0 import split_ip

MEMBER_ID: Final = 2
# Seen on a real v2.3.7: a server registered with the global agent secret is
# owned by nobody ({"id": 0}); one registered with a user's secret names them.
USERNAMES: Final = {1: "admin", MEMBER_ID: "member"}
# A v1 dashboard only talks to v1 agents, so the catalogue's v0 agent versions
# are shown as the v1 release of the same era.
_AGENT_VERSIONS: Final = {"0.20.5": "1.14.1", "0.20.3": "1.12.4"}

Malform = Callable[[int, dict[str, Any]], dict[str, Any]]


def omit_empty(pairs: Iterable[tuple[str, object]]) -> dict[str, Any]:
    """Build an object the way ``omitempty`` does: drop zero, "", false, nil, []."""
    return {
        key: value
        for key, value in pairs
        if value is not None and value is not False and value not in (0, "", [])
    }


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is asking: a guest, or the admin through a PAT (maybe allow-listed)."""

    token: ApiToken | None = None

    @property
    def member(self) -> bool:
        """Authenticated (every simulated credential belongs to the admin)."""
        return self.token is not None

    @property
    def admin(self) -> bool:
        """A PAT of the admin user (members and guests get filtered views)."""
        return self.token is not None and not self.token.member

    def sees_unfiltered(self, sid: int, fleet: Fleet) -> bool:
        """The stream's full host: the admin's, and a member's own servers."""
        if self.member_user:
            return fleet.servers[sid].owner_id == MEMBER_ID
        return self.admin

    @property
    def member_user(self) -> bool:
        """A PAT of a member user."""
        return self.token is not None and self.token.member

    @property
    def limited(self) -> bool:
        """A PAT with a ``server_ids`` allow-list."""
        return self.token is not None and bool(self.token.server_ids)

    def sees(self, server: SimServer) -> bool:
        """Guests never see hidden servers; a PAT never sees beyond its list."""
        if self.token is not None and not self.token.can_access(server.id):
            return False
        return self.member or not server.hide_for_guest


def sorted_ids(fleet: Fleet) -> list[int]:
    """``GetSortedList``: display_index descending, then id ascending."""
    return sorted(
        fleet.servers, key=lambda sid: (-fleet.servers[sid].display_index, sid)
    )


def agent_version(version: str) -> str:
    """The v1 agent version shown for a catalogue (v0) agent version."""
    return _AGENT_VERSIONS.get(version, "1.14.1")


def host_json(host: HostInfo | None, *, filtered: bool) -> dict[str, Any]:
    """``model.Host``; ``filtered`` = ``Host.Filter()`` for non-admins."""
    if host is None:
        return {}
    return omit_empty(
        (
            ("platform", host.platform),
            ("platform_version", "" if filtered else host.platform_version),
            ("cpu", list(host.cpu or ())),
            ("mem_total", host.mem_total),
            ("disk_total", host.disk_total),
            ("swap_total", host.swap_total),
            ("arch", host.arch),
            ("virtualization", host.virtualization),
            ("boot_time", host.boot_time),
            ("version", "" if filtered else agent_version(host.version)),
            ("gpu", list(host.gpu or ())),
        )
    )


def state_json(state: LiveStatus | None, host: HostInfo | None) -> dict[str, Any]:
    """``model.HostState``: every key omitempty, so idle values just vanish."""
    if state is None:
        return {}
    temps = [
        {"Name": t.name, "Temperature": t.temperature} for t in state.temperatures or ()
    ]
    # v1 agents report one usage value per GPU; only GPU hosts report any.
    gpu = [state.gpu] if host is not None and host.gpu else []
    return omit_empty(
        (
            ("cpu", state.cpu),
            ("mem_used", state.mem_used),
            ("swap_used", state.swap_used),
            ("disk_used", state.disk_used),
            ("net_in_transfer", state.net_in_transfer),
            ("net_out_transfer", state.net_out_transfer),
            ("net_in_speed", state.net_in_speed),
            ("net_out_speed", state.net_out_speed),
            ("uptime", state.uptime),
            ("load_1", state.load1),
            ("load_5", state.load5),
            ("load_15", state.load15),
            ("tcp_conn_count", state.tcp_conn_count),
            ("udp_conn_count", state.udp_conn_count),
            ("process_count", state.process_count),
            ("temperatures", temps),
            ("gpu", gpu),
        )
    )


def geoip_json(host: HostInfo | None) -> dict[str, Any]:
    """``model.GeoIP``: ``{"ip":{}}`` until the agent reported its addresses."""
    if host is None:
        return {"ip": {}}
    ipv4, ipv6, _ = split_ip(host.ip)
    ip = omit_empty((("ipv4_addr", ipv4), ("ipv6_addr", ipv6)))
    return {"ip": ip, **omit_empty((("country_code", host.country_code),))}


def server_uuid(seed: int, sid: int) -> str:
    """The agent UUID, stable for (seed, id)."""
    high, low = fold(0, seed, sid, CH_UUID), fold(1, seed, sid, CH_UUID)
    return str(uuid.UUID(int=(high << 64) | low, version=4))


def created_nanos(fleet: Fleet, sid: int) -> tuple[int, int]:
    """(created_at, updated_at) in ns; the DB keeps microseconds.

    Servers that existed at start were created weeks before their last boot and
    edited around it; servers added later were created at that moment.
    """
    server = fleet.servers[sid]
    if server.history_since > -math.inf:
        created = int(server.history_since * 1_000_000) * 1000
        return created, created
    seed = fleet.seed
    boot = server.host.boot_time
    days = 20 + 400 * unit(seed, sid, CH_CREATED)
    micros = int(unit(seed, sid, CH_CREATED, 1) * 1_000_000)
    created = int(boot - days * DAY) * NANOS + micros * 1000
    updated = (boot + int(3600 * unit(seed, sid, CH_CREATED, 2))) * NANOS
    updated += micros * 1000
    return created, updated


def last_active_nanos(fleet: Fleet, sid: int, now: float) -> int | None:
    """When the latest report arrived, ``None`` (zero time) while disconnected.

    v1 resets ``last_active`` when the agent's stream ends (unlike v0). The
    sub-second part is what ``time.Now()`` gave at receipt, never after ``now``.
    """
    server = fleet.servers[sid]
    report = fleet.last_report(sid)
    if not server.online or report is None:
        return None
    fraction = int(unit(fleet.seed, sid, CH_REPORT_NANOS, report) * NANOS)
    return min(report * NANOS + fraction, math.floor(now * NANOS))


def owner_json(owner_id: int) -> dict[str, Any]:
    """``Server.Owner``: the username is omitted for nobody."""
    name = USERNAMES.get(owner_id)
    return {"id": owner_id, "username": name} if name else {"id": owner_id}


def server_json(fleet: Fleet, sid: int, now: float) -> dict[str, Any]:
    """One element of ``GET /api/v1/server`` (admin view, ``Server.MarshalJSON``)."""
    server = fleet.servers[sid]
    host = fleet.reported_host(sid)
    created, updated = created_nanos(fleet, sid)
    return {
        "id": sid,
        "created_at": go_time(created),
        "updated_at": go_time(updated),
        "name": server.name,
        **omit_empty(
            (
                ("uuid", server_uuid(fleet.seed, sid)),
                ("note", server.note),
                ("public_note", server.public_note),
            )
        ),
        "display_index": server.display_index,
        **omit_empty((("hide_for_guest", server.hide_for_guest),)),
        "host": host_json(host, filtered=False),
        "state": state_json(fleet.status(sid), host),
        "geoip": geoip_json(host),
        "last_active": go_time(last_active_nanos(fleet, sid, now)),
        "owner": owner_json(server.owner_id),
    }


def stream_server_json(
    fleet: Fleet, sid: int, now: float, *, first: bool, member: bool
) -> dict[str, Any]:
    """``model.StreamServer``: all keys omitempty except the time."""
    server = fleet.servers[sid]
    host = fleet.reported_host(sid)
    return {
        **omit_empty(
            (
                ("id", sid),
                ("name", server.name),
                ("public_note", server.public_note if first else ""),
                ("display_index", server.display_index),
            )
        ),
        "host": host_json(host, filtered=not member),
        "state": state_json(fleet.status(sid), host),
        **omit_empty((("country_code", "" if host is None else host.country_code),)),
        "last_active": go_time(last_active_nanos(fleet, sid, now)),
    }


def stream_frame(
    fleet: Fleet,
    viewer: Viewer,
    now: float,
    *,
    first: bool,
    online: int,
    malform: Malform,
) -> dict[str, Any]:
    """``StreamServerData``: ``now`` in whole-second ms, ``servers`` omitted if none."""
    servers = [
        malform(
            sid,
            stream_server_json(
                fleet, sid, now, first=first, member=viewer.sees_unfiltered(sid, fleet)
            ),
        )
        for sid in sorted_ids(fleet)
        if viewer.sees(fleet.servers[sid])
    ]
    frame: dict[str, Any] = omit_empty(
        (("now", math.floor(now) * 1000), ("online", online))
    )
    if servers:
        frame["servers"] = servers
    return frame


@dataclass(frozen=True, slots=True)
class Group:
    """A server group row."""

    id: int
    name: str
    created: int  # ns


class GroupTable:
    """Server groups, derived from the fleet's tags; rows outlive their servers."""

    def __init__(self) -> None:
        """Start empty; :meth:`sync` creates groups for tags it has not seen."""
        self._groups: dict[str, Group] = {}

    def add(self, name: str, created: int) -> Group:
        """Create a group (no-op returning the existing one for a known name)."""
        if name not in self._groups:
            self._groups[name] = Group(len(self._groups) + 1, name, created)
        return self._groups[name]

    def sync(self, fleet: Fleet) -> list[Group]:
        """Register new tags ("" is no group) and return all groups, by id."""
        for sid, server in sorted(fleet.servers.items()):
            if server.tag and server.tag not in self._groups:
                # Created a few minutes after its first member server.
                self.add(server.tag, created_nanos(fleet, sid)[0] + 300 * NANOS)
        return list(self._groups.values())

    def json(self, fleet: Fleet, viewer: Viewer) -> list[dict[str, Any]]:
        """``listServerGroup`` for ``viewer``; ``servers`` is null when empty."""
        if viewer.member_user:
            return []  # a real v2.3.7 shows a member no group of the admin's
        result = []
        for group in self.sync(fleet):
            ids = [
                sid
                for sid, server in sorted(fleet.servers.items())
                if server.tag == group.name and viewer.sees(server)
            ]
            # Guests and allow-listed PATs do not see groups they see no server of.
            if not ids and (not viewer.member or viewer.limited):
                continue
            stamp = go_time(group.created)
            result.append(
                {
                    "group": {
                        "id": group.id,
                        "created_at": stamp,
                        "updated_at": stamp,
                        "name": group.name,
                    },
                    "servers": ids or None,
                }
            )
        return result
