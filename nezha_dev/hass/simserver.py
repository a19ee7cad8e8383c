"""The simulated dashboard as a process, with a clock the e2e tests can freeze.

``python -m nezha_dev.hass.simserver --port 0 --token TOKEN`` prints
``listening on http://127.0.0.1:PORT`` and serves until SIGTERM. Besides the
simulator's own ``/_sim/`` admin API it answers ``POST /_sim/e2e/clock``
``{"frozen": true}`` (or ``false``): while frozen, every answer shows the same
instant, so Home Assistant and the test read identical numbers.
"""

import argparse
import asyncio
import signal
import sys
from typing import Any

from aiohttp import web

from nezha_dev.simulator import NezhaSimulator


class FreezableSimulator(NezhaSimulator):
    """A :class:`NezhaSimulator` whose clock can be stopped and restarted."""

    def __init__(self, **kwargs: Any) -> None:
        """Create the simulator; the clock runs."""
        self._frozen_at: float | None = None
        super().__init__(**kwargs)
        self.app.router.add_post("/_sim/e2e/clock", self._clock_handler)

    def now(self) -> float:
        """The dashboard clock, or the instant it was frozen at."""
        if self._frozen_at is not None:
            return self._frozen_at
        return super().now()

    def freeze(self, frozen: bool) -> None:
        """Stop the clock at the current instant, or let it run again."""
        self._frozen_at = super().now() if frozen else None

    async def _clock_handler(self, request: web.Request) -> web.Response:
        body = await request.json()
        if not isinstance(body, dict) or not isinstance(body.get("frozen"), bool):
            return web.json_response({"error": 'expected {"frozen": bool}'}, status=400)
        self.freeze(body["frozen"])
        return web.json_response({"frozen": body["frozen"], "now": self.now()})


async def serve(args: argparse.Namespace) -> None:
    """Serve until SIGINT/SIGTERM."""
    sim = FreezableSimulator(servers=args.servers, token=args.token, seed=args.seed)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    url = await sim.start(host="127.0.0.1", port=args.port)
    try:
        sys.stdout.write(f"listening on {url}\n")
        sys.stdout.flush()
        await stop.wait()
    finally:
        await sim.stop()


def main() -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m nezha_dev.hass.simserver")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--servers", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--token", required=True)
    asyncio.run(serve(parser.parse_args()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
