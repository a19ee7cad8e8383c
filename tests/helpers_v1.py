"""Moved to tests/helpers.py; these names stay importable from here until every
import says tests.helpers (other branches still import this module)."""

from __future__ import annotations

from tests.helpers import (
    FRAME,
    GROUPS,
    PAT,
    SERVERS,
    SERVICES,
    WS,
    Live,
    MakeLive,
    StateLog,
    ping_round_done,
    setup_frozen,
    simulated_minutes,
    start_live,
    until,
    v1_entry,
)

__all__ = [
    "FRAME",
    "GROUPS",
    "PAT",
    "SERVERS",
    "SERVICES",
    "WS",
    "Live",
    "MakeLive",
    "StateLog",
    "ping_round_done",
    "setup_frozen",
    "simulated_minutes",
    "start_live",
    "until",
    "v1_entry",
]
