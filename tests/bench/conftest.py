"""Collect the benchmark only for ``scripts/bench`` (``NEZHA_BENCH=1``), not as skips."""

import asyncio
from collections.abc import Generator, Iterable
import logging
from logging.handlers import BufferingHandler
import os
import sys

import pytest

from tests.conftest import SECRETS

collect_ignore_glob = [] if os.environ.get("NEZHA_BENCH") == "1" else ["test_*.py"]


@pytest.fixture(autouse=True)
async def enable_event_loop_debug() -> None:
    """Override PHCC's fixture: without debug mode, as Home Assistant runs."""
    # Debug mode times every callback and tracks coroutine origins: slower numbers.
    asyncio.get_running_loop().set_debug(False)


@pytest.fixture(autouse=True)
def no_token_in_logs() -> Generator[list[logging.LogRecord]]:
    """Override the suite's token check: WARNING and above only; yield those records."""
    # Formatting every DEBUG record (N = 1000 logs some 20 000 "Registered new entity"
    # lines) would distort timings and memory.
    kept = BufferingHandler(capacity=sys.maxsize)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.WARNING)
    root.addHandler(kept)
    try:
        yield kept.buffer
    finally:
        root.removeHandler(kept)
        root.setLevel(level)
    for record in kept.buffer:
        text = record.getMessage()
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        leaked = any(secret in text for secret in SECRETS)
        assert not leaked, f"token leaked in a log record from {record.name}"


def print_table(header: str, rows: Iterable[str]) -> None:
    """Print a Markdown table: ``header`` and rows of "a | b" cells."""
    columns = header.count("|") + 1
    lines = [f"| {header} |", "|---" * columns + "|", *(f"| {row} |" for row in rows)]
    print("\n" + "\n".join(lines))  # noqa: T201 - the table is the output
