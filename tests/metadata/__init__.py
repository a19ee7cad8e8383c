"""Offline checks of what hassfest and the HACS action validate (they need the network).

Each `check_*` takes the integration directory or the repository root and returns
readable problems ([] passes). tests/test_metadata.py runs them on this repository;
tests/test_metadata_checkers.py breaks a throwaway integration (`sample.py`) one thing
at a time. Rules beyond hassfest's and the HACS action's say "(project rule)".
"""

from collections.abc import Callable
from pathlib import Path

from .code import check_flow_strings, check_translation_keys_used
from .common import INTEGRATION_DIR, REPO_ROOT, Problems
from .dependencies import check_config_schema, check_dependencies, check_services
from .hacs import (
    check_brand,
    check_hacs_json,
    check_license,
    check_readme,
    check_single_integration,
)
from .manifest import check_json_files, check_manifest
from .translations import (
    check_icons,
    check_translation_files,
    check_translation_key_sets,
    check_translation_strings,
)

Check = Callable[[Path], Problems]
REPO_CHECKS: dict[str, Check] = {
    "hacs": check_hacs_json,
    "readme": check_readme,
    "license": check_license,
    "single": check_single_integration,
}
INTEGRATION_CHECKS: dict[str, Check] = {
    "manifest": check_manifest,
    "json": check_json_files,
    "brand": check_brand,
    "translation_files": check_translation_files,
    "translation_strings": check_translation_strings,
    "translation_key_sets": check_translation_key_sets,
    "icons": check_icons,
    "keys_used": check_translation_keys_used,
    "flow_strings": check_flow_strings,
    "dependencies": check_dependencies,
    "config_schema": check_config_schema,
    "services": check_services,
}
__all__ = ["INTEGRATION_CHECKS", "INTEGRATION_DIR", "REPO_CHECKS", "REPO_ROOT", "Check"]
