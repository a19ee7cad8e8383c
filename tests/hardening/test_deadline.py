"""One deadline for a whole sequence of requests: setup, and each form check.

Each request gives up after 10 s, but a v1 update makes two in a row and the
form up to four; answers that each come just in time must not add up. Real
time, with the deadlines shortened (and the answers slowed) to keep it quick.
"""

from __future__ import annotations

import time

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
import pytest

from custom_components.nezha import config_flow, coordinator
from custom_components.nezha.client import NezhaTimeoutError
from nezha_dev.simulator import Fault, NezhaSimulator
from tests.config_flow.helpers import start_user_flow, submit, user_input
from tests.helpers import PAT, SERVERS, v1_entry

DEADLINE = 1.0
EACH = 0.7  # every slow answer is in time on its own; two are not


def wall() -> float:
    """Real elapsed seconds."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


async def test_setup_has_one_deadline(
    hass: HomeAssistant, v1_sim: NezhaSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/server and /server-group take 0.7 s each: setup gives up at 1 s, and says so."""
    monkeypatch.setattr(coordinator, "UPDATE_DEADLINE", DEADLINE, raising=False)
    v1_sim.slow_seconds = EACH
    v1_sim.inject_fault(Fault.SLOW, count=None, path=SERVERS)  # and /server-group
    entry = v1_entry(v1_sim)
    entry.add_to_hass(hass)
    started = wall()
    await hass.config_entries.async_setup(entry.entry_id)
    took = wall() - started
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.reason is not None
    assert "did not answer in time" in entry.reason
    assert f"within {DEADLINE:g} s" in entry.reason
    assert took < DEADLINE + 0.3


async def test_form_check_has_one_deadline(
    hass: HomeAssistant, v1_sim: NezhaSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four requests in a row: the form answers "timeout" once the deadline passed."""
    monkeypatch.setattr(config_flow, "VALIDATE_DEADLINE", DEADLINE, raising=False)
    v1_sim.slow_seconds = EACH
    v1_sim.inject_fault(Fault.SLOW, count=None, path=SERVERS)
    result = await start_user_flow(hass)
    started = wall()
    result = await submit(hass, result, user_input(v1_sim.url, PAT))
    took = wall() - started
    assert result.get("errors") == {"base": "timeout"}, result
    assert took < DEADLINE + 0.3


def test_one_request_timing_out_reads_as_a_timeout_in_the_form() -> None:
    """Not "cannot connect": the dashboard is there, it is too slow."""
    err = NezhaTimeoutError("/api/v1/server/list: no answer within 10 s")
    assert config_flow.error_key(err) == "timeout"
