"""A simulated Nezha monitoring dashboard for tests and demos.

Two API generations are served from one generation-independent fleet model
(:mod:`.fleet`): the v0 API (``naiba/nezha`` v0-final, :mod:`.v0`) and the v1/v2
API (``nezhahq/nezha`` v1.x-v2.3.7, :mod:`.v1` and :mod:`.v1_ws`) with personal
access tokens and the WAF. Run ``python -m nezha_dev.simulator --help`` for the CLI.
"""

from .catalog import MonitorKind, SimMonitor
from .core import MISSING, NezhaSimulator, RecordedRequest, generate_token
from .faults import Fault
from .fleet import ZERO_TIME_UNIX, Fleet, HostInfo, PingSeries, SimServer
from .metrics import LiveStatus, Temperature
from .tokens import DEFAULT_SCOPES, ApiToken, generate_pat
from .waf import BLOCK_ID_MANUAL, BLOCK_ID_TOKEN, BLOCK_ID_UNKNOWN_USER

__all__ = [
    "BLOCK_ID_MANUAL",
    "BLOCK_ID_TOKEN",
    "BLOCK_ID_UNKNOWN_USER",
    "DEFAULT_SCOPES",
    "MISSING",
    "ZERO_TIME_UNIX",
    "ApiToken",
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
    "generate_pat",
    "generate_token",
]
