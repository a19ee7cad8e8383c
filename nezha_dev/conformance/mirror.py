"""Ask the simulator what a recording asked the real dashboard, as the same roles.

The simulator is configured like the recorded dashboard (generation, version,
TSDB, WAF, number of servers) and each token role gets a token with the same
powers: ``missing-scope`` lacks ``nezha:service:read``, ``expired`` has expired,
``limited`` may see only the first server, ``member`` belongs to a member user.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
import json
from typing import Any

import aiohttp

from nezha_dev.simulator import NezhaSimulator
from nezha_dev.simulator.tokens import SCOPE_INVENTORY_READ, SCOPE_SERVER_READ
from nezha_dev.simulator.v1_render import MEMBER_ID

from .recording import Exchange, Recording, StreamRecording
from .shape import Shape, shape

BOGUS_V1 = "nzp_" + "Zz9" * 10 + "Zz"
BOGUS_V0 = "0" * 32


@dataclass(slots=True)
class Answer:
    """The simulator's answer to one recorded request."""

    status: int
    content_type: str
    body: Any
    is_json: bool


class Mirror:
    """A running simulator set up like the recorded dashboard."""

    def __init__(self, recording: Recording, sim: NezhaSimulator) -> None:
        """Map the recording's server ids and roles onto the simulator's."""
        self.recording = recording
        self.sim = sim
        real_ids = recording.meta.get("server_ids", [])
        sim_ids = sorted(sim.fleet.servers)
        self.ids = dict(zip(sorted(real_ids), sim_ids, strict=False))
        self.tokens: dict[str, str | None] = {"none": None}
        if sim.generation == "v0":
            self.tokens |= {
                "full": sim.token,
                "bogus": BOGUS_V0,
                "bearer": f"Bearer {sim.token}",
            }
            return
        self.tokens |= {"full": sim.token, "bogus": BOGUS_V1}
        self.tokens["missing-scope"] = sim.add_token(
            scopes=(SCOPE_INVENTORY_READ, SCOPE_SERVER_READ)
        )
        expired = sim.add_token(expires_in=1)
        stored = sim.get_token(expired)
        assert stored is not None  # noqa: S101 - it was just added
        stored.expires_at = sim.now() - 1
        self.tokens["expired"] = expired
        self.tokens["limited"] = sim.add_token(server_ids=sim_ids[:1])
        # On the recorded dashboard the member owns the last server.
        sim.fleet.servers[sim_ids[-1]].owner_id = MEMBER_ID
        self.tokens["member"] = sim.add_token(member=True)

    def path(self, path: str) -> str:
        """The recorded path with real server ids replaced by the simulator's."""
        parts = path.split("/")
        for index, part in enumerate(parts):
            if part.isdigit() and int(part) in self.ids:
                parts[index] = str(self.ids[int(part)])
        return "/".join(parts)

    def headers(self, role: str) -> dict[str, str]:
        """The Authorization header of ``role``."""
        token = self.tokens[role]
        if token is None:
            return {}
        if self.sim.generation == "v0":
            return {"Authorization": token}
        return {"Authorization": f"Bearer {token}"}

    async def ask(self, session: aiohttp.ClientSession, exchange: Exchange) -> Answer:
        """Send the recorded request to the simulator."""
        url = self.sim.url + self.path(exchange.path)
        async with session.get(
            url,
            params=exchange.query,
            headers=self.headers(exchange.auth),
            allow_redirects=False,
        ) as resp:
            raw = await resp.read()
            try:
                body, is_json = json.loads(raw), True
            except ValueError:
                body, is_json = raw.decode("utf-8", "replace"), False
            return Answer(resp.status, resp.content_type, body, is_json)

    async def frames(
        self, session: aiohttp.ClientSession, stream: StreamRecording
    ) -> tuple[int, Shape]:
        """Handshake status and the shape of as many frames as were recorded."""
        try:
            ws = await session.ws_connect(
                self.sim.url + stream.path,
                headers=self.headers(stream.auth),
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=0.25),
            )
        except aiohttp.WSServerHandshakeError as err:
            return err.status, {}
        frames = []
        async with ws:
            while len(frames) < len(stream.frames):
                msg = await ws.receive(timeout=10)
                frames.append(json.loads(msg.data))
        return 101, shape(frames)


@asynccontextmanager
async def mirror(recording: Recording) -> AsyncIterator[Mirror]:
    """A simulator like the recorded dashboard, listening on loopback."""
    meta = recording.meta
    kwargs: dict[str, Any] = {"servers": max(len(meta.get("server_ids", [])), 1)}
    if recording.generation == "v1":
        kwargs |= {"generation": "v1", "version": meta["version"]}
    sim = NezhaSimulator(seed=1, **kwargs)
    if recording.generation == "v1":
        sim.waf_enabled = bool(meta.get("waf", False))
        sim.v1.tsdb_enabled = bool(meta.get("tsdb", False))
        # Above the close timeout: aiohttp's close() waits for a close frame and
        # restarts its wait with every data frame, so faster frames never let it end.
        sim.ws_interval = 0.5
    await sim.start()
    try:
        yield Mirror(recording, sim)
    finally:
        await sim.stop()
