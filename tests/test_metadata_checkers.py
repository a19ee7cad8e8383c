"""Tests of the metadata checkers themselves (tests/metadata).

A valid throwaway integration (tests/metadata/sample.py) is written to tmp_path; each
case breaks one thing in it and expects the checker to report it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.metadata import (
    check_dependencies,
    check_flow_strings,
    check_icons,
    check_translation_keys_used,
)
from tests.metadata.hacs import _png_size
from tests.metadata.sample import (
    EN,
    HACS,
    ICONS,
    INTEGRATION_CHECKS,
    MANIFEST,
    REPO_CHECKS,
    SAMPLE_DOMAIN,
    SAMPLE_STRINGS,
    SENSORS,
    USER_STEP,
    Mutation,
    append,
    both,
    delete,
    edit,
    mkdir,
    png,
    pop,
    reorder_manifest,
    run,
    write,
    write_sample_repo,
)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Override the conftest fixture: metadata checks need no Home Assistant."""


@pytest.fixture
def sample_repo(tmp_path: Path) -> Path:
    """Write a valid repository with one integration; return the repository root."""
    return write_sample_repo(tmp_path)


def test_checkers_accept_a_valid_integration(sample_repo: Path) -> None:
    """The valid sample passes every checker (so the broken cases below are meaningful)."""
    for check in (*REPO_CHECKS, *INTEGRATION_CHECKS):
        assert run(check, sample_repo) == [], check


# For each checker: {case id: (how to break the sample, expected part of a problem)}.
Cases = dict[str, tuple[Mutation, str]]

MANIFEST_CASES: Cases = {
    "manifest-missing": (delete(MANIFEST), "manifest.json does not exist"),
    "manifest-domain": (
        edit(MANIFEST, domain="other"),
        "does not match the directory name",
    ),
    "manifest-no-version": (pop(MANIFEST, "version"), "'version': is required"),
    "manifest-bad-version": (
        edit(MANIFEST, version="one.two"),
        "is not a valid version",
    ),
    "manifest-http-docs": (
        edit(MANIFEST, documentation="http://example.com"),
        "is not an https URL",
    ),
    "manifest-core-docs": (
        edit(MANIFEST, documentation="https://www.home-assistant.io/integrations/x"),
        "own documentation",
    ),
    "manifest-codeowner": (
        edit(MANIFEST, codeowners=["someone"]),
        "is not a GitHub handle",
    ),
    "manifest-iot-class": (edit(MANIFEST, iot_class="local"), "'iot_class'"),
    "manifest-no-integration-type": (
        pop(MANIFEST, "integration_type"),
        "must be set explicitly",
    ),
    "manifest-virtual": (
        edit(MANIFEST, integration_type="virtual"),
        "'virtual' is not one of",
    ),
    "manifest-unknown-key": (
        edit(MANIFEST, zz_extra=1),
        "keys that hassfest rejects: zz_extra",
    ),
    "manifest-key-order": (reorder_manifest, "not sorted correctly"),
    "manifest-no-issue-tracker": (
        pop(MANIFEST, "issue_tracker"),
        "required by the HACS action",
    ),
    "manifest-requirement-space": (
        edit(MANIFEST, requirements=["samplelib >= 1"]),
        "contains a space",
    ),
    "manifest-requirement-version": (
        edit(MANIFEST, requirements=["samplelib==not!a!version"]),
        "unable to parse the version",
    ),
    "manifest-config-flow-file": (
        delete("config_flow.py"),
        "config_flow.py does not exist",
    ),
    "manifest-config-flow-bool": (
        edit(MANIFEST, config_flow="yes"),
        "must be true or false",
    ),
    "manifest-gold-diagnostics": (
        both(edit(MANIFEST, quality_scale="gold"), delete("diagnostics.py")),
        "must implement diagnostics.py",
    ),
}

HACS_CASES: Cases = {
    "hacs-missing": (delete(HACS), "hacs.json does not exist"),
    "hacs-extra-key": (
        edit(HACS, description="x"),
        "extra keys not allowed: description",
    ),
    "hacs-no-name": (pop(HACS, "name"), "'name' is required"),
    "hacs-bool-as-string": (
        edit(HACS, render_readme="true"),
        "expected bool for 'render_readme'",
    ),
    "hacs-bad-ha-version": (
        edit(HACS, homeassistant="soon"),
        "is not a valid version",
    ),
    "hacs-zip-without-filename": (edit(HACS, zip_release=True), "needs 'filename'"),
}

