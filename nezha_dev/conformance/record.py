"""Record a real dashboard's answers to every request the integration makes.

    python -m nezha_dev.conformance.record URL OUT_DIR --generation v1 --version 2.3.7 \\
        --token full=NEZHA_TOKEN_FULL --token member=NEZHA_TOKEN_MEMBER

Tokens come from environment variables (named per role), never from the command
line. Requests are read-only GETs, one at a time. Roles: ``full`` (required, the
three read scopes), and optionally ``missing-scope``, ``expired``, ``member``,
``limited``. ``--auth-failures`` also sends a made-up token and none at all: on a
v1 dashboard with a live WAF that is a strike against this machine's IP.
"""

import argparse
import asyncio
from collections.abc import Sequence
import itertools
import json
import os
import socket
import sys
import time
from typing import Any

import aiohttp
from yarl import URL

from .recording import KEPT_HEADERS, Exchange, Sanitiser, StreamRecording, save

BOGUS_V1 = "nzp_" + "Zz9" * 10 + "Zz"
BOGUS_V0 = "0" * 32


def _say(text: str, *, file: Any = None) -> None:
    """Print without ruff's print rule: this is a command-line tool."""
    (file or sys.stdout).write(text + "\n")


class Recorder:
    """Sends the requests and writes the sanitised answers."""

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession,
        base: str,
        tokens: dict[str, str],
        sanitiser: Sanitiser,
        out: Any,
        generation: str,
    ) -> None:
        """``tokens`` maps a role to its token."""
        self.session = session
        self.base = base.rstrip("/")
        self.tokens = tokens
        self.sanitiser = sanitiser
        self.out = out
        self.generation = generation
        self.order: list[str] = []
        """Names in the order they were recorded (the WAF makes order matter)."""

    def _headers(self, auth: str) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        token = {"bogus": BOGUS_V1 if self.generation == "v1" else BOGUS_V0}.get(
            auth, self.tokens.get(auth)
        )
        if auth == "bearer":  # v0 with the prefix it does not accept
            token = "Bearer " + self.tokens["full"]
        if token:
            headers["Authorization"] = (
                f"Bearer {token}" if self.generation == "v1" else token
            )
        return headers

    async def get(
        self, name: str, path: str, auth: str, query: dict[str, str] | None = None
    ) -> Exchange:
        """GET ``path`` and save it as ``name``."""
        url = URL(self.base + path).with_query(query or {})
        async with self.session.get(
            url, headers=self._headers(auth), allow_redirects=False
        ) as resp:
            raw = await resp.read()
            headers = {k: resp.headers[k] for k in KEPT_HEADERS if k in resp.headers}
        try:
            body: Any = json.loads(raw)
            is_json = True
        except ValueError:
            body, is_json = raw.decode("utf-8", "replace"), False
        exchange = Exchange(
            path=path,
            auth=auth,
            status=resp.status,
            headers={k: self.sanitiser.text(v) for k, v in headers.items()},
            body=self.sanitiser.value(body) if is_json else self.sanitiser.text(body),
            is_json=is_json,
            query=query or {},
        )
        save(self.out, name, exchange)
        self.order.append(name)
        _say(f"  {name}: HTTP {resp.status}, {len(raw)} bytes", file=sys.stderr)
        return exchange

    async def stream(self, name: str, auth: str, frames: int) -> None:
        """Record ``frames`` frames of the server-state WebSocket."""
        url = self.base + "/api/v1/ws/server"
        received: list[Any] = []
        stamps: list[float] = []
        try:
            ws = await self.session.ws_connect(
                url,
                headers=self._headers(auth),
                # Dashboards never answer a close frame.
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=0.25),
            )
        except aiohttp.WSServerHandshakeError as err:
            save(
                self.out,
                name,
                StreamRecording(url_path(url), auth, err.status, {}, [], []),
            )
            self.order.append(name)
            _say(f"  {name}: handshake HTTP {err.status}", file=sys.stderr)
            return
        async with ws:
            # aiohttp keeps the handshake's response private.
            headers = {
                k: self.sanitiser.text(ws._response.headers[k])  # noqa: SLF001
                for k in KEPT_HEADERS
                if k in ws._response.headers  # noqa: SLF001
            }
            while len(received) < frames:
                msg = await ws.receive(timeout=15)
                if msg.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                    break
                stamps.append(time.monotonic())
                received.append(self.sanitiser.value(json.loads(msg.data)))
        gaps = [round(b - a, 2) for a, b in itertools.pairwise(stamps)]
        save(
            self.out,
            name,
            StreamRecording(url_path(url), auth, 101, headers, received, gaps),
        )
        self.order.append(name)
        _say(f"  {name}: {len(received)} frames", file=sys.stderr)


def url_path(url: str) -> str:
    """The path of an absolute URL."""
    return URL(url).path


