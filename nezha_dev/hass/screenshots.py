"""Take the README's screenshots in headless Chromium (run by ``scripts/screenshots``).

``python -m nezha_dev.hass.screenshots [--out docs/images] [--history 240]`` starts the
simulator and a real Home Assistant on a temporary config dir, provisions the demo
exactly as ``scripts/develop`` does (with a 10 s update interval), lets
``--history`` seconds (240) of history accumulate for the graphs, logs in and saves:

- ``dashboard.png``: the "Nezha fleet" demo dashboard;
- ``device.png``: the device page of the server hk-edge-01;
- ``config_flow.png``: the "Add integration" dialog of Nezha.

Each page is checked before it is saved: not the login page, every card rendered,
no warning card (such as "Entity not available").
"""

import argparse
import asyncio
from pathlib import Path
import sys
import tempfile
from typing import Any

import aiohttp

from nezha_dev.hass.browser import (
    BrowserError,
    Page,
    click_button_js,
    dashboard_ready_js,
    log_in,
    new_page,
    open_browser,
    text_inputs_js,
    text_shown_js,
    type_into,
)
from nezha_dev.hass.stack import REPO, Phases, Stack
from nezha_dev.provision_demo import (
    DASHBOARD_URL_PATH,
    HomeAssistantClient,
    dashboard_config,
    provision,
)

DEVICE_SERVER = "hk-edge-01"
WIDTH = 1280


async def check_and_save(page: Page, path: Path) -> None:
    """Refuse a login page or warning cards; then save the viewport."""
    info = await page.inspect()
    if info["login"]:
        raise BrowserError(f"{path.name}: the login page is shown ({info['url']})")
    if info["warnings"]:
        raise BrowserError(f"{path.name}: warning cards {info['warnings']}")
    await asyncio.sleep(1.5)  # gauge needles and charts animate in
    await page.screenshot(path)
    shown = path.relative_to(REPO) if path.is_relative_to(REPO) else path
    sys.stdout.write(f"saved {shown}\n")


async def take(out: Path, workdir: Path, history: float, phases: Phases) -> None:
    """Start the stack, provision the demo and take every screenshot."""
    stack = Stack(workdir, phases=phases)
    try:
        await asyncio.to_thread(stack.start)
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            await _take(session, stack, out, history, phases)
    finally:
        await asyncio.to_thread(stack.close)


async def _take(
    session: aiohttp.ClientSession,
    stack: Stack,
    out: Path,
    history: float,
    phases: Phases,
) -> None:
    url = stack.hass.url
    with phases("provision the demo"):
        result = await provision(
            session,
            url,
            stack.sim.url,
            stack.token,
            password="screenshots",  # noqa: S106 - the throwaway demo owner's
            options={"scan_interval": 10},
        )
        if (ha := result.client) is None:
            raise RuntimeError("provisioning returned no Home Assistant client")
        device = await _device_id(ha, DEVICE_SERVER)
    with phases(f"let {history:.0f} s of history accumulate"):
        await asyncio.sleep(history)
    tokens = await HomeAssistantClient(session, url).login("demo", "screenshots")
    async with open_browser(session, stack.workdir) as cdp:
        page = await new_page(cdp, WIDTH, 1100)
        await log_in(page, url, tokens.local_storage(url))

        with phases("dashboard.png"):
            await page.navigate(f"{url}/{DASHBOARD_URL_PATH}/fleet")
            await page.wait_for("the dashboard", dashboard_ready_js(dashboard_config()))
            await check_and_save(page, out / "dashboard.png")

        with phases("device.png"):
            await page.set_viewport(WIDTH, 1000)
            await page.navigate(f"{url}/config/devices/device/{device}")
            await page.wait_for(
                "the device page",
                text_shown_js(DEVICE_SERVER, "CPU usage", "Memory usage", "Online"),
            )
            await check_and_save(page, out / "device.png")

        with phases("config_flow.png"):
            await page.set_viewport(WIDTH, 800)
            await page.navigate(f"{url}/config/integrations/dashboard/add?domain=nezha")
            # Nezha is configured already, so the frontend asks first.
            await page.wait_for(
                "the confirmation", text_shown_js("Do you want to set up Nezha")
            )
            await page.wait_for("the OK button", click_button_js("OK"))
            await page.wait_for(
                "the config flow dialog",
                text_shown_js("Dashboard URL", "API token", "Verify the TLS"),
            )
            # Filled in as a user would, with an example address and token.
            fields = await page.wait_for(
                "the form fields", text_inputs_js("dialog-data-entry-flow")
            )
            (url_x, url_y), (token_x, token_y) = fields[:2]
            await type_into(page, url_x, url_y, "https://nezha.example.com")
            await type_into(page, token_x, token_y, "x" * 32)
            await check_and_save(page, out / "config_flow.png")


async def _device_id(ha: HomeAssistantClient, name: str) -> str:
    async with ha.websocket() as ws:
        devices: list[dict[str, Any]] = await ws.call("config/device_registry/list")
    return next(str(d["id"]) for d in devices if d["name"] == name)


def main() -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m nezha_dev.hass.screenshots")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images")
    parser.add_argument(
        "--history",
        type=float,
        default=240,
        help="seconds of history to collect before the screenshots (default 240)",
    )
    args = parser.parse_args()
    phases = Phases()
    with tempfile.TemporaryDirectory(prefix="nezha-screenshots-") as tmp:
        try:
            asyncio.run(take(args.out.resolve(), Path(tmp), args.history, phases))
        except (BrowserError, RuntimeError) as err:
            sys.stderr.write(f"screenshots: {err}\n")
            return 1
        finally:
            sys.stdout.write("\n".join(phases.report()) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
