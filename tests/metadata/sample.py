"""A valid throwaway integration for the checker tests, and ways to break it."""

from collections.abc import Callable
import json
from pathlib import Path
import struct
from typing import Any
import zlib

from .common import EN, _dig
from .manifest import PNG_SIGNATURE

SAMPLE_DOMAIN = "sample_hub"


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    raw = b"".join(b"\x00" + b"\x00" * 4 * width for _ in range(height))
    return (
        PNG_SIGNATURE
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


SAMPLE_MANIFEST: dict[str, Any] = json.loads("""{
  "domain": "sample_hub", "name": "Sample Hub", "codeowners": ["@someone"],
  "config_flow": true, "documentation": "https://github.com/someone/sample-hub",
  "integration_type": "hub", "iot_class": "local_polling",
  "issue_tracker": "https://github.com/someone/sample-hub/issues",
  "requirements": ["samplelib==1.2.3"], "version": "0.1.0"}""")

SAMPLE_STRINGS: dict[str, Any] = json.loads("""{
  "config": {
    "step": {
      "user": {
        "title": "Connect", "description": "Enter the address of your {brand} dashboard.",
        "data": {"url": "URL", "token": "API token"},
        "data_description": {"url": "The dashboard address"}},
      "reauth_confirm": {"data": {"token": "API token"}}},
    "error": {"cannot_connect": "Failed to connect", "invalid_auth": "Invalid token"},
    "abort": {
      "already_configured": "Already configured",
      "reauth_successful": "Re-authentication was successful"}},
  "entity": {"sensor": {
    "cpu_usage": {"name": "CPU usage"}, "memory_usage": {"name": "Memory usage"},
    "status": {"name": "Status", "state": {"online": "Online", "offline": "Offline"}}}},
  "exceptions": {"update_failed": {"message": "Update failed: {error}"}},
  "selector": {"server_group": {"options": {"all": "All servers"}}}}""")

SAMPLE_ICONS: dict[str, Any] = json.loads("""{"entity": {"sensor": {
  "cpu_usage": {"default": "mdi:cpu-64-bit"},
  "status": {"default": "mdi:server", "state": {"offline": "mdi:server-off"}}}}}""")

SAMPLE_FILES: dict[str, str] = {
    "__init__.py": '"""Sample."""\n\n\nasync def async_setup_entry(hass, entry):\n    return True\n',
    "const.py": '''"""Sample constants."""
CONF_GROUP = "server_group"
''',
    "config_flow.py": '''"""Sample flow."""
from homeassistant.config_entries import ConfigFlow
from homeassistant.helpers.selector import SelectSelectorConfig
from .const import CONF_GROUP
def error_key(err):
    if isinstance(err, PermissionError):
        return "invalid_auth"
    return "cannot_connect"
class SampleFlow(ConfigFlow, domain="sample_hub"):
    async def _check(self, user_input):
        try:
            pass
        except OSError as err:
            return {"base": error_key(err)}
        return {}
    async def async_step_user(self, user_input=None):
        errors = {}
        if user_input is not None:
            await self.async_set_unique_id("x")
            self._abort_if_unique_id_configured()
            errors["base"] = "cannot_connect"
        SelectSelectorConfig(options=["all"], translation_key=CONF_GROUP)
        return self.async_show_form(step_id="user", errors=errors)
    async def async_step_reauth_confirm(self, user_input=None):
        if user_input is not None:
            return self.async_update_reload_and_abort(self._get_reauth_entry())
        return self.async_show_form(step_id="reauth_confirm")
''',
    "sensor.py": '''"""Sample sensors."""
from homeassistant.components.sensor import SensorEntity, SensorEntityDescription
from homeassistant.exceptions import HomeAssistantError
class SampleSensorDescription(SensorEntityDescription):
    pass
def _percent(key, *, enabled=True):
    return SampleSensorDescription(key=key, translation_key=key)
DESCRIPTIONS = (
    SensorEntityDescription(key="cpu", translation_key="cpu_usage"),
    SensorEntityDescription(key="status", translation_key="status"),
    _percent("memory_usage"),
)
class SampleSensor(SensorEntity):
    def update(self):
        raise HomeAssistantError(translation_domain="sample_hub", translation_key="update_failed")
''',
    "diagnostics.py": '''"""Sample diagnostics."""
from homeassistant.components.diagnostics import async_redact_data
''',
}


# ------------------------------------------------------------------------ mutations

Mutation = Callable[[Path], object]

MANIFEST = "manifest.json"
ICONS = "icons.json"
HACS = "../../hacs.json"  # the repository root is two levels up
USER_STEP = ("config", "step", "user")
SENSORS = ("entity", "sensor")


def write(name: str, content: str | bytes | dict[str, Any]) -> Mutation:
    """Write file ``name``: text, bytes, or an object as JSON."""

    def write(integration: Path) -> None:
        path = integration / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, dict):
            path.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
        else:
            path.write_bytes(content.encode() if isinstance(content, str) else content)

    return write


def _edit_json(name: str, edit: Callable[[Any], object]) -> Mutation:
    """Apply an in-place edit (its return value is ignored) to JSON file ``name``."""

    def mutate(integration: Path) -> None:
        data = json.loads((integration / name).read_text(encoding="utf-8"))
        edit(data)
        write(name, data)(integration)

    return mutate


def edit(name: str, *keys: str, **changes: Any) -> Mutation:
    """Update the JSON object at the nested `keys` of file `name` with `changes`."""
    return _edit_json(name, lambda data: _dig(data, keys).update(changes))


def pop(name: str, *keys: str) -> Mutation:
    """Remove the value at the nested `keys` of JSON file `name`."""
    return _edit_json(name, lambda data: _dig(data, keys[:-1]).pop(keys[-1]))


def delete(name: str) -> Mutation:
    return lambda integration: (integration / name).unlink()


def append(name: str, text: str) -> Mutation:
    return lambda integration: write(
        name, (integration / name).read_text(encoding="utf-8") + text
    )(integration)


def mkdir(name: str) -> Mutation:
    return lambda integration: (integration / name).mkdir()


def every(*mutations: Mutation) -> Mutation:
    return lambda integration: [mutation(integration) for mutation in mutations]


def write_sample_repo(root: Path) -> Path:
    """Write a valid repository with one integration under `root`; return `root`."""
    integration = root / "custom_components" / SAMPLE_DOMAIN
    files: dict[str, str | bytes | dict[str, Any]] = {
        MANIFEST: SAMPLE_MANIFEST,
        EN: SAMPLE_STRINGS,
        "translations/de.json": SAMPLE_STRINGS,
        ICONS: SAMPLE_ICONS,
        **SAMPLE_FILES,
        "brand/icon.png": png(256, 256),
        "brand/logo.png": png(400, 200),
        "brand/icon@2x.png": png(512, 512),
        HACS: {"name": "Sample Hub", "homeassistant": "2026.3.0"},
        "../../README.md": "# Sample Hub\n",
        "../../LICENSE": "MIT License\n",
    }
    every(*(write(name, content) for name, content in files.items()))(integration)
    return root
