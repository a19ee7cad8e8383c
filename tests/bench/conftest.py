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
    """Override PHCC's fixture: without debug mode, as Home Assistant runs.

    Debug mode times every callback and tracks coroutine origins, which would
    inflate the integration's numbers and the floor's alike.
    """
    asyncio.get_running_loop().set_debug(False)


class _Scanner(logging.Handler):
    """Keeps the messages and notes the records that contain a token."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(text := record.getMessage())
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        if any(secret in text for secret in SECRETS):
            self.leaks.append(record.name)


@pytest.fixture(autouse=True)
def no_token_in_logs() -> Generator[list[str]]:
    """Override the suite's check, which captures and formats every DEBUG record.

    Formatting every record on the event loop (N = 1000 logs some 20 000 "Registered
    new entity" lines) would distort timings and memory, so the benchmark logs
    WARNING and above, checks those for tokens and yields their messages.
    """
    scanner = _Scanner()
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.WARNING)
    root.addHandler(scanner)
    try:
        yield scanner.messages
    finally:
        root.removeHandler(scanner)
        root.setLevel(level)
    assert not scanner.leaks, f"token leaked in log records from {scanner.leaks}"
