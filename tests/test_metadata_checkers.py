"""Tests of the metadata checkers: each case breaks one thing in a valid sample."""

from functools import partial
import json
from pathlib import Path

import pytest

from tests.metadata import CHECKS, run
from tests.metadata.sample import (
    EN,
    HACS,
    ICONS,
    MANIFEST,
    SAMPLE_DOMAIN,
    SAMPLE_FILES,
    SAMPLE_MANIFEST,
    SAMPLE_STRINGS,
    SENSORS,
    USER_STEP,
    Mutation,
    append,
    delete,
    edit,
    every,
    mkdir,
    png,
    pop,
    write,
    write_sample_repo,
)

MQTT_IMPORT = "\nfrom homeassistant.components.mqtt import async_publish\n"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Override the conftest fixture: metadata checks need no Home Assistant."""


@pytest.fixture
def integration(tmp_path: Path) -> Path:
    """A valid sample repository; its integration directory."""
    return write_sample_repo(tmp_path) / "custom_components" / SAMPLE_DOMAIN


# Edits of en.json's user step, form errors and sensors, and of icons.json's sensors.
in_step = partial(edit, EN, *USER_STEP)
in_errors = partial(edit, EN, "config", "error")
in_sensors = partial(edit, EN, *SENSORS)
in_icons = partial(edit, ICONS, *SENSORS)


def de(**strings: object) -> Mutation:
    """Write translations/de.json: en.json's strings with these top-level changes."""
    return write("translations/de.json", json.dumps({**SAMPLE_STRINGS, **strings}))


VALIDATION = '''"""Sample validation: exceptions to form error keys."""
from .const import AUTH_ERROR
TABLE = {ConnectionError: "timeout"}
SHARED = {OSError: "tls_failed"}
def shared_key(err):
    return next((key for kind, key in SHARED.items() if isinstance(err, kind)), None)
def error_key(err):
    match err:
        case PermissionError():
            return AUTH_ERROR
        case ValueError(args=(reason,)):
            return reason
    if (key := shared_key(err)) is not None:
        return key
    return TABLE[type(err)]
def validate_input(data):
    return {"base": "dashboard_gone"} if data else {}
'''
FLOW = SAMPLE_FILES["config_flow.py"]
# config_flow.py imports error_key from validation.py, which maps more kinds of key.
IN_VALIDATION = every(
    write(
        "config_flow.py",
        FLOW.replace(
            FLOW[FLOW.index("def error_key") : FLOW.index("class SampleFlow")],
            "from .validation import error_key\n",
        ),
    ),
    append("const.py", 'AUTH_ERROR = "invalid_auth"\n'),
    write("validation.py", VALIDATION),
    in_errors(timeout="T", tls_failed="TLS", dashboard_gone="Gone"),
)


