"""Static catalogue of realistic servers and monitors the fleet is built from.

The first templates are chosen so that a small fleet (5 servers) already covers the
interesting shapes: dual-stack / IPv4-only / IPv6-only, temperatures, a GPU, a hidden
server, a non-ASCII name, a Windows agent without load averages, a server without
monitors and a transfer counter beyond 2^53. The seed only changes the numbers.
"""

from dataclasses import dataclass
from enum import StrEnum

GIB = 1024**3


class MonitorKind(StrEnum):
    """Service-monitor types; only the ping kinds write per-server history in v0."""

    HTTP = "http"
    ICMP = "icmp"
    TCP = "tcp"


@dataclass(frozen=True, slots=True)
class SimMonitor:
    """A dashboard service monitor (fleet-wide; agents execute it)."""

    id: int
    name: str
    kind: MonitorKind
    target: str

    @property
    def writes_server_history(self) -> bool:
        """Whether v0 stores per-server rows for it (ICMP/TCP ping only)."""
        return self.kind in (MonitorKind.ICMP, MonitorKind.TCP)


MONITORS: tuple[SimMonitor, ...] = (
    SimMonitor(1, "Blog HTTPS", MonitorKind.HTTP, "https://blog.example.com"),
    SimMonitor(2, "CT-Shanghai ICMP", MonitorKind.ICMP, "202.96.209.133"),
    SimMonitor(3, "CU-Beijing ICMP", MonitorKind.ICMP, "202.106.0.20"),
    SimMonitor(4, "Cloudflare DNS ICMP", MonitorKind.ICMP, "1.1.1.1"),
    SimMonitor(5, "Google TCP 443", MonitorKind.TCP, "www.google.com:443"),
)


@dataclass(frozen=True, slots=True)
class Template:
    """Everything about a server that does not come from the seed."""

    name: str
    tag: str
    platform: str
    platform_version: str
    cpu: str
    cores: int
    mem_total: int
    disk_total: int
    swap_total: int
    arch: str
    virtualization: str
    country: str
    version: str
    ip: str
    display_index: int = 0
    hide_for_guest: bool = False
    gpu: tuple[str, ...] | None = None
    gpu_base: float | None = None
    sensors: tuple[tuple[str, float], ...] | None = None
    monitors: tuple[int, ...] = ()
    uptime_days: float = 10
    cpu_base: float = 8
    net_mean: float = 50_000  # bytes/s
    transfer0: int = 0
    load_zero: bool = False
    note: str = ""  # admin-only note (v1 only)
    public_note: str = ""  # free text for themes, often JSON (v1 only)


