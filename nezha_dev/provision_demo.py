"""Provision a fresh Home Assistant with the Nezha demo, through its HTTP APIs only.

Used by ``scripts/develop`` (command line) and by the end-to-end tests and
``scripts/screenshots`` (library). On a Home Assistant that has not been onboarded
yet it:

1. completes onboarding: creates the demo owner (``POST /api/onboarding/users``),
   exchanges the returned authorization code for tokens (``POST /auth/token``) and
   finishes the ``core_config``, ``analytics`` and ``integration`` steps;
2. adds the Nezha integration through the config-flow REST API
   (``/api/config/config_entries/flow``) with the simulator's URL and token;
3. creates the "Nezha fleet" storage-mode Lovelace dashboard over the WebSocket
   API (``lovelace/dashboards/create`` + ``lovelace/config/save``) from
   :data:`DASHBOARD_YAML` and makes it the default dashboard.

A Home Assistant that is already onboarded is left alone. Only the standard
library, aiohttp and PyYAML (both installed with Home Assistant) are used.

    python nezha_dev/provision_demo.py --ha-url http://127.0.0.1:8123 \
        --nezha-url http://127.0.0.1:8008 --token TOKEN --config-dir config
"""

import argparse
import asyncio
from collections.abc import AsyncIterator, Mapping
import contextlib
from dataclasses import dataclass
import json
import os
from pathlib import Path
import secrets
import sys
import time
from typing import Any

import aiohttp
import yaml

DEMO_NAME = "Nezha Demo"
DEMO_USERNAME = "demo"
# Written to the config directory on first provisioning (git-ignored there), so that
# later starts can print the login again. Mode 0600: the password is random.
CREDENTIALS_FILE = ".nezha-demo-login.json"
DASHBOARD_URL_PATH = "nezha-fleet"
DASHBOARD_TITLE = "Nezha fleet"
DASHBOARD_ICON = "mdi:server-network"
ONBOARDING_STEPS = ("user", "core_config", "analytics", "integration")
# Onboarding's core_config step adds these integrations by itself; the demo removes
# them again (they need the network or packages that --skip-pip does not install).
ONBOARDING_DOMAINS = ("google_translate", "met", "radio_browser", "shopping_list")

# The demo dashboard, for the five servers of the simulated fleet
# (``python -m nezha_dev.simulator --servers 5``). README.md shows the same YAML under
# "Example dashboard" (tests/e2e/test_dashboard_yaml.py keeps the two identical).
# Built-in cards only. Replace the entity ids with your own servers' ids.
DASHBOARD_YAML = """\
title: Nezha fleet
views:
  - title: Fleet
    path: fleet
    icon: mdi:server-network
    cards:
      - type: glance
        title: Online
        state_color: true
        columns: 3
        entities:
          - entity: binary_sensor.hk_edge_01_online
            name: hk-edge-01
          - entity: binary_sensor.fra_db_02_online
            name: fra-db-02
          - entity: binary_sensor.gpu_box_online
            name: gpu-box
          - entity: binary_sensor.nas_online
            name: nas
          - entity: binary_sensor.dong_jing_web_03_online
            name: 东京-web-03
      - type: grid
        title: CPU usage
        columns: 3
        square: false
        cards:
          - type: gauge
            entity: sensor.hk_edge_01_cpu_usage
            name: hk-edge-01
            needle: true
            severity: &cpu_severity
              green: 0
              yellow: 60
              red: 85
          - type: gauge
            entity: sensor.fra_db_02_cpu_usage
            name: fra-db-02
            needle: true
            severity: *cpu_severity
          - type: gauge
            entity: sensor.gpu_box_cpu_usage
            name: gpu-box
            needle: true
            severity: *cpu_severity
          - type: gauge
            entity: sensor.nas_cpu_usage
            name: nas
            needle: true
            severity: *cpu_severity
          - type: gauge
            entity: sensor.dong_jing_web_03_cpu_usage
            name: 东京-web-03
            needle: true
            severity: *cpu_severity
      - type: entities
        title: Ping
        entities:
          - entity: sensor.hk_edge_01_ct_shanghai_icmp_ping
            name: hk-edge-01 → Shanghai
          - entity: sensor.fra_db_02_cloudflare_dns_icmp_ping
            name: fra-db-02 → 1.1.1.1
          - entity: sensor.gpu_box_cloudflare_dns_icmp_ping
            name: gpu-box → 1.1.1.1
          - entity: sensor.dong_jing_web_03_ct_shanghai_icmp_ping
            name: 东京-web-03 → Shanghai
      - type: entities
        title: Memory and disk
        entities:
          - type: section
            label: Memory usage
          - entity: sensor.hk_edge_01_memory_usage
            name: hk-edge-01
          - entity: sensor.fra_db_02_memory_usage
            name: fra-db-02
          - entity: sensor.gpu_box_memory_usage
            name: gpu-box
          - entity: sensor.nas_memory_usage
            name: nas
          - entity: sensor.dong_jing_web_03_memory_usage
            name: 东京-web-03
          - type: section
            label: Disk usage
          - entity: sensor.hk_edge_01_disk_usage
            name: hk-edge-01
          - entity: sensor.fra_db_02_disk_usage
            name: fra-db-02
          - entity: sensor.gpu_box_disk_usage
            name: gpu-box
          - entity: sensor.nas_disk_usage
            name: nas
          - entity: sensor.dong_jing_web_03_disk_usage
            name: 东京-web-03
      - type: history-graph
        title: CPU history
        hours_to_show: 0.25
        entities:
          - entity: sensor.hk_edge_01_cpu_usage
            name: hk-edge-01
          - entity: sensor.fra_db_02_cpu_usage
            name: fra-db-02
          - entity: sensor.gpu_box_cpu_usage
            name: gpu-box
          - entity: sensor.nas_cpu_usage
            name: nas
          - entity: sensor.dong_jing_web_03_cpu_usage
            name: 东京-web-03
      - type: history-graph
        title: Download speed
        hours_to_show: 0.25
        entities:
          - entity: sensor.hk_edge_01_download_speed
            name: hk-edge-01
          - entity: sensor.fra_db_02_download_speed
            name: fra-db-02
          - entity: sensor.gpu_box_download_speed
            name: gpu-box
          - entity: sensor.nas_download_speed
            name: nas
          - entity: sensor.dong_jing_web_03_download_speed
            name: 东京-web-03
"""