# {checker: {expected part of a problem: how to break the sample}}
BROKEN: dict[str, dict[str, Mutation]] = {
    "manifest": {
        "manifest.json does not exist": delete(MANIFEST),
        "does not match the directory name": edit(MANIFEST, domain="other"),
        "manifest.json: version: is required": pop(MANIFEST, "version"),
        "is not a valid version": edit(MANIFEST, version="one.two"),
        "is not an https URL": edit(MANIFEST, documentation="http://example.com"),
        "own documentation": edit(
            MANIFEST, documentation="https://www.home-assistant.io/integrations/x"
        ),
        "is not a GitHub handle": edit(MANIFEST, codeowners=["someone"]),
        "iot_class: 'local' is not one of": edit(MANIFEST, iot_class="local"),
        "must be set explicitly": pop(MANIFEST, "integration_type"),
        "'virtual' is not one of": edit(MANIFEST, integration_type="virtual"),
        "zz_extra: key not allowed here": edit(MANIFEST, zz_extra=1),
        "not sorted correctly": write(  # 'name' before 'domain'
            MANIFEST, {"name": SAMPLE_MANIFEST["name"], **SAMPLE_MANIFEST}
        ),
        "required by the HACS action": pop(MANIFEST, "issue_tracker"),
        "contains a space": edit(MANIFEST, requirements=["samplelib >= 1"]),
        "unable to parse the version": edit(
            MANIFEST, requirements=["samplelib==not!a!version"]
        ),
        "config_flow.py does not exist": delete("config_flow.py"),
        "must be true or false": edit(MANIFEST, config_flow="yes"),
        "must implement diagnostics.py": every(
            edit(MANIFEST, quality_scale="gold"), delete("diagnostics.py")
        ),
    },
    "json": {"Invalid JSON file": write(ICONS, "{not json")},
    "hacs": {
        "hacs.json does not exist": delete(HACS),
        "description: key not allowed here": edit(HACS, description="x"),
        "hacs.json: name: is required": pop(HACS, "name"),
        "render_readme: must be true or false": edit(HACS, render_readme="true"),
        "is not a valid version": edit(HACS, homeassistant="soon"),
        "needs 'filename'": edit(HACS, zip_release=True),
        "country: must be an ISO code": edit(HACS, country=["de", "Germany"]),
    },
    "readme": {"no README.md": delete("../../README.md")},
    "license": {"no LICENSE file": delete("../../LICENSE")},
    "single": {"exactly one integration": mkdir("../other")},
    "brand": {
        "brand/icon.png does not exist": delete("brand/icon.png"),
        "is 128x128, must be 256x256": write("brand/icon.png", png(128, 128)),
        "must be 512x512": write("brand/icon@2x.png", png(256, 256)),
        "is not a PNG file": write("brand/icon.png", b"GIF89a" + bytes(40)),
        "not an allowed brand image name": write("brand/banner.png", png(256, 256)),
        # The IHDR reader returns the real width and height, in that order.
        "logo.png is 1000x100; a logo's shortest side must be 128-256": write(
            "brand/logo.png", png(1000, 100)
        ),
    },
    "translation_files": {
        "en.json does not exist": delete(EN),
        "strings.json must not exist": write("strings.json", "{}"),
    },
    "translation_strings": {
        "should not contain HTML": in_step(title="<b>Connect</b>"),
        "leading or trailing spaces": in_step(title="Connect "),
        "should not contain URLs": in_step(description="See https://e.com"),
        "inside single quotes": in_step(description="Use '{brand}'"),
        "must be a valid identifier": in_step(description="{1brand}"),
        "references are not resolved": in_step(
            title="[%key:common::config_flow::data::url%]"
        ),
        "placeholders are not supported": in_sensors(
            "status", "state", online="On {x}"
        ),
        "invalid translation key 'Cannot_Connect'": in_errors(Cannot_Connect="x"),
        "invalid translation key": in_errors(cannot__connect="x"),
        "data_description key port is not in data": in_step(
            "data_description", port="Port"
        ),
        "entities: key not allowed here": edit(EN, entities={}),
        "cpu_usage.icon: key not allowed here": in_sensors("cpu_usage", icon="mdi:cpu"),
        "'sensors' is not an entity platform": edit(EN, "entity", sensors={}),
        "config.step: must be an object": edit(EN, "config", step="user"),
    },
    "translation_key_sets": {
        "translations/de.json: missing entity": write(
            "translations/de.json", json.dumps({"config": SAMPLE_STRINGS["config"]})
        ),
        "exceptions.update_failed is not in en.json": pop(
            EN, "exceptions", "update_failed"
        ),
        "update_failed.message has placeholders ['fehler'], en.json has ['error']": de(
            exceptions={"update_failed": {"message": "Fehlgeschlagen: {fehler}"}}
        ),
        "has placeholders [], en.json has ['error']": de(
            exceptions={"update_failed": {"message": "Gescheitert"}}
        ),
        "translations/de.json: selector.server_group.options.all is empty": de(
            selector={"server_group": {"options": {"all": " "}}}
        ),
    },
    "icons": {
        "starting with 'mdi:'": in_icons("cpu_usage", default="cpu"),
        "same as the default icon": in_icons("status", "state", online="mdi:server"),
        "color: key not allowed here": in_icons("cpu_usage", color="red"),
        "entities: key not allowed here": edit(ICONS, entities={}),
        "must be a number": in_icons("cpu_usage", range={"high": "mdi:fire"}),
    },
    "keys_used": {
        "needs entity.sensor.cpu_usage.name": pop(EN, *SENSORS, "cpu_usage"),
        "needs exceptions.update_failed.message": pop(EN, "exceptions"),
        "needs entity.sensor.memory.name": append(
            "sensor.py",
            '\n\nclass O(SensorEntity):\n    _attr_translation_key = "memory"\n',
        ),
        "needs entity.sensor.memory_usage.name": pop(EN, *SENSORS, "memory_usage"),
        "needs selector.server_group": pop(EN, "selector"),
    },
    "flow_strings": {
        f"needs config.{path}": pop(EN, "config", *path.split("."))
        for path in (
            "step.reauth_confirm",
            "error.invalid_auth",
            "abort.already_configured",
            "abort.reauth_successful",
        )
    }
    | {"needs config.error.cannot_connect": pop(EN, "config", "error")}
    # Error keys mapped in validation.py: constant via the imported helper, a value of
    # validation.py's table, of a helper's table, {"base": ...} in validation.py.
    | {
        f"{where}: needs config.error.{key}": every(
            IN_VALIDATION, pop(EN, "config", "error", key)
        )
        for where, key in (
            ("config_flow.py:11", "invalid_auth"),
            ("config_flow.py:11", "timeout"),
            ("config_flow.py:11", "tls_failed"),
            ("validation.py:17", "dashboard_gone"),
        )
    },
    "dependencies": {
        "Using component mqtt": append("sensor.py", MQTT_IMPORT),
        "Using component cloud": append(
            "sensor.py", "\nfrom homeassistant.components import cloud\n"
        ),
    },
    "config_schema": {
        "__init__.py does not exist": delete("__init__.py"),
        "no CONFIG_SCHEMA": append(
            "__init__.py", "\n\nasync def async_setup(hass, config):\n    return True\n"
        ),
    },
    "services": {
        "services.yaml does not exist": append(
            "__init__.py",
            "\n\ndef register(hass):\n"
            "    hass.services.async_register('sample_hub', 'x', None)\n",
        ),
    },
}


