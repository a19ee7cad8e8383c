"""Shared inputs, assertions and stand-in servers of the config-flow tests."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from homeassistant.config_entries import SOURCE_USER, ConfigFlowResult
from homeassistant.const import CONF_API_TOKEN, CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.nezha.const import CONF_API_GENERATION, DOMAIN
from nezha_dev.simulator import NezhaSimulator
from tests.helpers import PAT, TOKEN, register_secret

NEW_TOKEN = register_secret("n3wT0kenQ7w9E1r3T5y7U9i1O3p5A7s9")
WRONG_TOKEN = register_secret("wr0ngT0kenZ2x4C6v8B0n2M4l6K8j0H2")
NEW_PAT = register_secret("nzp_Z9x8C7v6B5n4M3l2K1j0H9g8F7d6S5a4")
UNKNOWN_PAT = register_secret("nzp_Unkn0wnT0kenUnkn0wnT0kenUnkn0wnX")
LIST_PATH = "/api/v1/server/list"
PROBE_PATH = "/api/v1/setting"  # the anonymous generation probe of every validation
SCOPES = ("nezha:inventory:read", "nezha:service:read", "nezha:server:read")
CRON_SCOPES = (*SCOPES, "nezha:cron:read", "nezha:cron:exec")  # tasks: list and run
# What every form shows: the example URL, the scopes a v1 token needs, and the
# optional ones that only the task buttons need (never checked by the flow).
PLACEHOLDERS = {
    "example_url": "https://nezha.example.com",
    "scopes": ", ".join(SCOPES),
    "cron_scopes": "nezha:cron:read, nezha:cron:exec",
}
# Each generation's token, and the one of the other generation that never fits.
TOKENS = {"v0": TOKEN, "v1": PAT}
MISFIT = {"v0": ("v1", "personal_token_on_v0"), "v1": ("v0", "token_not_personal")}

type Serve = Callable[[web.Application], Awaitable[str]]
type MakeSim = Callable[..., Awaitable[NezhaSimulator]]


def user_input(url: str, token: str = TOKEN, *, verify_ssl: bool = True) -> dict:
    """Form data of the user (and reconfigure) step."""
    return {CONF_URL: url, CONF_API_TOKEN: token, CONF_VERIFY_SSL: verify_ssl}


def entry_data(
    url: str, token: str = TOKEN, gen: str = "v0", *, verify_ssl: bool = True
) -> dict[str, Any]:
    """What a config entry stores."""
    return {**user_input(url, token, verify_ssl=verify_ssl), CONF_API_GENERATION: gen}


def add_entry(
    hass: HomeAssistant, url: str, token: str = TOKEN, gen: str = "v0", **kwargs: Any
) -> MockConfigEntry:
    """Add (not set up) an entry for the dashboard at ``url``."""
    entry = MockConfigEntry(domain=DOMAIN, data=entry_data(url, token, gen), **kwargs)
    entry.add_to_hass(hass)
    return entry


def auth(gen: str, token: str) -> str:
    """The Authorization header a generation sends a token in."""
    return token if gen == "v0" else f"Bearer {token}"


async def start_user_flow(hass: HomeAssistant) -> ConfigFlowResult:
    """Open the user step and check it starts clean."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "user")
    assert result["errors"] == {}
    return result


async def submit(
    hass: HomeAssistant, result: ConfigFlowResult, data: dict[str, Any] | None = None
) -> ConfigFlowResult:
    """Submit a config-flow form."""
    return await hass.config_entries.flow.async_configure(result["flow_id"], data)


def assert_form_error(
    result: ConfigFlowResult, step_id: str, error: str, **placeholders: str
) -> None:
    """The form is shown again with one base error and exactly these placeholders."""
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, step_id)
    assert result["errors"] == {"base": error}
    assert result["description_placeholders"] == PLACEHOLDERS | placeholders


def assert_aborted(result: ConfigFlowResult, reason: str) -> None:
    """The flow ended with ``reason``."""
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, reason)


def schema_field(result: ConfigFlowResult, key: str) -> Any:
    """Return the schema marker of ``key`` in a form result."""
    return next(m for m in result["data_schema"].schema if m == key)


def suggested(result: ConfigFlowResult, key: str) -> Any:
    """The suggested value of a form field (None when there is none)."""
    return (schema_field(result, key).description or {}).get("suggested_value")


def default(result: ConfigFlowResult, key: str) -> Any:
    """The default value of a form field."""
    return schema_field(result, key).default()


def select_options(result: ConfigFlowResult, key: str) -> list[str]:
    """The values a select selector offers."""
    selector = result["data_schema"].schema[schema_field(result, key)]
    return [option["value"] for option in selector.config["options"]]


def anonymous_probes(sim: NezhaSimulator) -> int:
    """Count the probe requests; fails if any of them carried a credential."""
    probes = [r for r in sim.requests if r.path == PROBE_PATH]
    assert all("Authorization" not in r.headers for r in probes)
    return len(probes)


def sent_with(sim: NezhaSimulator, token: str) -> list[str]:
    """Paths of the requests whose Authorization header carried ``token``."""
    return [r.path for r in sim.requests if token in r.headers.get("Authorization", "")]


def authed(sim: NezhaSimulator) -> set[str | None]:
    """Authorization headers of every request but the anonymous probes."""
    anonymous_probes(sim)
    return {
        r.headers.get("Authorization") for r in sim.requests if r.path != PROBE_PATH
    }


def assert_probe_only(sim: NezhaSimulator) -> None:
    """The simulator saw the anonymous probe and nothing else."""
    assert [(r.path, r.headers.get("Authorization")) for r in sim.requests] == [
        (PROBE_PATH, None)
    ]


@dataclass
class FakeDashboard:
    """A v0 list endpoint (one server; optionally below a sub-path); records requests."""

    prefix: str = ""
    seen: list[tuple[str, str | None]] = field(default_factory=list)

    def app(self) -> web.Application:
        """Build the aiohttp app."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        token = request.headers.get("Authorization")
        self.seen.append((request.path, token))
        if request.path != self.prefix + LIST_PATH:
            return web.Response(status=404, text="404 page not found")
        if token != TOKEN:  # v0's auth refusal
            return web.json_response({"code": 403, "message": "访问此接口需要认证"})
        servers = [{"id": 1, "name": "a", "tag": ""}]
        return web.json_response({"code": 0, "message": "success", "result": servers})


def static_app(response: Callable[[], web.StreamResponse]) -> web.Application:
    """An app answering every request with ``response()``."""

    async def handle(request: web.Request) -> web.StreamResponse:
        return response()

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return app
