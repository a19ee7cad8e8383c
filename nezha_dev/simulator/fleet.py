"""Generation-independent state of the simulated fleet.

The fleet knows *what* the dashboard knows (servers, their agents' reports, ping
history) but nothing about how v0 or v1 serialise it. Live values are computed on
demand from the simulator clock (see :mod:`.metrics`), so the only mutable state is
what a test changes explicitly: servers added/removed and agents (dis)connecting.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
import math
import random
from typing import TypedDict, Unpack

from .catalog import MONITORS, TEMPLATES, SimMonitor, Template, filler_template
from .metrics import (
    DAY,
    LiveStatus,
    PingProfile,
    Profile,
    live_status,
    ping_delay,
    report_jitter,
)

# Go's zero time.Time as Unix seconds: what v0 shows for "no report since start".
ZERO_TIME_UNIX = -62135596800


class ServerOptions(TypedDict, total=False):
    """Optional settings of a new server (defaults: as a fresh agent reports)."""

    ip: str | None  # the agent's raw string: "v4", "v6" or "v4/v6"; None = generated
    display_index: int  # 0
    hide_for_guest: bool  # False
    monitors: Iterable[int]  # ids of catalog.MONITORS the agent executes; none
    online: bool  # True
    never_reported: bool  # False: it has reported since the dashboard started


@dataclass(frozen=True, slots=True)
class HostInfo:
    """Static host facts reported by the agent (``model.Host``)."""

    platform: str
    platform_version: str
    cpu: tuple[str, ...] | None
    mem_total: int
    disk_total: int
    swap_total: int
    arch: str
    virtualization: str
    boot_time: int
    country_code: str
    version: str
    gpu: tuple[str, ...] | None
    ip: str  # as reported: "v4", "v6" or "v4/v6" (never validated)


@dataclass(frozen=True, slots=True)
class PingSeries:
    """Ping history of one monitor for one server, chronological."""

    monitor: SimMonitor
    created_at: list[int]  # unix milliseconds, minute-truncated
    avg_delay: list[float]  # ms


@dataclass(slots=True)
class SimServer:
    """One server as the dashboard holds it in memory."""

    id: int
    name: str
    tag: str
    display_index: int
    hide_for_guest: bool
    host: HostInfo
    profile: Profile
    ping: dict[int, PingProfile]  # monitor id -> latency profile (monitors it runs)
    online: bool = True
    never_reported: bool = False
    online_since: int = 0  # clock second the agent last connected
    frozen_report: int | None = None  # last report second while offline
    history_since: float = -math.inf  # ping rows exist only from here on
    # Periods without agent (start, end); end is +inf while still offline.
    offline_windows: list[tuple[float, float]] = field(default_factory=list)
    note: str = ""  # only the v1 API shows notes
    public_note: str = ""
    # v1: the user whose agent secret registered it; 0 = the global secret.
    owner_id: int = 0

    @property
    def monitor_ids(self) -> tuple[int, ...]:
        """Ids of the monitors this server's agent executes, ascending."""
        return tuple(sorted(self.ping))


