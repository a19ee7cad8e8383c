"""Command line: ``python -m nezha_dev.simulator [--api v1] --port 8008 --token TOKEN``."""

import argparse
import asyncio
from collections.abc import Sequence
import signal
import sys

from .core import NezhaSimulator
from .tokens import generate_pat, generate_token
from .v1_controls import parse_version


def build_parser() -> argparse.ArgumentParser:
    """The CLI argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m nezha_dev.simulator",
        description="Serve a simulated Nezha dashboard API until Ctrl-C/SIGTERM.",
    )
    parser.add_argument(
        "--api",
        choices=("v0", "v1", "v2"),
        default="v0",
        help="API generation; v1 and v2 both mean the v1 REST API (default v0)",
    )
    parser.add_argument(
        "--version",
        dest="dashboard_version",
        help="v1 dashboard version to imitate, e.g. 1.14.14, 2.0.5 (default 2.3.7)",
    )
    parser.add_argument(
        "--force-auth", action="store_true", help="v1: refuse guests (force_auth)"
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
    parser.add_argument(
        "--token",
        help="API token / v1 PAT (default: random, printed; v1: nzp_ + 32 chars)",
    )
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
    v0 = args.api == "v0"
    token = args.token or (generate_token() if v0 else generate_pat())
    sim = NezhaSimulator(
        servers=args.servers,
        token=token,
        seed=args.seed,
        monitors=not args.no_monitors,
        generation=args.api,
        admin=not args.no_admin,
        view_password=args.view_password,
        version=None if v0 else args.dashboard_version,
    )
    if not v0:
        sim.force_auth = args.force_auth
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    url = await sim.start(host=args.host, port=args.port)
    try:
        api = "v0" if v0 else f"v1 (dashboard {sim.version})"
        _say(f"Nezha {api} simulator listening on {url}")
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
    if args.api == "v0" and (args.dashboard_version or args.force_auth):
        build_parser().error("--version and --force-auth need --api v1")
    if args.api != "v0" and args.token and not args.token.startswith("nzp_"):
        build_parser().error("a v1 token (PAT) starts with nzp_")
    if args.dashboard_version:
        try:
            parse_version(args.dashboard_version)
        except ValueError as err:
            build_parser().error(str(err))
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
