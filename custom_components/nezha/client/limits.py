"""Bounds on what a dashboard may send, so a broken or hostile one cannot stall Home Assistant.

Sized from real answers (the simulator renders what the dashboards send): a
server record is 0.8 KiB (v0 details) to 0.9 KiB (v1 /server, the stream) and
real ones with GPUs and many sensors reach 2 KiB; one day of a ping monitor's
history is 1,440 points, about 31 KiB. Each body cap leaves twice that room at
the count limits below; what exceeds one is refused (NezhaTooLargeError), what
exceeds a count is cut and reported, never dropped in silence.
"""

from typing import Final

KIB: Final = 1024
MIB: Final = 1024 * KIB

MAX_SERVERS: Final = 3_000
"""Servers parsed per answer (in the dashboard's order); the rest are left out."""
MAX_RECORDS: Final = 10 * MAX_SERVERS
"""v1 records whose ids are looked at (group filter, stream frames); beyond: left out."""
MAX_POINTS_PER_MONITOR: Final = 2_880
"""The newest points of a ping monitor that are read (two days at one a minute)."""
MAX_MONITORS_PER_SERVER: Final = 50
"""Ping sensors per server (the lowest monitor ids)."""
MAX_TEMPERATURES_PER_SERVER: Final = 64
"""Temperature sensors per server (agents report one per core on big CPUs)."""

FLEET_BODY_BYTES: Final = 6 * MIB
"""v0 ``/server/details``, v1 ``/server`` and one stream frame: MAX_SERVERS x 2 KiB."""
LIST_BODY_BYTES: Final = 2 * MIB
"""v0 ``/server/list``: about 180 bytes per server."""
MONITOR_BODY_BYTES: Final = 2 * MIB
"""One server's ping history: about 31 KiB per monitor and day (60 monitors)."""
SERVICES_BODY_BYTES: Final = 1 * MIB
"""v1 ``/service``: about 3 KiB per service (30 daily buckets)."""
SMALL_BODY_BYTES: Final = 256 * KIB
"""v1 ``/server-group`` (3 KiB for 1,000 servers) and ``/setting`` (141 bytes)."""
