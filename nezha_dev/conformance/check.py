"""Run the integration's own client against a dashboard and say what it sees.

    scripts/check-dashboard https://nezha.example.com   # token: $NEZHA_TOKEN or a prompt

Read-only GETs, one at a time, in the order the integration makes them; the
first authentication failure ends the run (on v1 each one is a WAF strike). The
report lists the generation, servers, groups, monitors, services, the token's
scopes, the dashboard's clock offset and every deviation from what the
integration expects. It holds no token and no address: attach it to a bug report.
"""

import argparse
import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
import getpass
import importlib
import importlib.util
import itertools
import logging
import os
from pathlib import Path
import sys
import time
from types import ModuleType
from typing import Any

import aiohttp


def _say(text: str, *, file: Any = None) -> None:
    """Print without ruff's print rule: this is a command-line tool."""
    (file or sys.stdout).write(text + "\n")


def load_client() -> ModuleType:
    """The integration's client package, loaded without Home Assistant.

    ``custom_components/nezha/__init__.py`` imports Home Assistant; the client
    below it does not, so it is loaded as a package of its own: the checker then
    needs nothing but aiohttp.
    """
    name = "nezha_client"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parents[2] / "custom_components/nezha/client"
    spec = importlib.util.spec_from_file_location(
        name, path / "__init__.py", submodule_search_locations=[str(path)]
    )
    assert spec is not None  # noqa: S101 - a file location always has a spec
    assert spec.loader is not None  # noqa: S101
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


nz = load_client()
SETTING_PATH = importlib.import_module("nezha_client.detect").SETTING_PATH
Transport = importlib.import_module("nezha_client.transport").Transport
REQUIRED_SCOPES = importlib.import_module("nezha_client.v1").REQUIRED_SCOPES

# The integration's default threshold: a server silent for longer reads offline.
OFFLINE_AFTER = 30.0
CLOCK_TOLERANCE = 30.0
STREAM_FRAMES = 3


@dataclass(slots=True)
class Report:
    """What the integration would see; ``deviations`` is what it would not expect."""

    lines: list[str] = field(default_factory=list)
    deviations: list[str] = field(default_factory=list)
    auth_failed: bool = False
    generation: str = ""
    servers: int = 0

    def say(self, text: str) -> None:
        """Add a line of the report."""
        self.lines.append(text)

    def deviate(self, text: str) -> None:
        """Add a deviation."""
        self.deviations.append(text)

    def render(self) -> str:
        """The report as text."""
        out = [*self.lines, ""]
        if self.deviations:
            out.append(f"{len(self.deviations)} deviation(s):")
            out.extend(f"  - {d}" for d in self.deviations)
        else:
            out.append("No deviations: the integration sees what it expects.")
        return "\n".join(out)


class _Collector(logging.Handler):
    """Catches the client's warnings about unexpected values."""

    def __init__(self, sink: Callable[[str], None]) -> None:
        super().__init__(logging.WARNING)
        self._sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self._sink(record.getMessage())


