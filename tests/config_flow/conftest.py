"""Fixtures of the config-flow tests: a skipped setup, local HTTP and HTTPS servers."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from pathlib import Path
import threading
from unittest.mock import AsyncMock, patch

from aiohttp import web
import pytest

from tests.config_flow.helpers import Serve, TLSDashboard, TLSDashboardHandler
from tests.tls import self_signed_context


@pytest.fixture
def mock_setup_entry() -> Generator[AsyncMock]:
    """Skip the real setup in tests that only exercise the flow."""
    with patch("custom_components.nezha.async_setup_entry", return_value=True) as mock:
        yield mock


@pytest.fixture
async def serve(socket_enabled: None) -> AsyncGenerator[Serve]:
    """Start aiohttp apps on 127.0.0.1; all are stopped after the test."""
    runners: list[web.AppRunner] = []

    async def start(app: web.Application) -> str:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        runners.append(runner)
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return f"http://127.0.0.1:{runner.addresses[0][1]}"

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
def tls_dashboard(socket_enabled: None, tmp_path: Path) -> Generator[TLSDashboard]:
    """A dashboard with a self-signed certificate, served from its own thread.

    A failed handshake is then the server thread's business and does not reach
    Home Assistant's event loop (which fails the test on any loop error).
    """
    server = TLSDashboard(("127.0.0.1", 0), TLSDashboardHandler)
    server.seen = []
    server.socket = self_signed_context(tmp_path).wrap_socket(
        server.socket, server_side=True
    )
    thread = threading.Thread(target=server.serve_forever, name="tls-dashboard")
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()
