"""Run the offline hassfest and HACS checks (tests/metadata) on this repository."""

import pytest

from tests.metadata import CHECKS, INTEGRATION_DIR, REPO_ROOT, run
from tests.metadata.common import _report


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Override the conftest fixture: metadata checks need no Home Assistant."""


@pytest.mark.parametrize("name", CHECKS)
def test_metadata(name: str) -> None:
    """The repository passes every hassfest, HACS and project metadata check."""
    _report(run(name, INTEGRATION_DIR), f"{name} check")


# The languages shipped, by the name the README gives them.
LANGUAGES = {"en": "English", "zh-Hans": "简体中文", "zh-Hant": "繁體中文"}


def test_readme_names_every_language() -> None:
    """The README lists exactly the translations the integration ships."""
    shipped = {path.stem for path in (INTEGRATION_DIR / "translations").glob("*.json")}
    assert shipped == set(LANGUAGES)
    readme = (REPO_ROOT / "README.md").read_text()
    assert [name for name in LANGUAGES.values() if name not in readme] == []