BRAND_CASES: Cases = {
    "brand-no-icon": (delete("brand/icon.png"), "brand/icon.png does not exist"),
    "brand-icon-size": (
        write("brand/icon.png", png(128, 128)),
        "is 128x128, must be 256x256",
    ),
    "brand-icon2x-size": (write("brand/icon@2x.png", png(256, 256)), "must be 512x512"),
    "brand-not-png": (
        write("brand/icon.png", b"GIF89a" + bytes(40)),
        "is not a PNG file",
    ),
    "brand-unknown-name": (
        write("brand/banner.png", png(256, 256)),
        "not an allowed brand image name",
    ),
    "brand-logo-size": (
        write("brand/logo.png", png(1000, 100)),
        "shortest side must be 128-256",
    ),
}

TRANSLATION_STRINGS_CASES: Cases = {
    "string-html": (
        edit(EN, *USER_STEP, title="<b>Connect</b>"),
        "should not contain HTML",
    ),
    "string-trailing-space": (
        edit(EN, *USER_STEP, title="Connect "),
        "leading or trailing spaces",
    ),
    "string-url": (
        edit(EN, *USER_STEP, description="See https://example.com/docs"),
        "should not contain URLs",
    ),
    "string-quoted-placeholder": (
        edit(EN, *USER_STEP, description="Use '{brand}'"),
        "inside single quotes",
    ),
    "string-bad-placeholder": (
        edit(EN, *USER_STEP, description="Use {1brand}"),
        "must be a valid identifier",
    ),
    "string-reference": (
        edit(EN, *USER_STEP, title="[%key:common::config_flow::data::url%]"),
        "references are not resolved",
    ),
    "string-state-placeholder": (
        edit(EN, *SENSORS, "status", "state", online="On {x}"),
        "placeholders are not supported",
    ),
    "key-format": (
        edit(EN, "config", "error", Cannot_Connect="x"),
        "invalid translation key 'Cannot_Connect'",
    ),
    "key-double-underscore": (
        edit(EN, "config", "error", cannot__connect="x"),
        "invalid translation key",
    ),
    "data-description-not-in-data": (
        edit(EN, *USER_STEP, "data_description", port="Port"),
        "data_description key port is not in data",
    ),
    "unknown-top-level-key": (edit(EN, entities={}), "entities: key not allowed here"),
    "unknown-entity-key": (
        edit(EN, *SENSORS, "cpu_usage", icon="mdi:cpu"),
        "cpu_usage.icon: key not allowed here",
    ),
    "entity-platform-typo": (
        edit(EN, "entity", sensors={}),
        "'sensors' is not an entity platform",
    ),
    "step-not-object": (
        edit(EN, "config", step="user"),
        "config.step: must be an object",
    ),
}

ICONS_CASES: Cases = {
    "icon-not-mdi": (
        edit(ICONS, *SENSORS, "cpu_usage", default="cpu"),
        "starting with 'mdi:'",
    ),
    "icon-state-same-as-default": (
        edit(ICONS, *SENSORS, "status", "state", online="mdi:server"),
        "same as the default icon",
    ),
    "icon-unknown-key": (
        edit(ICONS, *SENSORS, "cpu_usage", color="red"),
        "color: key not allowed here",
    ),
    "icon-unknown-top-level": (
        edit(ICONS, entities={}),
        "entities: key not allowed here",
    ),
    "icon-range-key": (
        edit(ICONS, *SENSORS, "cpu_usage", range={"high": "mdi:fire"}),
        "must be a number",
    ),
}

KEYS_USED_CASES: Cases = {
    "entity-key-missing": (
        pop(EN, *SENSORS, "cpu_usage"),
        "needs entity.sensor.cpu_usage.name",
    ),
    "exception-key-missing": (
        pop(EN, "exceptions"),
        "needs exceptions.update_failed.message",
    ),
    "attr-translation-key": (
        append(
            "sensor.py",
            '\n\nclass Other(SensorEntity):\n    _attr_translation_key = "memory"\n',
        ),
        "needs entity.sensor.memory.name",
    ),
    "helper-forwarded-key-missing": (
        pop(EN, *SENSORS, "memory_usage"),
        "needs entity.sensor.memory_usage.name",
    ),
    "constant-selector-key-missing": (
        pop(EN, "selector"),
        "needs selector.server_group",
    ),
}