def dashboard_config() -> dict[str, Any]:
    """The demo dashboard as the Lovelace config object (anchors resolved)."""
    config: dict[str, Any] = yaml.safe_load(DASHBOARD_YAML)
    return config


def dashboard_entity_ids(config: Mapping[str, Any] | None = None) -> set[str]:
    """Every entity id the dashboard shows."""
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                if key == "entity" and isinstance(value, str):
                    found.add(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(dashboard_config() if config is None else config)
    return found


class HomeAssistantAPIError(Exception):
    """Home Assistant answered a request in an unexpected way."""


@dataclass(frozen=True, slots=True)
class Tokens:
    """OAuth tokens of a Home Assistant user, as ``/auth/token`` returns them."""

    access_token: str
    refresh_token: str
    expires_in: int
    client_id: str
    issued_at: float

    def local_storage(self, hass_url: str) -> str:
        """The frontend's ``localStorage.hassTokens`` value for these tokens."""
        return json.dumps(
            {
                "hassUrl": hass_url,
                "clientId": self.client_id,
                "access_token": self.access_token,
                "refresh_token": self.refresh_token,
                "expires_in": self.expires_in,
                "expires": int((self.issued_at + self.expires_in) * 1000),
                "token_type": "Bearer",
            }
        )


@dataclass(frozen=True, slots=True)
class DemoLogin:
    """What a person needs to log in to the demo."""

    url: str
    username: str
    password: str


class HomeAssistantClient:
    """A small client for Home Assistant's REST and WebSocket APIs."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        """Talk to the Home Assistant at ``base_url`` (no trailing slash)."""
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.client_id = f"{self.base_url}/"
        self.tokens: Tokens | None = None

    # -- plumbing -------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        if self.tokens is None:
            return {}
        return {"Authorization": f"Bearer {self.tokens.access_token}"}

    async def request(
        self,
        method: str,
        path: str,
        payload: Any = None,
        *,
        expect: tuple[int, ...] = (200,),
    ) -> Any:
        """Send a JSON request and return the decoded JSON answer (or its text).

        Raises HomeAssistantAPIError when the status is not one of ``expect``.
        """
        async with self.session.request(
            method,
            self.base_url + path,
            json=payload,
            headers=self._headers(),
        ) as response:
            text = await response.text()
            if response.status not in expect:
                raise HomeAssistantAPIError(
                    f"{method} {path}: HTTP {response.status}: {text[:500]}"
                )
            if response.content_type != "application/json":
                return text or None
            return json.loads(text)

    async def _token_request(self, form: dict[str, str]) -> Tokens:
        started = time.time()
        async with self.session.post(self.base_url + "/auth/token", data=form) as resp:
            text = await resp.text()
            if resp.status != 200:
                raise HomeAssistantAPIError(f"POST /auth/token: HTTP {resp.status}")
            data = json.loads(text)
        refresh = data.get("refresh_token") or form.get("refresh_token", "")
        self.tokens = Tokens(
            access_token=data["access_token"],
            refresh_token=refresh,
            expires_in=int(data["expires_in"]),
            client_id=form["client_id"],
            issued_at=started,
        )
        return self.tokens

    async def wait_until_up(self, within: float = 300) -> None:
        """Wait until the frontend is served (so the APIs it depends on are up)."""
        deadline = time.monotonic() + within
        while True:
            try:
                async with self.session.get(self.base_url + "/") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise HomeAssistantAPIError(
                    f"{self.base_url} did not come up in {within} s"
                )
            await asyncio.sleep(0.25)

    # -- onboarding and login -------------------------------------------------------

    async def onboarding_done(self) -> dict[str, bool]:
        """The onboarding steps and whether each one is done.

        Home Assistant serves the onboarding API only until onboarding is done
        (after the next restart it answers 404): then every step counts as done.
        """
        steps = await self.request("GET", "/api/onboarding", expect=(200, 404))
        if not isinstance(steps, list):
            return dict.fromkeys(ONBOARDING_STEPS, True)
        return {step["step"]: bool(step["done"]) for step in steps}

    async def onboard(
        self, name: str, username: str, password: str, language: str = "en"
    ) -> Tokens:
        """Complete every onboarding step as the frontend does; log in as the owner."""
        answer = await self.request(
            "POST",
            "/api/onboarding/users",
            {
                "client_id": self.client_id,
                "name": name,
                "username": username,
                "password": password,
                "language": language,
            },
        )
        tokens = await self._token_request(
            {
                "grant_type": "authorization_code",
                "code": answer["auth_code"],
                "client_id": self.client_id,
            }
        )
        # What the frontend's "core config" step saves. Metric units, as the README
        # documents the sensors; a country, or Home Assistant raises a repair.
        async with self.websocket() as ws:
            await ws.call(
                "config/core/update",
                location_name="Nezha demo",
                unit_system="metric",
                country="DE",
                currency="EUR",
                language=language,
            )
        await self.request("POST", "/api/onboarding/core_config", {})
        await self.request("POST", "/api/onboarding/analytics", {})
        await self.request(
            "POST",
            "/api/onboarding/integration",
            {
                "client_id": self.client_id,
                "redirect_uri": f"{self.base_url}/?auth_callback=1",
            },
        )
        return tokens

    async def login(
        self, username: str, password: str, client_id: str | None = None
    ) -> Tokens:
        """Log in with the login flow (``/auth/login_flow``) like the login page."""
        client_id = client_id or self.client_id
        flow = await self.request(
            "POST",
            "/auth/login_flow",
            {
                "client_id": client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": f"{client_id}?auth_callback=1",
            },
        )
        result = await self.request(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            {"client_id": client_id, "username": username, "password": password},
        )
        if result.get("type") != "create_entry":
            raise HomeAssistantAPIError(f"login failed: {result.get('errors')}")
        return await self._token_request(
            {
                "grant_type": "authorization_code",
                "code": result["result"],
                "client_id": client_id,
            }
        )

    async def refresh(self) -> Tokens:
        """Get a new access token with the refresh token (e.g. after a restart)."""
        if self.tokens is None:
            raise HomeAssistantAPIError("not logged in")
        return await self._token_request(
            {
                "grant_type": "refresh_token",
                "refresh_token": self.tokens.refresh_token,
                "client_id": self.tokens.client_id,
            }
        )

    # -- config entries -------------------------------------------------------------

    async def start_flow(self, handler: str) -> dict[str, Any]:
        """Start a config flow; returns its first step."""
        result: dict[str, Any] = await self.request(
            "POST",
            "/api/config/config_entries/flow",
            {"handler": handler, "show_advanced_options": False},
        )
        return result

    async def flow_step(
        self, flow_id: str, user_input: dict[str, Any]
    ) -> dict[str, Any]:
        """Submit a step of a config flow."""
        result: dict[str, Any] = await self.request(
            "POST", f"/api/config/config_entries/flow/{flow_id}", user_input
        )
        return result

    async def add_nezha(
        self, url: str, token: str, verify_ssl: bool = True
    ) -> dict[str, Any]:
        """Add the Nezha integration; returns the created config entry."""
        form = await self.start_flow("nezha")
        if form.get("type") != "form":
            raise HomeAssistantAPIError(f"unexpected config flow start: {form}")
        result = await self.flow_step(
            form["flow_id"], {"url": url, "api_token": token, "verify_ssl": verify_ssl}
        )
        if result.get("type") != "create_entry":
            raise HomeAssistantAPIError(
                f"adding Nezha failed: {result.get('errors') or result.get('reason')}"
            )
        entry: dict[str, Any] = result["result"]
        return entry

    async def set_options(self, entry_id: str, **options: Any) -> dict[str, Any]:
        """Run the options flow of an entry with ``options`` over its defaults."""
        form = await self.request(
            "POST", "/api/config/config_entries/options/flow", {"handler": entry_id}
        )
        values = {
            field["name"]: field["default"]
            for field in form.get("data_schema", [])
            if "default" in field
        }
        values.update(options)
        result: dict[str, Any] = await self.request(
            "POST", f"/api/config/config_entries/options/flow/{form['flow_id']}", values
        )
        if result.get("type") != "create_entry":
            raise HomeAssistantAPIError(f"options flow failed: {result}")
        return result

    async def remove_entries(self, domains: tuple[str, ...]) -> None:
        """Delete the config entries of these integrations."""
        for entry in await self.request("GET", "/api/config/config_entries/entry"):
            if entry["domain"] in domains:
                await self.request(
                    "DELETE", f"/api/config/config_entries/entry/{entry['entry_id']}"
                )

    async def states(self) -> dict[str, dict[str, Any]]:
        """Every state, by entity id."""
        states = await self.request("GET", "/api/states")
        return {state["entity_id"]: state for state in states}

    # -- WebSocket ------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def websocket(self) -> AsyncIterator[HomeAssistantWebSocket]:
        """An authenticated WebSocket API connection."""
        if self.tokens is None:
            raise HomeAssistantAPIError("not logged in")
        url = self.base_url.replace("http", "ws", 1) + "/api/websocket"
        async with self.session.ws_connect(url, max_msg_size=0) as ws:
            hello = await ws.receive_json()
            if hello.get("type") != "auth_required":
                raise HomeAssistantAPIError(f"unexpected WebSocket greeting: {hello}")
            await ws.send_json(
                {"type": "auth", "access_token": self.tokens.access_token}
            )
            answer = await ws.receive_json()
            if answer.get("type") != "auth_ok":
                raise HomeAssistantAPIError(f"WebSocket auth failed: {answer}")
            yield HomeAssistantWebSocket(ws)

    # -- the demo -------------------------------------------------------------------

    async def create_dashboard(
        self, config: dict[str, Any], *, make_default: bool = True
    ) -> None:
        """Create (or overwrite) the fleet dashboard and make it the default."""
        async with self.websocket() as ws:
            dashboards = await ws.call("lovelace/dashboards/list")
            if not any(d["url_path"] == DASHBOARD_URL_PATH for d in dashboards):
                await ws.call(
                    "lovelace/dashboards/create",
                    url_path=DASHBOARD_URL_PATH,
                    title=DASHBOARD_TITLE,
                    icon=DASHBOARD_ICON,
                    show_in_sidebar=True,
                    require_admin=False,
                    mode="storage",
                )
            await ws.call(
                "lovelace/config/save", url_path=DASHBOARD_URL_PATH, config=config
            )
            if make_default:
                await ws.call(
                    "frontend/set_system_data",
                    key="core",
                    value={"default_panel": DASHBOARD_URL_PATH},
                )


class HomeAssistantWebSocket:
    """Request/response calls over Home Assistant's WebSocket API."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Wrap an authenticated connection."""
        self._ws = ws
        self._next_id = 1

    async def call(self, message_type: str, **data: Any) -> Any:
        """Send a command and return its result; raises on an error answer."""
        message_id = self._next_id
        self._next_id += 1
        await self._ws.send_json({"id": message_id, "type": message_type, **data})
        while True:
            answer = await self._ws.receive_json()
            if answer.get("id") != message_id or answer.get("type") != "result":
                continue  # an event of an earlier subscription
            if not answer.get("success"):
                raise HomeAssistantAPIError(f"{message_type}: {answer.get('error')}")
            return answer.get("result")


# -------------------------------------------------------------------- the demo itself


def load_login(config_dir: Path) -> DemoLogin | None:
    """The demo login saved by an earlier provisioning, if any."""
    path = config_dir / CREDENTIALS_FILE
    try:
        data = json.loads(path.read_text())
        return DemoLogin(data["url"], data["username"], data["password"])
    except OSError, ValueError, KeyError:
        return None


def save_login(config_dir: Path, login: DemoLogin) -> None:
    """Remember the demo login in the config directory (owner-only file)."""
    text = json.dumps(
        {"url": login.url, "username": login.username, "password": login.password}
    )
    fd = os.open(
        config_dir / CREDENTIALS_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600
    )
    os.fchmod(fd, 0o600)  # also when the file existed with other permissions
    with os.fdopen(fd, "w") as file:
        file.write(text + "\n")


@dataclass(slots=True)
class Provisioned:
    """The outcome of :func:`provision`."""

    login: DemoLogin | None  # None: already onboarded and no saved login
    created: bool  # False: the instance was onboarded before and left alone
    entry_id: str | None = None
    client: HomeAssistantClient | None = None


async def provision(
    session: aiohttp.ClientSession,
    ha_url: str,
    nezha_url: str,
    token: str,
    *,
    password: str | None = None,
    config_dir: Path | None = None,
    public_url: str | None = None,
    options: Mapping[str, Any] | None = None,
    dashboard: bool = True,
) -> Provisioned:
    """Provision the demo unless Home Assistant is onboarded already.

    Args:
        session: The aiohttp session to use.
        ha_url: Where to reach Home Assistant from here.
        nezha_url: The (simulated) Nezha dashboard as Home Assistant reaches it.
        token: Its API token.
        password: The demo user's password (random when omitted).
        config_dir: Where to save the login (``CREDENTIALS_FILE``), if anywhere.
        public_url: The URL to print for people (default ``ha_url``).
        options: Integration options to set after adding it (e.g. scan_interval).
        dashboard: Create the fleet dashboard (its entity ids are the simulator's).
    """
    client = HomeAssistantClient(session, ha_url)
    await client.wait_until_up()
    url = public_url or client.base_url
    if (await client.onboarding_done()).get("user"):
        saved = load_login(config_dir) if config_dir else None
        return Provisioned(login=saved, created=False)
    login = DemoLogin(url, DEMO_USERNAME, password or secrets.token_urlsafe(12))
    if config_dir is not None:
        save_login(config_dir, login)
    await client.onboard(DEMO_NAME, login.username, login.password)
    entry = await client.add_nezha(nezha_url, token)
    if options:
        await client.set_options(entry["entry_id"], **options)
    if dashboard:
        await client.create_dashboard(dashboard_config())
    await client.remove_entries(ONBOARDING_DOMAINS)
    return Provisioned(
        login=login, created=True, entry_id=entry["entry_id"], client=client
    )


def _print_banner(
    result: Provisioned, url: str, seconds: float, dashboard: bool = True
) -> None:
    """Print the URL and the login, aligned with scripts/develop's banner."""
    login = result.login
    path = f"/{DASHBOARD_URL_PATH}" if dashboard else ""
    lines = [f"  Home Assistant  : {url}{path}"]
    if login is None:
        lines.append("  Log in          : with the account created in onboarding")
    else:
        lines.append(f"  Log in as       : {login.username} / {login.password}")
    if result.created:
        lines.append(
            f"  Demo            : provisioned in {seconds:.1f} s (onboarding, "
            f"Nezha integration{', fleet dashboard' if dashboard else ''})"
        )
    else:
        lines.append(
            "  Demo            : onboarded before, left as it is"
            + (" (the login is the one provisioned)" if login else "")
        )
    print("\n".join(lines), flush=True)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point (used by scripts/develop)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ha-url", default="http://127.0.0.1:8123")
    parser.add_argument(
        "--public-url", help="URL to print for people (default: --ha-url)"
    )
    parser.add_argument("--nezha-url", required=True)
    parser.add_argument(
        "--token",
        default=os.environ.get("NEZHA_TOKEN"),
        help="the Nezha API token (default: the environment variable NEZHA_TOKEN)",
    )
    parser.add_argument(
        "--no-dashboard",
        dest="dashboard",
        action="store_false",
        help="do not create the fleet dashboard (for a real Nezha dashboard)",
    )
    parser.add_argument(
        "--config-dir",
        type=Path,
        help="Home Assistant's config directory (the demo login is saved there)",
    )
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("the API token is needed: --token or NEZHA_TOKEN")

    async def run() -> Provisioned:
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            return await provision(
                session,
                args.ha_url,
                args.nezha_url,
                args.token,
                config_dir=args.config_dir,
                public_url=args.public_url,
                dashboard=args.dashboard,
            )

    started = time.monotonic()
    try:
        result = asyncio.run(run())
    except (HomeAssistantAPIError, aiohttp.ClientError, OSError) as err:
        print(f"provision_demo: {err}", file=sys.stderr)
        return 1
    url = (args.public_url or args.ha_url).rstrip("/")
    _print_banner(result, url, time.monotonic() - started, args.dashboard)
    return 0


if __name__ == "__main__":
    sys.exit(main())
