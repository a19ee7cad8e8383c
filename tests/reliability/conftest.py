"""The reliability tests run on the frozen clock (fixtures in tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _frozen_clock(frozen: None) -> None:
    """Every reliability test starts on the frozen clock."""