FLOW_STRINGS_CASES: Cases = {
    "flow-step-missing": (
        pop(EN, "config", "step", "reauth_confirm"),
        "needs config.step.reauth_confirm",
    ),
    "flow-error-missing": (
        pop(EN, "config", "error"),
        "needs config.error.cannot_connect",
    ),
    "flow-abort-missing": (
        pop(EN, "config", "abort", "already_configured"),
        "needs config.abort.already_configured",
    ),
    "flow-reauth-abort-missing": (
        pop(EN, "config", "abort", "reauth_successful"),
        "needs config.abort.reauth_successful",
    ),
    "flow-helper-error-missing": (
        pop(EN, "config", "error", "invalid_auth"),
        "needs config.error.invalid_auth",
    ),
}

MQTT_IMPORT = "\nfrom homeassistant.components.mqtt import async_publish\n"

BROKEN_CASES: dict[str, Cases] = {
    "manifest": MANIFEST_CASES,
    "json": {"json-invalid": (write(ICONS, "{not json"), "Invalid JSON file")},
    "hacs": HACS_CASES,
    "readme": {"readme-missing": (delete("../../README.md"), "no README.md")},
    "license": {"license-missing": (delete("../../LICENSE"), "no LICENSE file")},
    "single": {"two-integrations": (mkdir("../other"), "exactly one integration")},
    "brand": BRAND_CASES,
    "translation_files": {
        "translations-no-en": (delete(EN), "en.json does not exist"),
        "translations-strings-json": (
            write("strings.json", "{}"),
            "strings.json must not exist",
        ),
    },
    "translation_strings": TRANSLATION_STRINGS_CASES,
    "translation_key_sets": {
        "translations-missing-key": (
            write(
                "translations/de.json", json.dumps({"config": SAMPLE_STRINGS["config"]})
            ),
            "translations/de.json: missing entity",
        ),
        "translations-extra-key": (
            pop(EN, "exceptions", "update_failed"),
            "exceptions.update_failed is not in en.json",
        ),
        "translations-placeholder-renamed": (
            write(
                "translations/de.json",
                json.dumps(
                    {
                        **SAMPLE_STRINGS,
                        "exceptions": {
                            "update_failed": {"message": "Fehlgeschlagen: {fehler}"}
                        },
                    }
                ),
            ),
            "update_failed.message has placeholders ['fehler'], en.json has ['error']",
        ),
        "translations-placeholder-dropped": (
            write(
                "translations/de.json",
                json.dumps(
                    {
                        **SAMPLE_STRINGS,
                        "exceptions": {
                            "update_failed": {"message": "Aktualisierung gescheitert"}
                        },
                    }
                ),
            ),
            "has placeholders [], en.json has ['error']",
        ),
        "translations-empty-string": (
            write(
                "translations/de.json",
                json.dumps(
                    {
                        **SAMPLE_STRINGS,
                        "selector": {"server_group": {"options": {"all": " "}}},
                    }
                ),
            ),
            "translations/de.json: selector.server_group.options.all is empty",
        ),
    },
    "icons": ICONS_CASES,
    "keys_used": KEYS_USED_CASES,
    "flow_strings": FLOW_STRINGS_CASES,
    "dependencies": {
        "dependency-not-declared": (
            append("sensor.py", MQTT_IMPORT),
            "Using component mqtt",
        ),
        "dependency-via-package": (
            append("sensor.py", "\nfrom homeassistant.components import cloud\n"),
            "Using component cloud",
        ),
    },
    "config_schema": {
        "init-missing": (delete("__init__.py"), "__init__.py does not exist"),
        "config-schema-missing": (
            append(
                "__init__.py",
                "\n\nasync def async_setup(hass, config):\n    return True\n",
            ),
            "no CONFIG_SCHEMA",
        ),
    },
    "services": {
        "services-yaml-missing": (
            append(
                "__init__.py",
                "\n\ndef register(hass):\n"
                "    hass.services.async_register('sample_hub', 'x', None)\n",
            ),
            "services.yaml does not exist",
        ),
    },
}


