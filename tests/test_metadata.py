"""Run the offline hassfest and HACS checks (tests/metadata) on this repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.metadata import (
    INTEGRATION_CHECKS,
    INTEGRATION_DIR,
    REPO_CHECKS,
    REPO_ROOT,
    Check,
)
from tests.metadata.common import _report


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Override the conftest fixture: metadata checks need no Home Assistant."""


@pytest.mark.parametrize(
    ("check", "path"),
    [pytest.param(c, REPO_ROOT, id=name) for name, c in REPO_CHECKS.items()]
    + [pytest.param(c, INTEGRATION_DIR, id=n) for n, c in INTEGRATION_CHECKS.items()],
)
def test_metadata(check: Check, path: Path) -> None:
    """The repository passes every hassfest, HACS and project metadata check."""
    _report(check(path), f"{check.__name__} on {path.name}")


# The languages shipped, by the name the README gives them.
LANGUAGES = {"en": "English", "zh-Hans": "简体中文", "zh-Hant": "繁體中文"}


def test_readme_names_every_language() -> None:
    """The README lists exactly the translations the integration ships."""
    shipped = {path.stem for path in (INTEGRATION_DIR / "translations").glob("*.json")}
    assert shipped == set(LANGUAGES)
    readme = (REPO_ROOT / "README.md").read_text()
    assert [name for name in LANGUAGES.values() if name not in readme] == []
