"""Offline checks of what hassfest and the HACS action validate (they need the network).

Each `check_*` takes the integration directory or the repository root and returns
readable problems ([] passes). tests/test_metadata.py runs them on this repository;
tests/test_metadata_checkers.py breaks a throwaway integration (`sample.py`) one thing
at a time. Rules beyond hassfest's and the HACS action's say "(project rule)".
"""

from collections.abc import Callable
from pathlib import Path

from . import code, manifest, translations as tr
from .common import INTEGRATION_DIR, REPO_ROOT, Problems

Check = Callable[[Path], Problems]
REPO_CHECKS: dict[str, Check] = {
    "hacs": manifest.check_hacs_json,
    "readme": manifest.check_readme,
    "license": manifest.check_license,
    "single": manifest.check_single_integration,
}
INTEGRATION_CHECKS: dict[str, Check] = {
    "manifest": manifest.check_manifest,
    "json": manifest.check_json_files,
    "brand": manifest.check_brand,
    "translation_files": tr.check_translation_files,
    "translation_strings": tr.check_translation_strings,
    "translation_key_sets": tr.check_translation_key_sets,
    "icons": tr.check_icons,
    "keys_used": code.check_translation_keys_used,
    "flow_strings": code.check_flow_strings,
    "dependencies": code.check_dependencies,
    "config_schema": code.check_config_schema,
    "services": code.check_services,
}
CHECKS = REPO_CHECKS | INTEGRATION_CHECKS
__all__ = ["INTEGRATION_CHECKS", "INTEGRATION_DIR", "REPO_CHECKS", "REPO_ROOT", "Check"]


def run(check: str, integration: Path) -> Problems:
    """Run a check by name on ``integration``, or on its repository for a repo check."""
    if check in REPO_CHECKS:
        return REPO_CHECKS[check](integration.parents[1])
    return INTEGRATION_CHECKS[check](integration)