async def record_v1(rec: Recorder, frames: int, auth_failures: bool) -> dict[str, Any]:
    """Every request the v1/v2 client makes, per token role."""
    setting = await rec.get("setting.none", "/api/v1/setting", "none")
    servers = await rec.get("server.full", "/api/v1/server", "full")
    await rec.get("server-group.full", "/api/v1/server-group", "full")
    await rec.get("service.full", "/api/v1/service", "full")
    ids = [s["id"] for s in (servers.body.get("data") or []) if isinstance(s, dict)]
    for sid in ids:
        await rec.get(
            f"server-{sid}-service.full",
            f"/api/v1/server/{sid}/service",
            "full",
            {"period": "1d"},
        )
    await rec.get(
        "server-999999-service.full",
        "/api/v1/server/999999/service",
        "full",
        {"period": "1d"},
    )
    await rec.stream("ws.full", "full", frames)
    for role in ("member", "limited", "missing-scope", "expired"):
        if role not in rec.tokens:
            continue
        await rec.get(f"server.{role}", "/api/v1/server", role)
        if role in ("member", "limited", "missing-scope"):
            await rec.get(f"server-group.{role}", "/api/v1/server-group", role)
            await rec.get(f"service.{role}", "/api/v1/service", role)
        if role in ("member", "limited"):
            await rec.stream(f"ws.{role}", role, frames)
    if auth_failures:
        await rec.get("server.bogus", "/api/v1/server", "bogus")
        await rec.get("server.none", "/api/v1/server", "none")
        await rec.stream("ws.bogus", "bogus", 1)
    data = setting.body.get("data") if isinstance(setting.body, dict) else None
    tsdb = bool(data.get("tsdb_enabled")) if isinstance(data, dict) else False
    return {"server_ids": ids, "tsdb": tsdb}


async def record_v0(rec: Recorder, auth_failures: bool) -> dict[str, Any]:
    """Every request the v0 client makes."""
    await rec.get("setting.none", "/api/v1/setting", "none")
    listing = await rec.get("server-list.full", "/api/v1/server/list", "full")
    details = await rec.get("server-details.full", "/api/v1/server/details", "full")
    tags = sorted(
        {s.get("tag") for s in listing.body.get("result") or [] if s.get("tag")}
    )
    if tags:
        query = {"tag": tags[0]}
        await rec.get("server-list-tag.full", "/api/v1/server/list", "full", query)
        await rec.get(
            "server-details-tag.full", "/api/v1/server/details", "full", query
        )
    for server in details.body.get("result") or []:
        sid = server["id"]
        await rec.get(f"monitor-{sid}.full", f"/api/v1/monitor/{sid}", "full")
    await rec.get("monitor-999999.full", "/api/v1/monitor/999999", "full")
    if auth_failures:
        await rec.get("server-details.bogus", "/api/v1/server/details", "bogus")
        await rec.get("server-details.none", "/api/v1/server/details", "none")
        await rec.get("server-details.bearer", "/api/v1/server/details", "bearer")
    return {"server_ids": [s["id"] for s in details.body.get("result") or []]}


def build_parser() -> argparse.ArgumentParser:
    """The CLI."""
    parser = argparse.ArgumentParser(prog="python -m nezha_dev.conformance.record")
    parser.add_argument("url")
    parser.add_argument("out")
    parser.add_argument("--generation", choices=("v0", "v1"), required=True)
    parser.add_argument("--version", required=True, help="the dashboard's version")
    parser.add_argument(
        "--token",
        action="append",
        default=[],
        metavar="ROLE=ENVVAR",
        help="a token role and the environment variable that holds it",
    )
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--auth-failures", action="store_true")
    parser.add_argument("--note", default="", help="how the dashboard was set up")
    parser.add_argument("--tz", default="", help="the dashboard process's TZ")
    parser.add_argument(
        "--waf", action="store_true", help="the dashboard's WAF is live"
    )
    return parser


async def main(argv: Sequence[str] | None = None) -> int:
    """Record into OUT; returns the exit status."""
    args = build_parser().parse_args(argv)
    tokens = {}
    for item in args.token:
        role, _, env = item.partition("=")
        if not os.environ.get(env):
            _say(f"environment variable {env} is empty", file=sys.stderr)
            return 2
        tokens[role] = os.environ[env]
    if "full" not in tokens:
        _say("a token for the role 'full' is required", file=sys.stderr)
        return 2
    from pathlib import Path

    out = Path(args.out)
    sanitiser = Sanitiser(tokens.values(), [socket.gethostname(), socket.getfqdn()])
    async with aiohttp.ClientSession() as session:
        rec = Recorder(
            session=session,
            base=args.url,
            tokens=tokens,
            sanitiser=sanitiser,
            out=out,
            generation=args.generation,
        )
        if args.generation == "v1":
            facts = await record_v1(rec, args.frames, args.auth_failures)
        else:
            facts = await record_v0(rec, args.auth_failures)
    meta = {
        "generation": args.generation,
        "version": args.version,
        "recorded": time.strftime("%Y-%m-%d"),
        "roles": sorted(tokens)
        + (["bogus", "none"] if args.auth_failures else [])
        + (["bearer"] if args.auth_failures and args.generation == "v0" else []),
        "waf": args.waf,
        "tz": args.tz,
        "note": args.note,
        "order": rec.order,
        **facts,
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