@pytest.mark.parametrize(
    ("check", "breakage", "expected"),
    [
        pytest.param(check, breakage, expected, id=f"{check}: {expected}")
        for check, cases in BROKEN.items()
        for expected, breakage in cases.items()
    ],
)
def test_checker_catches(
    integration: Path, check: str, breakage: Mutation, expected: str
) -> None:
    """Each checker reports the deliberately broken part of the sample."""
    breakage(integration)
    problems = run(check, integration)
    assert any(expected in problem for problem in problems), (
        f"expected a problem containing {expected!r}, got {problems}"
    )


TYPE_CHECKING_IMPORT = (
    "\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
    "    from homeassistant.components.mqtt import ReceiveMessage\n"
)


@pytest.mark.parametrize(
    ("checks", "mutation"),
    [
        # A component import is fine once the manifest declares it.
        *(
            (("dependencies",), every(append("sensor.py", MQTT_IMPORT), fix))
            for fix in (
                edit(MANIFEST, dependencies=["mqtt"]),
                edit(MANIFEST, after_dependencies=["mqtt"]),
                edit(MANIFEST, mqtt=["sample/#"]),  # a discovery key
            )
        ),
        (("dependencies",), append("sensor.py", TYPE_CHECKING_IMPORT)),  # as hassfest
        (
            ("flow_strings", "keys_used"),
            every(delete("config_flow.py"), delete("sensor.py"), delete(EN)),
        ),
        (("icons",), delete(ICONS)),
        (("flow_strings",), IN_VALIDATION),
        # The valid sample passes every checker (so the broken cases are meaningful).
        (tuple(CHECKS), every()),
    ],
    ids=[
        *(f"declared-{n}" for n in range(3)),
        *("type-checking", "no-flow", "no-icons", "validation", "valid-sample"),
    ],
)
def test_nothing_to_require(
    integration: Path, checks: tuple[str, ...], mutation: Mutation
) -> None:
    """The sample, declared or TYPE_CHECKING imports, validation.py, no flow: no problem."""
    mutation(integration)
    for check in checks:
        assert run(check, integration) == [], check
