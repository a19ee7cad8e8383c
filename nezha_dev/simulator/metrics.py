"""Deterministic noise and the live-metric model of a simulated agent.

Everything here is a pure function of ``(seed, server id, clock second)``: no state
is kept between calls, so a frozen clock always yields byte-identical payloads, and
two simulators built with the same seed in the same second agree. Randomness comes from a splitmix64 hash
instead of :mod:`random` because a hash can be evaluated at any instant without
replaying the sequence that led there.
"""

from dataclasses import dataclass
import functools
import math

_MASK = (1 << 64) - 1
DAY = 86_400


# Noise channels: one independent stream per metric. The numbers are part of
# the generated data: other tests pin values derived from them, so never
# renumber (a temperature sensor uses CH_TEMP + 100 * its index).
CH_CPU = 1
CH_CPU_FAST = 2
CH_MEM = 3
CH_MEM_FAST = 4
CH_SWAP = 5
CH_LOAD = 6
CH_LOAD5 = 7
CH_LOAD15 = 8
CH_TCP = 9
CH_UDP = 10
CH_PROC = 11
CH_TEMP = 12
CH_GPU = 13
CH_JITTER = 15
CH_PING = 16
CH_PING_SPIKE = 17
CH_PING_LOSS = 18
# The spike size reuses the loss stream (given no loss it is >= the loss rate,
# which does not matter); kept for the stability of the generated values.
CH_PING_SPIKE_SIZE = 18
# Streams used only by the v1 renderer (added later, hence after the above).
CH_UUID = 19
CH_CREATED = 20
CH_REPORT_NANOS = 21
CH_SERVICE_LOSS = 22
CH_SERVICE_DELAY = 23
CH_SERVICE_SAMPLE = 24


def _mix(x: int) -> int:
    """Splitmix64 finaliser: a fast, well-distributed 64-bit integer hash."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def fold(state: int, *keys: int) -> int:
    """Fold integer keys into a 64-bit hash state (prefixes can be reused)."""
    for key in keys:
        state = _mix(state ^ (key & _MASK))
    return state


def unit(*keys: int) -> float:
    """Hash integer keys to a uniform float in ``[0, 1)``."""
    return fold(0, *keys) / 2.0**64


@functools.lru_cache(maxsize=4096)
def _ping_prefix(seed: int, sid: int, mid: int) -> int:
    # 1440 points per series: hashing the constant prefix once per series
    # instead of once per point makes a /monitor call about 3x cheaper.
    return fold(0, seed, sid, mid)


def smooth(seed: int, sid: int, channel: int, t: float, period: float) -> float:
    """Value noise in ``[0, 1)``: cosine-interpolated between per-bucket samples.

    Gives a smooth random walk look without state: the value only depends on the
    two bucket endpoints around ``t``.
    """
    bucket = math.floor(t / period)
    frac = t / period - bucket
    a = unit(seed, sid, channel, bucket)
    b = unit(seed, sid, channel, bucket + 1)
    w = (1 - math.cos(math.pi * frac)) / 2
    return a + (b - a) * w


def _signed(value: float) -> float:
    """Map ``[0, 1)`` to ``[-1, 1)``."""
    return 2 * value - 1


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


@dataclass(frozen=True, slots=True)
class Temperature:
    """One temperature sensor reading (°C)."""

    name: str
    temperature: float


@dataclass(frozen=True, slots=True)
class Profile:
    """Seeded workload parameters of one agent; fixed for the server's lifetime."""

    cores: int
    cpu_base: float
    cpu_amp: float
    mem_frac: float
    swap_frac: float
    disk_frac: float
    disk_growth: float  # bytes/s, so DiskUsed creeps up like logs do
    net_in: float  # mean bytes/s
    net_out: float
    transfer_in0: int  # counter value at boot time
    transfer_out0: int
    tcp_base: int
    udp_base: int
    proc_base: int
    sensors: tuple[tuple[str, float], ...] | None  # (name, idle °C)
    gpu_base: float | None
    load_zero: bool  # Windows agents report no load average
    phase: float


@dataclass(frozen=True, slots=True)
class LiveStatus:
    """A ``HostState`` snapshot, generation independent."""

    cpu: float
    mem_used: int
    swap_used: int
    disk_used: int
    net_in_transfer: int
    net_out_transfer: int
    net_in_speed: int
    net_out_speed: int
    uptime: int
    load1: float
    load5: float
    load15: float
    tcp_conn_count: int
    udp_conn_count: int
    process_count: int
    temperatures: tuple[Temperature, ...] | None
    gpu: float


# Traffic follows a daily cycle plus a 10-minute wobble; both are sines so the
# transfer counter (the integral of the speed) has a closed form and stays exactly
# consistent with the reported speed, however far apart two polls are.
_W_DAY = 2 * math.pi / DAY
_W_FAST = 2 * math.pi / 600
_A_DAY, _A_FAST = 0.5, 0.3


def _speed(mean: float, t: float, phase: float) -> float:
    return mean * (
        1
        + _A_DAY * math.sin(_W_DAY * t + phase)
        + _A_FAST * math.sin(_W_FAST * t + phase)
    )


def _transferred(mean: float, t0: float, t: float, phase: float) -> int:
    """Bytes moved between ``t0`` and ``t``: the exact integral of :func:`_speed`."""

    def antiderivative(x: float) -> float:
        return (
            x
            - (_A_DAY / _W_DAY) * math.cos(_W_DAY * x + phase)
            - (_A_FAST / _W_FAST) * math.cos(_W_FAST * x + phase)
        )

    return max(0, int(mean * (antiderivative(t) - antiderivative(t0))))


