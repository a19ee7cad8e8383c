"""Run the offline hassfest and HACS checks (tests/metadata) on this repository.

These tests read files only; they do not need the `hass` instance that conftest's
autouse fixture would start for every test. The checkers themselves are tested in
tests/test_metadata_checkers.py.
"""

from __future__ import annotations

import pytest

from tests.metadata import (
    INTEGRATION_DIR,
    REPO_ROOT,
    check_brand,
    check_config_schema,
    check_dependencies,
    check_flow_strings,
    check_hacs_json,
    check_icons,
    check_json_files,
    check_license,
    check_manifest,
    check_readme,
    check_services,
    check_single_integration,
    check_translation_files,
    check_translation_key_sets,
    check_translation_keys_used,
    check_translation_strings,
)
from tests.metadata.common import _report


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Override the conftest fixture: metadata checks need no Home Assistant."""


def test_manifest() -> None:
    """manifest.json passes hassfest's manifest rules and the HACS manifest check."""
    _report(check_manifest(INTEGRATION_DIR), "custom_components/nezha/manifest.json")


def test_json_files_parse() -> None:
    """Every *.json file in the integration is valid JSON (hassfest 'json')."""
    _report(check_json_files(INTEGRATION_DIR), "JSON files")


def test_hacs_json() -> None:
    """hacs.json passes the HACS action's 'hacsjson' schema."""
    _report(check_hacs_json(REPO_ROOT), "hacs.json")


def test_readme_exists() -> None:
    """The repository has a README (HACS 'information')."""
    _report(check_readme(REPO_ROOT), "README")


def test_license_exists() -> None:
    """The repository has a LICENSE file (HACS 'license', local part)."""
    _report(check_license(REPO_ROOT), "LICENSE")


def test_single_integration_directory() -> None:
    """custom_components/ holds exactly one integration (HACS repository structure)."""
    _report(check_single_integration(REPO_ROOT), "custom_components/")


def test_brand_images() -> None:
    """brand/icon.png is a 256x256 PNG and other brand images are allowed ones."""
    _report(check_brand(INTEGRATION_DIR), "brand images")


def test_translation_files() -> None:
    """translations/en.json exists and there is no strings.json."""
    _report(check_translation_files(INTEGRATION_DIR), "translation files")


def test_translation_strings() -> None:
    """Translation files pass hassfest's schema, string and key rules."""
    _report(check_translation_strings(INTEGRATION_DIR), "translation strings")


def test_translation_key_sets_match_english() -> None:
    """Every translation file has en.json's keys and placeholders, and no empty string."""
    _report(check_translation_key_sets(INTEGRATION_DIR), "translation key sets")


def test_icons() -> None:
    """icons.json (when present) passes hassfest's icons rules."""
    _report(check_icons(INTEGRATION_DIR), "icons.json")


def test_translation_keys_used_in_code() -> None:
    """Every literal translation_key in the code has its string in en.json."""
    _report(
        check_translation_keys_used(INTEGRATION_DIR), "translation keys used in code"
    )


def test_config_flow_strings() -> None:
    """config_flow.py's steps, errors and abort reasons have strings in en.json."""
    _report(check_flow_strings(INTEGRATION_DIR), "config flow strings")


def test_dependencies() -> None:
    """homeassistant.components imports are allowed by hassfest's dependencies rule."""
    _report(check_dependencies(INTEGRATION_DIR), "dependencies")


def test_config_schema() -> None:
    """__init__.py exists and defines CONFIG_SCHEMA when it has async_setup."""
    _report(check_config_schema(INTEGRATION_DIR), "config schema")


def test_services() -> None:
    """Services registered in code have a valid services.yaml."""
    _report(check_services(INTEGRATION_DIR), "services")


# The languages shipped, by the name the README gives them.
LANGUAGES = {"en": "English", "zh-Hans": "简体中文", "zh-Hant": "繁體中文"}


def test_readme_names_every_language() -> None:
    """The README lists exactly the translations the integration ships."""
    shipped = {path.stem for path in (INTEGRATION_DIR / "translations").glob("*.json")}
    assert shipped == set(LANGUAGES)
    readme = (REPO_ROOT / "README.md").read_text()
    assert [name for name in LANGUAGES.values() if name not in readme] == []
