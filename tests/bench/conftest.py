"""Collect the benchmark only for ``scripts/bench`` (``NEZHA_BENCH=1``).

A normal ``pytest tests`` run ignores this directory's modules entirely, so they
neither run nor show up as skipped tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
import logging
import os

import pytest

from tests.conftest import SECRETS

collect_ignore_glob = [] if os.environ.get("NEZHA_BENCH") == "1" else ["test_*.py"]


@pytest.fixture(autouse=True)
async def enable_event_loop_debug() -> None:
    """Override PHCC's fixture: Home Assistant runs without asyncio debug mode.

    Debug mode times every callback and tracks coroutine origins, which would
    inflate the integration's numbers and the floor's alike.
    """
    asyncio.get_running_loop().set_debug(False)


class _SecretScanner(logging.Handler):
    """Notes log records that contain a token."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        if any(secret in text for secret in SECRETS):
            self.leaks.append(record.name)


@pytest.fixture(autouse=True)
def no_token_in_logs() -> Generator[None]:
    """Override the suite's check, which captures and formats every DEBUG record.

    Home Assistant formats and writes its log in a separate thread; here every
    record would be formatted on the event loop (and at N = 1000 setup logs some
    20 000 "Registered new entity" lines to the terminal), which would distort
    the timings and the memory figures. The benchmark logs WARNING and above and
    still checks those records for tokens.
    """
    scanner = _SecretScanner()
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.WARNING)
    root.addHandler(scanner)
    try:
        yield
    finally:
        root.removeHandler(scanner)
        root.setLevel(level)
    assert not scanner.leaks, f"token leaked in log records from {scanner.leaks}"