TEMPLATES: tuple[Template, ...] = (
    Template(
        "hk-edge-01",
        "Production",
        "debian",
        "12.8",
        "AMD EPYC 7543 32-Core Processor 2 Virtual Core",
        2,
        2079547392,
        42140479488,
        1073737728,
        "x86_64",
        "kvm",
        "hk",
        "0.20.5",
        "203.0.113.10/2001:db8::10",
        monitors=(1, 2, 5),
        uptime_days=12,
        cpu_base=4,
        net_mean=30_000,
        transfer0=1_289_748_811_776,
        # What theme users store in public_note: JSON with HTML-escaped output.
        public_note='{"billingDataMod":{"endDate":"2026-09-01T00:00:00+08:00",'
        '"amount":"$5"},"planDataMod":{"bandwidth":"1Gbps","trafficVol":"1TB"}}',
    ),
    Template(
        "fra-db-02",
        "Production",
        "ubuntu",
        "22.04",
        "Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz 8 Virtual Core",
        8,
        16765939712,
        214748364800,
        4294963200,
        "x86_64",
        "kvm",
        "de",
        "0.20.5",
        "198.51.100.22",
        display_index=10,
        monitors=(3, 4, 5),
        uptime_days=87,
        cpu_base=22,
        net_mean=40_000_000,
        # A long-lived busy box whose counter is past 2^53 (exact only as uint64).
        transfer0=9_007_199_254_740_993 + 123_456_789_012,
        # As the admin frontend writes it (toISOString dates), renewed monthly.
        public_note='{"billingDataMod":{"startDate":"2025-01-14T16:00:00.000Z",'
        '"endDate":"2026-01-14T16:00:00.000Z","autoRenewal":"1","cycle":"Month",'
        '"amount":"200EUR"},"planDataMod":{"bandwidth":"10Gbps",'
        '"trafficVol":"20TB/Month","trafficType":"2","IPv4":"1","IPv6":"1",'
        '"networkRoute":"CN2 GIA,CMI","extra":"NVMe,DDoS protection"}}',
    ),
    Template(
        "gpu-box",
        "Lab",
        "ubuntu",
        "24.04",
        "Intel(R) Core(TM) i7-12700 20 Virtual Core",
        20,
        33454710784,
        1000204886016,
        2147479552,
        "x86_64",
        "",
        "de",
        "0.20.5",
        "2001:db8:1::3",
        display_index=5,
        hide_for_guest=True,
        gpu=("NVIDIA GeForce RTX 3060",),
        gpu_base=35,
        sensors=(
            ("coretemp_package_id_0", 42),
            ("coretemp_core_0", 40),
            ("nvme_composite", 36.85),
        ),
        monitors=(4,),
        uptime_days=7,
        cpu_base=12,
        net_mean=130_000,
        transfer0=98_765_432_109,
        note="lab machine <GPU> & co",
        public_note="Rented from a friend; pay him in beer.",  # free text
    ),
    Template(
        "nas",
        "",
        "debian",
        "11.11",
        "Intel(R) Celeron(R) J4125 CPU @ 2.00GHz 4 Physical Core",
        4,
        8232304640,
        15994458210304,
        0,
        "x86_64",
        "",
        "gb",
        "0.20.3",
        "192.0.2.44",
        sensors=(
            ("coretemp_package_id_0", 38),
            ("acpitz", 27.8),
            ("drivetemp_sda", 33),
            ("drivetemp_sdb", 34),
        ),
        uptime_days=143,
        cpu_base=3,
        net_mean=60_000,
        transfer0=45_035_996_273,
        # The admin frontend's "no expiry" date, free of charge.
        public_note='{"billingDataMod":{"startDate":"2024-03-01T00:00:00.000Z",'
        '"endDate":"0000-00-00T23:59:59+08:00","autoRenewal":"0","cycle":"Year",'
        '"amount":"0"}}',
    ),
    Template(
        "东京-web-03",
        "Production",
        "Microsoft Windows Server 2022 Datacenter",
        "10.0.20348 Build 20348",
        "Intel(R) Xeon(R) Platinum 8272CL CPU @ 2.60GHz 4 Virtual Core",
        4,
        8589463552,
        136363114496,
        1207959552,
        "x86_64",
        "",
        "jp",
        "0.20.3",
        "192.0.2.55/2001:db8:2::55",
        display_index=1,
        monitors=(2, 3),
        uptime_days=3,
        cpu_base=15,
        net_mean=500_000,
        load_zero=True,
        public_note='{"billingDataMod":{"endDate":"2026-07-01"',  # cut short
    ),
    Template(
        "sgp-cache-03",
        "Production",
        "alpine",
        "3.20.3",
        "AMD EPYC 7B13 1 Virtual Core",
        1,
        1025916928,
        26843545600,
        0,
        "x86_64",
        "kvm",
        "sg",
        "0.20.5",
        "198.51.100.63",
        monitors=(2, 4),
        uptime_days=45,
        cpu_base=6,
        # Expired in May 2026 and not renewed automatically.
        public_note='{"billingDataMod":{"startDate":"2025-05-20","endDate":'
        '"2026-05-20","autoRenewal":"0","cycle":"Year","amount":"-1"}}',
    ),
    Template(
        "lax-backup-04",
        "Lab",
        "freebsd",
        "14.1-RELEASE",
        "Intel(R) Xeon(R) E-2236 CPU @ 3.40GHz 12 Virtual Core",
        12,
        34359738368,
        3998614552576,
        4294967296,
        "amd64",
        "",
        "us",
        "0.20.5",
        # Agent reported "/v6": the v4 half is empty, so valid_ip ends up "".
        "/2001:db8:3::4",
        monitors=(5,),
        uptime_days=30,
        cpu_base=5,
        public_note='{"planDataMod":{"bandwidth":"1Gbps","trafficVol":"3TB",'
        '"trafficType":"1","IPv4":"1","IPv6":"0","networkRoute":"",'
        '"extra":""}}',  # plan only
    ),
    Template(
        "pi-home",
        "",
        "raspbian",
        "12.8",
        "Cortex-A76 4 Physical Core",
        4,
        8450109440,
        62277025792,
        536866816,
        "aarch64",
        "",
        "cn",
        "0.20.5",
        "192.0.2.8",
        sensors=(("cpu_thermal", 48.3),),
        monitors=(2, 3),
        uptime_days=21,
        cpu_base=9,
        net_mean=20_000,
        public_note='{"customData":{"orderLink":"https://example.com/order"}}',
    ),
    Template(
        "mac-mini",
        "Lab",
        "darwin",
        "15.1",
        "Apple M2 8 Physical Core",
        8,
        17179869184,
        494384795648,
        0,
        "arm64",
        "",
        "nl",
        "0.20.5",
        "2001:db8:4::9",
        gpu=("Apple M2",),
        gpu_base=8,
        monitors=(4, 5),
        uptime_days=2,
        cpu_base=7,
    ),
    Template(
        "ams-mail-05",
        "Production",
        "rocky",
        "9.4",
        "AMD EPYC-Rome Processor 2 Virtual Core",
        2,
        3893104640,
        64424509440,
        2147479552,
        "x86_64",
        "kvm",
        "nl",
        "0.20.5",
        "198.51.100.75/2001:db8:5::75",
        monitors=(2, 3, 4),
        uptime_days=60,
    ),
)

# (name prefix, lower-case country code as the v0 GeoIP lookup stores it)
_FILLER_REGIONS = (
    ("hk", "hk"),
    ("fra", "de"),
    ("sgp", "sg"),
    ("lax", "us"),
    ("ams", "nl"),
    ("nrt", "jp"),
    ("sjc", "us"),
    ("lon", "gb"),
)
_FILLER_TAGS = ("Production", "Lab", "")


def filler_template(index: int) -> Template:
    """Template for the ``index``-th server beyond the hand-written catalogue."""
    region, country = _FILLER_REGIONS[index % len(_FILLER_REGIONS)]
    return Template(
        f"{region}-node-{index + 1:02d}",
        _FILLER_TAGS[index % 3],
        "debian",
        "12.8",
        "Intel Xeon Processor (Skylake, IBRS) 2 Virtual Core",
        2,
        4 * GIB,
        80 * GIB,
        GIB,
        "x86_64",
        "kvm",
        country,
        "0.20.5",
        f"198.51.100.{100 + index % 150}",
        monitors=(2, 4),
    )
