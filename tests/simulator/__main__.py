"""Command line: ``python -m tests.simulator --port 8008 --servers 5 --token TOKEN``."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
import signal
import sys

from .core import NezhaSimulator, generate_token


def build_parser() -> argparse.ArgumentParser:
    """The CLI argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.simulator",
        description="Serve a simulated Nezha v0 dashboard API until Ctrl-C/SIGTERM.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="bind address (default: loopback)"
    )
    parser.add_argument(
        "--port", type=int, default=8008, help="TCP port, 0 = any free (default 8008)"
    )
    parser.add_argument(
        "--servers", type=int, default=5, help="servers in the fleet (default 5)"
    )
    parser.add_argument("--token", help="API token (default: random 32 chars, printed)")
    parser.add_argument(
        "--seed", type=int, default=1, help="seed for all generated data (default 1)"
    )
    parser.add_argument(
        "--no-monitors", action="store_true", help="no service monitors / ping history"
    )
    parser.add_argument(
        "--view-password", action="store_true", help="configure a view password"
    )
    parser.add_argument(
        "--no-admin", action="store_true", help="disable the /_sim/ admin API"
    )
    return parser


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()  # a supervising process reads the URL line by line


async def serve(args: argparse.Namespace) -> None:
    """Run the simulator until SIGINT/SIGTERM."""
    token = args.token or generate_token()
    sim = NezhaSimulator(
        servers=args.servers,
        token=token,
        seed=args.seed,
        monitors=not args.no_monitors,
        admin=not args.no_admin,
        view_password=args.view_password,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    url = await sim.start(host=args.host, port=args.port)
    try:
        _say(f"Nezha v0 simulator listening on {url}")
        _say(f"Token: {token}")
        for sid, server in sim.fleet.servers.items():
            _say(f"  server {sid}: {server.name} [{server.tag or '-'}]")
        if not args.no_admin:
            _say(f"Admin API: {url}/_sim/state")
        await stop.wait()
    finally:
        await sim.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    _say("stopped")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = build_parser().parse_args(argv)
    if args.servers < 0:
        build_parser().error("--servers must be >= 0")
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