def _page(value: float) -> int:
    """Round down to a 4 KiB page, as memory/disk figures from the kernel are."""
    return int(value) // 4096 * 4096


def live_status(
    seed: int,
    sid: int,
    profile: Profile,
    *,
    t: int,
    boot_time: int,
    mem_total: int,
    swap_total: int,
    disk_total: int,
) -> LiveStatus:
    """Compute the agent report of server ``sid`` at clock second ``t``."""
    p = profile
    cpu = _clamp(
        p.cpu_base
        + p.cpu_amp * _signed(smooth(seed, sid, CH_CPU, t, 45))
        + 0.3 * p.cpu_amp * _signed(unit(seed, sid, CH_CPU_FAST, t)),
        0.1,
        100.0,
    )
    mem = _clamp(
        p.mem_frac
        + 0.05 * _signed(smooth(seed, sid, CH_MEM, t, 240))
        + 0.004 * _signed(unit(seed, sid, CH_MEM_FAST, t)),
        0.02,
        0.98,
    )
    swap = p.swap_frac * (0.9 + 0.2 * smooth(seed, sid, CH_SWAP, t, 3600))
    disk = min(
        disk_total * 0.97, disk_total * p.disk_frac + p.disk_growth * (t - boot_time)
    )
    if p.load_zero:
        load1 = load5 = load15 = 0.0
    else:
        busy = p.cores / 100
        load1 = busy * cpu * (0.7 + 0.6 * unit(seed, sid, CH_LOAD, t))
        load5 = busy * (
            p.cpu_base + p.cpu_amp * _signed(smooth(seed, sid, CH_LOAD5, t, 300))
        )
        load15 = busy * (
            p.cpu_base + 0.5 * p.cpu_amp * _signed(smooth(seed, sid, CH_LOAD15, t, 900))
        )
    temps: tuple[Temperature, ...] | None = None
    if p.sensors:
        readings = []
        for index, (name, idle) in enumerate(p.sensors):
            value = (
                idle
                + 22 * cpu / 100
                + 1.5 * _signed(smooth(seed, sid, CH_TEMP + 100 * index, t, 60))
            )
            # coretemp/k10temp report whole degrees; other hwmon drivers have decimals.
            precise = not name.startswith(("coretemp", "k10temp"))
            readings.append(
                Temperature(name, round(value, 2) if precise else float(round(value)))
            )
        temps = tuple(readings)
    gpu = 0.0
    if p.gpu_base is not None:
        gpu = round(
            _clamp(
                p.gpu_base + 30 * _signed(smooth(seed, sid, CH_GPU, t, 120)), 0, 100
            ),
            1,
        )
    return LiveStatus(
        cpu=cpu,
        mem_used=_page(mem_total * mem),
        swap_used=_page(swap_total * swap),
        disk_used=_page(disk),
        net_in_transfer=p.transfer_in0 + _transferred(p.net_in, boot_time, t, p.phase),
        net_out_transfer=p.transfer_out0
        + _transferred(p.net_out, boot_time, t, p.phase + 1),
        net_in_speed=int(_speed(p.net_in, t, p.phase)),
        net_out_speed=int(_speed(p.net_out, t, p.phase + 1)),
        uptime=max(0, t - boot_time),
        load1=round(max(0.0, load1), 2),
        load5=round(max(0.0, load5), 2),
        load15=round(max(0.0, load15), 2),
        tcp_conn_count=p.tcp_base
        + int(p.tcp_base * 0.3 * smooth(seed, sid, CH_TCP, t, 120)),
        udp_conn_count=p.udp_base + int(3 * smooth(seed, sid, CH_UDP, t, 120)),
        process_count=p.proc_base + int(12 * smooth(seed, sid, CH_PROC, t, 300)),
        temperatures=temps,
        gpu=gpu,
    )


@dataclass(frozen=True, slots=True)
class PingProfile:
    """Latency characteristics of one (monitor, server) pair."""

    base: float  # ms
    jitter: float  # ms
    loss: float  # probability that every probe of a point failed
    spike: float  # probability of a congestion spike


MAX_DELAY = 1000.0  # v0 MaxTCPPingValue default


def ping_delay(seed: int, sid: int, mid: int, minute: int, prof: PingProfile) -> float:
    """Average delay (ms) recorded for the point at ``minute`` (unix minutes).

    A failed probe reports 0, so a lost point is exactly 0; congestion spikes may
    exceed the cap and are clamped to 1000 like the dashboard does. The result is
    rounded to 6 significant digits so it is exactly what Go prints for a float32.
    """
    prefix = _ping_prefix(seed, sid, mid)
    if fold(prefix, CH_PING_LOSS, minute) / 2.0**64 < prof.loss:
        return 0.0
    daily = 1 + 0.12 * math.sin(2 * math.pi * minute / 1440 + mid)
    noise = fold(prefix, CH_PING, minute) / 2.0**64
    value = prof.base * daily + prof.jitter * _signed(noise)
    if fold(prefix, CH_PING_SPIKE, minute) / 2.0**64 < prof.spike:
        value *= 3 + 12 * fold(prefix, CH_PING_SPIKE_SIZE, minute) / 2.0**64
    value = _clamp(value, 0.05, MAX_DELAY)
    return float(f"{value:.6g}")


def report_jitter(seed: int, sid: int, t: int) -> int:
    """How many whole seconds ago the last report arrived (0 or 1).

    Restricted to {0, 1} so ``t - jitter`` never goes backwards as ``t`` advances.
    """
    return int(unit(seed, sid, CH_JITTER, t) < 0.5)
