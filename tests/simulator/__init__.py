"""A simulated Nezha monitoring dashboard for tests and demos.

Only the v0 API (``naiba/nezha`` v0-final) is implemented so far; the fleet model in
:mod:`.fleet` is generation independent so a v1 renderer can be added beside
:mod:`.v0`. Run ``python -m tests.simulator --help`` for the command line.
"""

from .catalog import MonitorKind, SimMonitor
from .core import MISSING, NezhaSimulator, RecordedRequest, generate_token
from .faults import Fault
from .fleet import ZERO_TIME_UNIX, Fleet, HostInfo, PingSeries, SimServer
from .metrics import LiveStatus, Temperature

__all__ = [
    "MISSING",
    "ZERO_TIME_UNIX",
    "Fault",
    "Fleet",
    "HostInfo",
    "LiveStatus",
    "MonitorKind",
    "NezhaSimulator",
    "PingSeries",
    "RecordedRequest",
    "SimMonitor",
    "SimServer",
    "Temperature",
    "generate_token",
]
