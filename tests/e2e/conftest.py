"""Fixtures of the end-to-end tests: one simulator and one real ``hass`` per module."""

from collections.abc import AsyncIterator, Iterator
import contextlib
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from nezha_dev.hass.stack import Phases, Stack
from nezha_dev.provision_demo import HomeAssistantClient, Provisioned, Tokens, provision

PHASES: list[tuple[str, Phases]] = []


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Override the package-wide fixture: e2e tests need no in-process ``hass``."""


@pytest.fixture(autouse=True)
def _sockets(socket_enabled: None) -> None:
    """Every e2e test talks to local processes over TCP."""


class E2EState:
    """A lazily started :class:`Stack` and what the tests learn about it."""

    def __init__(self, workdir: Path) -> None:
        """Describe the stack; nothing runs yet."""
        self.stack = Stack(workdir)
        self.phases = self.stack.phases  # durations of the phases so far
        self.tokens: Tokens | None = None  # the demo owner's, once onboarded
        self.password = ""
        self.entry_id = ""
        self.failed_start: BaseException | None = None

    def ensure_started(self) -> Stack:
        """Start the simulator and Home Assistant unless they run."""
        if self.failed_start is not None:
            pytest.fail(f"the e2e stack failed to start: {self.failed_start}")
        if not self.stack.started:
            try:
                self.stack.start()
            except Exception as err:
                self.failed_start = err
                raise
        return self.stack

    async def provision(
        self, session: aiohttp.ClientSession, **kwargs: Any
    ) -> Provisioned:
        """Provision the stack as scripts/develop does (onboarding unless done)."""
        hass, sim = self.stack.hass, self.stack.sim
        return await provision(
            session,
            hass.url,
            sim.url,
            self.stack.token,
            config_dir=hass.config_dir,
            **kwargs,
        )

    @contextlib.asynccontextmanager
    async def client(self) -> AsyncIterator[HomeAssistantClient]:
        """A client logged in as the demo owner (fresh access token)."""
        if self.tokens is None:
            pytest.fail("Home Assistant has not been onboarded (first test failed?)")
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            client = HomeAssistantClient(session, self.stack.hass.url)
            client.tokens = self.tokens
            self.tokens = await client.refresh()
            yield client


@pytest.fixture(scope="module")
def e2e_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2EState]:
    """The stack of this module (not started yet); stopped at the end."""
    state = E2EState(tmp_path_factory.mktemp("e2e"))
    try:
        yield state
    finally:
        state.stack.close()
        PHASES.append((str(state.stack.workdir), state.phases))


@pytest.fixture
def e2e(e2e_state: E2EState, request: pytest.FixtureRequest) -> Iterator[E2EState]:
    """The running stack; the test's own duration is recorded as a phase."""
    e2e_state.ensure_started()
    with e2e_state.phases(request.node.name):
        yield e2e_state


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the duration of every e2e phase."""
    for workdir, phases in PHASES:
        terminalreporter.section(f"e2e phases ({workdir})")
        for line in phases.report():
            terminalreporter.write_line(line)