@pytest.mark.parametrize(
    ("check", "breakage", "expected"),
    [
        pytest.param(check, breakage, expected, id=case)
        for check, cases in BROKEN_CASES.items()
        for case, (breakage, expected) in cases.items()
    ],
)
def test_checker_catches(
    sample_repo: Path, check: str, breakage: Mutation, expected: str
) -> None:
    """Each checker reports the deliberately broken part of the sample."""
    breakage(sample_repo / "custom_components" / SAMPLE_DOMAIN)
    problems = run(check, sample_repo)
    assert any(expected in problem for problem in problems), (
        f"expected a problem containing {expected!r}, got {problems}"
    )


@pytest.mark.parametrize(
    "fix",
    [
        pytest.param(edit(MANIFEST, dependencies=["mqtt"]), id="dependencies"),
        pytest.param(
            edit(MANIFEST, after_dependencies=["mqtt"]), id="after_dependencies"
        ),
        pytest.param(edit(MANIFEST, mqtt=["sample/#"]), id="discovery-key"),
    ],
)
def test_dependency_allowed_by_manifest(sample_repo: Path, fix: Mutation) -> None:
    """A component import is fine once the manifest declares it."""
    integration = sample_repo / "custom_components" / SAMPLE_DOMAIN
    append("sensor.py", MQTT_IMPORT)(integration)
    assert check_dependencies(integration) != []
    fix(integration)
    assert check_dependencies(integration) == []


def test_dependency_check_ignores_type_checking_imports(sample_repo: Path) -> None:
    """Imports under `if TYPE_CHECKING:` are not runtime dependencies (as in hassfest)."""
    integration = sample_repo / "custom_components" / SAMPLE_DOMAIN
    append(
        "sensor.py",
        "\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from homeassistant.components.mqtt import ReceiveMessage\n",
    )(integration)
    assert check_dependencies(integration) == []


def test_flow_and_key_checks_are_data_driven(sample_repo: Path) -> None:
    """Without config_flow.py or literal translation keys there is nothing to require."""
    integration = sample_repo / "custom_components" / SAMPLE_DOMAIN
    for name in ("config_flow.py", "sensor.py"):
        (integration / name).unlink()
    (integration / "translations" / "en.json").unlink()
    assert check_flow_strings(integration) == []
    assert check_translation_keys_used(integration) == []


def test_icons_json_is_optional(sample_repo: Path) -> None:
    """Hassfest does not require icons.json."""
    integration = sample_repo / "custom_components" / SAMPLE_DOMAIN
    (integration / "icons.json").unlink()
    assert check_icons(integration) == []


def test_png_size_reads_ihdr(tmp_path: Path) -> None:
    """The IHDR reader returns the real width and height."""
    path = tmp_path / "x.png"
    path.write_bytes(png(300, 120))
    assert _png_size(path) == (300, 120)


VALIDATION = '''"""Sample validation: exceptions to form error keys."""
from .const import AUTH_ERROR

TABLE = {ConnectionError: "timeout"}


def error_key(err):
    match err:
        case PermissionError():
            return AUTH_ERROR
        case ValueError(args=(reason,)):
            return reason
    return TABLE[type(err)]


def validate_input(data):
    return {"base": "dashboard_gone"} if data else {}
'''


def test_flow_error_keys_may_live_in_validation(sample_repo: Path) -> None:
    """Error keys mapped in validation.py (literal, constant, table) need strings too."""
    integration = sample_repo / "custom_components" / SAMPLE_DOMAIN
    flow = integration / "config_flow.py"
    source = flow.read_text(encoding="utf-8")
    helper = source[source.index("def error_key") : source.index("class SampleFlow")]
    flow.write_text(
        source.replace(helper, "from .validation import error_key\n\n\n"),
        encoding="utf-8",
    )
    append("const.py", 'AUTH_ERROR = "invalid_auth"\n')(integration)
    write("validation.py", VALIDATION)(integration)
    edit(EN, "config", "error", timeout="Timeout", dashboard_gone="Gone")(integration)
    assert check_flow_strings(integration) == []
    for key, where in (
        ("invalid_auth", "config_flow.py"),  # constant, via the imported helper
        ("timeout", "config_flow.py"),  # a value of validation.py's table
        ("dashboard_gone", "validation.py"),  # {"base": ...} in validation.py
    ):
        pop(EN, "config", "error", key)(integration)
        assert any(
            f"{where}:" in p and f"needs config.error.{key}" in p
            for p in check_flow_strings(integration)
        ), key
