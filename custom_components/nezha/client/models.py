"""Typed, immutable models shared by every API generation."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from .notes import PublicNote


class ApiGeneration(StrEnum):
    """Which dashboard API a URL speaks."""

    V0 = "v0"
    V1 = "v1"


@dataclass(frozen=True, slots=True)
class Temperature:
    """One temperature sensor reading of a server, in °C."""

    name: str
    celsius: float


@dataclass(frozen=True, slots=True)
class Host:
    """Static facts an agent reports about its machine.

    Missing values are None (never reported) so that entities show "unknown".
    """

    platform: str = ""
    platform_version: str = ""
    cpu: tuple[str, ...] = ()
    mem_total: int | None = None
    disk_total: int | None = None
    swap_total: int | None = None
    arch: str = ""
    virtualization: str = ""
    boot_time: datetime | None = None
    country_code: str = ""
    agent_version: str = ""
    gpu: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class State:
    """The latest metrics an agent reported. Bytes, bytes/s, seconds and percent."""

    cpu: float | None = None
    mem_used: int | None = None
    swap_used: int | None = None
    disk_used: int | None = None
    net_in_transfer: int | None = None
    net_out_transfer: int | None = None
    net_in_speed: int | None = None
    net_out_speed: int | None = None
    uptime: int | None = None
    load_1: float | None = None
    load_5: float | None = None
    load_15: float | None = None
    tcp_conn_count: int | None = None
    udp_conn_count: int | None = None
    process_count: int | None = None
    temperatures: tuple[Temperature, ...] = ()
    gpu: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class Server:
    """One server watched by the dashboard, keyed by its immutable id."""

    id: int
    name: str
    tag: str = ""
    last_active: datetime | None = None
    ipv4: str = ""
    ipv6: str = ""
    valid_ip: str = ""
    display_index: int = 0
    host: Host = field(default_factory=Host)
    state: State = field(default_factory=State)
    public_note: PublicNote | None = None
    """Billing and plan data of the public note (v1/v2 only), None without any."""

    def seconds_since_report(self, now: datetime) -> float | None:
        """Return how long ago the agent last reported, or None if it never did."""
        if self.last_active is None:
            return None
        return (now - self.last_active).total_seconds()


@dataclass(frozen=True, slots=True)
class ServerSummary:
    """The light record of a server from the list endpoint."""

    id: int
    name: str
    tag: str
    groups: tuple[str, ...] = ()
    """Every group the server is in (v1/v2 groups are many-to-many; v0: its tag)."""


@dataclass(frozen=True, slots=True)
class Fleet:
    """One successful answer about the servers of a dashboard.

    ``skipped_ids`` holds the ids of records that were present but could not be
    parsed; ``complete`` is False when a record was so broken that even its id is
    unknown, or when records beyond the limit were left out. Callers must not treat a
    server as deleted unless the answer is complete and its id is not among the
    skipped ones.
    """

    servers: dict[int, Server]
    server_time: datetime
    skipped_ids: frozenset[int] = frozenset()
    complete: bool = True
    left_out: int = 0
    """Records beyond ``limits.MAX_SERVERS`` that were not read (0: none)."""

    def may_have(self, server_id: int) -> bool:
        """Return True if the server might still exist on the dashboard."""
        return (
            server_id in self.servers
            or server_id in self.skipped_ids
            or not self.complete
        )


@dataclass(frozen=True, slots=True)
class PingMonitor:
    """Latency history summary of one ping monitor as seen from one server."""

    monitor_id: int
    server_id: int
    name: str
    latest_at: datetime | None
    latest_delay: float | None
    """Milliseconds of the newest point; None when that probe was lost (Nezha stores 0)."""
    points: int = 0
    lost: int = 0
    average_delay: float | None = None
    """Mean delay in ms of the probes that were not lost, over the returned window."""

    @property
    def loss_percent(self) -> float | None:
        """Share of lost probes over the returned window."""
        if not self.points:
            return None
        return round(100 * self.lost / self.points, 2)


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    """A v1 service monitor as the dashboard summarises it."""

    id: int
    name: str
    is_up: bool | None
    """Majority of the latest checks; None before any check."""
    availability_today: float | None
    """Percent of today's checks that succeeded (the dashboard's local day)."""
    delay_today: float | None
    """Average delay today in ms."""
    availability_30d: float | None = None
    """Percent of the checks of the dashboard's 30 daily buckets that succeeded."""
    delay_30d: float | None = None
    """Average delay in ms over those 30 days, weighted by successful checks."""


@dataclass(frozen=True, slots=True)
class TransferQuota:
    """A cycle-transfer alert rule of a v1 dashboard: its traffic quota.

    ``used`` holds the bytes each covered server transferred in the current
    cycle, for the servers the dashboard has checked since it started.
    """

    id: int
    name: str
    cycle_start: datetime | None
    cycle_end: datetime | None
    limit: int | None
    """Bytes allowed per cycle; None when the rule sets no maximum."""
    used: dict[int, int]


@dataclass(frozen=True, slots=True)
class ServiceOverview:
    """What ``/api/v1/service`` tells: service monitors and traffic quotas."""

    services: list[ServiceStatus]
    quotas: dict[int, TransferQuota]