async def check(
    session: aiohttp.ClientSession,
    url: str,
    token: str,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Report:
    """Check one dashboard; never raises for what the dashboard answers."""
    report = Report()
    url = url.rstrip("/")
    logger = logging.getLogger("nezha_client")
    collector = _Collector(lambda m: report.deviate(f"client warning: {m}"))
    logger.addHandler(collector)
    try:
        await _check(session, url, token, report, clock)
    except nz.NezhaAuthError as err:
        report.auth_failed = True
        report.deviate(f"stopped at the first authentication failure: {err}")
    except nz.NezhaError as err:
        report.deviate(f"stopped: {err.__class__.__name__}: {err}")
    finally:
        logger.removeHandler(collector)
    return report


async def _check(
    session: aiohttp.ClientSession,
    url: str,
    token: str,
    report: Report,
    clock: Callable[[], datetime],
) -> None:
    detection = await nz.async_detect_generation(session, url)
    report.generation = detection.generation.value
    report.say(f"generation: {detection.generation.value}")
    if detection.generation is nz.ApiGeneration.V1:
        await _setting(session, url, report)
        if not nz.looks_like_personal_token(token):
            report.deviate("the token is not a personal token (nzp_ + 32 characters)")
            return
        client1 = nz.NezhaV1Client(session, url, token)
        fleet = await _fleet(client1.async_get_fleet, report, clock)
        groups = await client1.async_get_groups()
        report.say(f"groups: {len(groups)}")
        for name, members in sorted(groups.items()):
            report.say(f"  {name!r}: servers {sorted(members)}")
        await _v1_services(client1, report)
        await _monitors(client1.async_get_ping_monitors, fleet, report)
        await _stream(client1, report)
        report.say(f"scopes: {', '.join(REQUIRED_SCOPES)} all usable")
    else:
        client0 = nz.NezhaV0Client(session, url, token)
        fleet = await _fleet(client0.async_get_fleet, report, clock)
        tags = sorted({s.tag for s in fleet.servers.values()})
        report.say(f"tags: {', '.join(repr(t) for t in tags)}")
        await _monitors(client0.async_get_ping_monitors, fleet, report)


async def _setting(session: aiohttp.ClientSession, url: str, report: Report) -> None:
    """The anonymous settings: version (admins only) and TSDB."""
    raw = await Transport(session, url).get(SETTING_PATH)
    data = raw.json().get("data") or {}
    config = data.get("config") or {}
    report.say(
        f"version: {data.get('version') or config.get('version') or 'not shown'}"
    )
    report.say(f"tsdb: {'on' if data.get('tsdb_enabled') else 'off'}")


async def _fleet(
    get: Callable[[], Any], report: Report, clock: Callable[[], datetime]
) -> nz.Fleet:
    fleet: nz.Fleet = await get()
    offset = (fleet.server_time - clock()).total_seconds()
    report.say(f"clock offset: {offset:+.1f} s (dashboard minus this machine)")
    if abs(offset) > CLOCK_TOLERANCE:
        report.deviate(
            f"the dashboard's clock is {offset:+.0f} s off; online states depend on it"
        )
    report.servers = len(fleet.servers)
    report.say(f"servers: {len(fleet.servers)}")
    for server in fleet.servers.values():
        age = server.seconds_since_report(fleet.server_time)
        seen = (
            "never reported" if age is None else f"last report {max(age, 0):.0f} s ago"
        )
        online = age is not None and age <= OFFLINE_AFTER
        report.say(
            f"  #{server.id} {server.name!r} group/tag {server.tag!r}: "
            f"{'online' if online else 'offline'}, {seen}, "
            f"cpu {_fmt(server.state.cpu)} %, agent {server.host.agent_version or '?'}"
        )
        if age is not None and age < -CLOCK_TOLERANCE:
            report.deviate(f"server #{server.id} reported {-age:.0f} s in the future")
    if fleet.skipped_ids:
        report.deviate(f"unreadable server records: {sorted(fleet.skipped_ids)}")
    if not fleet.complete:
        report.deviate("a server record had no readable id")
    return fleet


async def _monitors(get: Callable[[int], Any], fleet: nz.Fleet, report: Report) -> None:
    total = 0
    for server_id in fleet.servers:
        try:
            monitors = await get(server_id)
        except nz.NezhaAuthError:
            raise
        except nz.NezhaError as err:
            report.deviate(f"monitors of server #{server_id}: {err}")
            continue
        for monitor in monitors:
            total += 1
            report.say(
                f"  monitor {monitor.monitor_id} {monitor.name!r} on #{server_id}: "
                f"{monitor.points} points, latest {_fmt(monitor.latest_delay)} ms, "
                f"loss {_fmt(monitor.loss_percent)} %"
            )
    report.say(f"ping monitors: {total}")


async def _v1_services(client: nz.NezhaV1Client, report: Report) -> None:
    services = await client.async_get_services()
    report.say(f"services: {len(services)}")
    for service in services:
        state = {True: "up", False: "down", None: "unknown"}[service.is_up]
        report.say(
            f"  service {service.id} {service.name!r}: {state}, "
            f"{_fmt(service.availability_today)} % today, "
            f"{_fmt(service.delay_today)} ms"
        )


async def _stream(client: nz.NezhaV1Client, report: Report) -> None:
    ws = await client.async_connect_stream()
    stamps: list[float] = []
    try:
        while len(stamps) < STREAM_FRAMES:
            msg = await ws.receive(timeout=15)
            if msg.type is not aiohttp.WSMsgType.TEXT:
                report.deviate(f"the stream ended after {len(stamps)} frame(s)")
                break
            stamps.append(time.monotonic())
            frame = client.parse_frame(msg.data)
            if frame.unknown_ids:
                report.say(
                    f"stream: servers {sorted(frame.unknown_ids)} are streamed but "
                    "not listed for this token (left out)"
                )
            if frame.missing_ids:
                report.deviate(
                    f"stream: listed servers {sorted(frame.missing_ids)} are missing"
                )
    except TimeoutError:
        report.deviate(f"the stream sent no frame for 15 s after {len(stamps)}")
    finally:
        await ws.close()
    gaps = [round(b - a, 1) for a, b in itertools.pairwise(stamps)]
    report.say(f"stream: {len(stamps)} frames, gaps {gaps} s")


def _fmt(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


def _token(env: str) -> str:
    token = os.environ.get(env, "")
    if not token and sys.stdin.isatty():
        token = getpass.getpass("API token (not echoed): ")
    return token.strip()


async def main(argv: Sequence[str] | None = None) -> int:
    """CLI: 0 = no deviation, 1 = deviations, 2 = usage, 3 = auth failure."""
    parser = argparse.ArgumentParser(
        prog="scripts/check-dashboard",
        description="Show what the Nezha integration sees on a dashboard (read-only).",
    )
    parser.add_argument("url", help="the dashboard's URL, as entered in Home Assistant")
    parser.add_argument(
        "--token-env", default="NEZHA_TOKEN", help="variable holding the token"
    )
    parser.add_argument(
        "--insecure", action="store_true", help="do not verify the TLS certificate"
    )
    args = parser.parse_args(argv)
    token = _token(args.token_env)
    if not token:
        _say(f"no token: set {args.token_env} or run in a terminal", file=sys.stderr)
        return 2
    connector = aiohttp.TCPConnector(ssl=not args.insecure)
    async with aiohttp.ClientSession(connector=connector) as session:
        report = await check(session, args.url, token)
    _say(report.render())
    if report.auth_failed:
        return 3
    return 1 if report.deviations else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