class Fleet:
    """All simulated servers and monitors; deterministic given ``seed``."""

    def __init__(
        self,
        *,
        seed: int,
        clock: Callable[[], float],
        servers: int = 5,
        monitors: bool = True,
    ) -> None:
        """Build ``servers`` servers from the catalogue.

        Args:
            seed: Seed for every generated number (workload, latency, noise).
            clock: The simulator clock (unix seconds, may be offset).
            servers: How many servers to create; they all have reported already.
            monitors: Whether the dashboard has any service monitors configured.
        """
        if servers < 0:
            raise ValueError("servers must be >= 0")
        self.seed = seed
        self._clock = clock
        self.servers: dict[int, SimServer] = {}
        self.monitors: dict[int, SimMonitor] = (
            {m.id: m for m in MONITORS} if monitors else {}
        )
        self._next_id = 1
        for index in range(servers):
            template = (
                TEMPLATES[index] if index < len(TEMPLATES) else filler_template(index)
            )
            # Servers present at start have history going back further than 24 h.
            self._create(template, history_since=-math.inf)

    def now_second(self) -> int:
        """The simulator clock truncated to whole seconds."""
        return math.floor(self._clock())

    # -- mutation -----------------------------------------------------------------

    def add_server(
        self, name: str, tag: str = "", **options: Unpack[ServerOptions]
    ) -> int:
        """Add a server (like creating it in the admin UI and starting its agent).

        Ids increase and are never reused. ``never_reported=True`` models a server
        whose agent has not reported since the dashboard started.
        """
        base = filler_template(self._next_id - 1)
        ip = options.get("ip")
        template = replace(
            base,
            name=name,
            tag=tag,
            ip=base.ip if ip is None else ip,
            display_index=options.get("display_index", 0),
            hide_for_guest=options.get("hide_for_guest", False),
            monitors=tuple(options.get("monitors", ())),
        )
        server = self._create(template, history_since=self._clock())
        if options.get("never_reported", False):
            self.set_never_reported(server.id)
        elif not options.get("online", True):
            self.set_online(server.id, online=False)
        return server.id

    def remove_server(self, sid: int) -> None:
        """Delete a server; its id is not reused."""
        self._get(sid)  # uniform KeyError message for unknown ids
        del self.servers[sid]

    def set_online(self, sid: int, online: bool = True) -> None:
        """Connect (``True``) or disconnect (``False``) the server's agent.

        Disconnecting freezes ``last_active`` and the status at the last report,
        exactly like v0, which never resets them. Reconnecting makes the agent
        report again immediately.
        """
        server = self._get(sid)
        now = self._clock()
        if online and not server.online:
            server.online = True
            server.never_reported = False
            server.frozen_report = None
            server.online_since = math.floor(now)
            start, _ = server.offline_windows[-1]
            server.offline_windows[-1] = (start, now)
        elif not online and server.online:
            server.frozen_report = self.last_report(sid)
            server.online = False
            server.offline_windows.append((now, math.inf))

    def set_never_reported(self, sid: int) -> None:
        """Put the server in the state right after a dashboard restart.

        Its agent has not reported yet: zero host/status and zero ``last_active``.
        It stays like that until :meth:`set_online` reconnects the agent.
        """
        self.set_online(sid, online=False)
        server = self._get(sid)
        server.never_reported = True
        server.frozen_report = None

    # -- live views ---------------------------------------------------------------

    def last_report(self, sid: int) -> int | None:
        """Clock second of the latest agent report, or ``None`` if none since start."""
        server = self._get(sid)
        if server.never_reported:
            return None
        if not server.online:
            return server.frozen_report
        t = self.now_second()
        # Agents report every 1-2 s; the first report comes right on connect.
        report = t - report_jitter(self.seed, sid, t)
        return min(t, max(report, server.online_since))

    def last_active(self, sid: int) -> int:
        """``last_active`` as v0 emits it (Unix seconds; Go zero time if none)."""
        report = self.last_report(sid)
        return ZERO_TIME_UNIX if report is None else report

    def status(self, sid: int) -> LiveStatus | None:
        """The latest reported state, or ``None`` if the agent never reported."""
        t = self.last_report(sid)
        return None if t is None else self.status_at(sid, t)

    def status_at(self, sid: int, t: int) -> LiveStatus:
        """The state the agent of ``sid`` reports (or would report) at second ``t``."""
        server = self._get(sid)
        host = server.host
        return live_status(
            self.seed,
            sid,
            server.profile,
            t=t,
            boot_time=host.boot_time,
            mem_total=host.mem_total,
            swap_total=host.swap_total,
            disk_total=host.disk_total,
        )

    def reported_host(self, sid: int) -> HostInfo | None:
        """The host facts, or ``None`` (all zero values) if never reported."""
        server = self._get(sid)
        return None if server.never_reported else server.host

    def ping_history(self, sid: int) -> list[PingSeries]:
        """Ping points of the last 24 h, one per minute, ascending monitor id.

        Only ICMP/TCP monitors write per-server rows; monitors without points in
        the window are absent. Points exist only while the agent was connected.
        """
        server = self._get(sid)
        now = self._clock()
        first = math.ceil((now - DAY) / 60)
        last = math.floor(now / 60)
        result: list[PingSeries] = []
        for mid in server.monitor_ids:
            monitor = self.monitors.get(mid)
            if monitor is None or not monitor.writes_server_history:
                continue
            prof = server.ping[mid]
            minutes = [k for k in range(first, last + 1) if _had_agent(server, k * 60)]
            if minutes:
                result.append(
                    PingSeries(
                        monitor,
                        [k * 60_000 for k in minutes],
                        [ping_delay(self.seed, sid, mid, k, prof) for k in minutes],
                    )
                )
        return result

    # -- internals ----------------------------------------------------------------

    def _get(self, sid: int) -> SimServer:
        try:
            return self.servers[sid]
        except KeyError:
            raise KeyError(f"no server with id {sid}") from None

    def _create(self, t: Template, *, history_since: float) -> SimServer:
        sid = self._next_id
        self._next_id += 1
        # Per-server generator: values do not depend on creation order.
        rng = random.Random(self.seed * 1_000_003 + sid)
        created = self.now_second()
        boot = created - int(t.uptime_days * DAY * rng.uniform(0.9, 1.1))
        cpu_base = t.cpu_base * rng.uniform(0.7, 1.3)
        net_in = t.net_mean * rng.uniform(0.7, 1.3)
        profile = Profile(
            cores=t.cores,
            cpu_base=cpu_base,
            cpu_amp=max(1.0, cpu_base * rng.uniform(0.3, 0.6)),
            mem_frac=rng.uniform(0.25, 0.7),
            swap_frac=rng.uniform(0.0, 0.15) if t.swap_total else 0.0,
            disk_frac=rng.uniform(0.15, 0.6),
            disk_growth=rng.uniform(50, 2000),
            net_in=net_in,
            net_out=net_in * rng.uniform(0.4, 1.6),
            transfer_in0=t.transfer0,
            transfer_out0=int(t.transfer0 * rng.uniform(0.8, 1.2)),
            tcp_base=rng.randint(10, 80) * (3 if t.cores > 4 else 1),
            udp_base=rng.randint(2, 12),
            proc_base=rng.randint(80, 350),
            sensors=None
            if t.sensors is None
            else tuple(
                (name, round(idle + rng.uniform(-2, 2), 2)) for name, idle in t.sensors
            ),
            gpu_base=t.gpu_base,
            load_zero=t.load_zero,
            phase=rng.uniform(0, 2 * math.pi),
        )
        ping = {}
        for mid in t.monitors:
            if mid in self.monitors:
                base = rng.uniform(20, 200)
                ping[mid] = PingProfile(
                    base=base,
                    jitter=base * rng.uniform(0.03, 0.15),
                    loss=rng.uniform(0.002, 0.02),
                    spike=rng.uniform(0.002, 0.01),
                )
        host = HostInfo(
            platform=t.platform,
            platform_version=t.platform_version,
            cpu=(t.cpu,),
            mem_total=t.mem_total,
            disk_total=t.disk_total,
            swap_total=t.swap_total,
            arch=t.arch,
            virtualization=t.virtualization,
            boot_time=boot,
            country_code=t.country,
            version=t.version,
            gpu=t.gpu,
            ip=t.ip,
        )
        server = SimServer(
            id=sid,
            name=t.name,
            tag=t.tag,
            display_index=t.display_index,
            hide_for_guest=t.hide_for_guest,
            host=host,
            profile=profile,
            ping=ping,
            online_since=created,
            history_since=history_since,
            note=t.note,
            public_note=t.public_note,
        )
        self.servers[sid] = server
        return server


def _had_agent(server: SimServer, ts: float) -> bool:
    """Whether the agent was connected (and thus probing) at clock time ``ts``."""
    if ts < server.history_since:
        return False
    return not any(start <= ts < end for start, end in server.offline_windows)
