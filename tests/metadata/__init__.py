"""Offline checks of what hassfest and the HACS action validate in this repository.

Both validators run in GitHub Actions only (they need the network); these checks apply
the same rules locally so that a broken manifest, translation or brand image fails
`scripts/test` before it fails CI.

Each `check_*` function takes a path (the integration directory or the repository
root) and returns a list of readable problems; an empty list means the check passes.
`tests/test_metadata.py` runs them on this repository, one test per check, and
`tests/test_metadata_checkers.py` breaks a throwaway integration (`sample.py`) one
thing at a time to prove that each checker notices.

Modules, by subject:

* `common`: paths, the Problems type, loaders, small helpers and `_report`.
* `manifest`: manifest.json (schema, key order, version, documentation, codeowners,
  iot_class, integration_type, requirements format, config_flow file) and json.
* `hacs`: hacs.json, README, LICENSE, a single integration, brand images.
* `schema`: a small schema language for JSON files, with the string and key rules.
* `translations`: translations (schema, string rules, key format, data_description,
  key sets) and icons.
* `code`: translation keys used in the code and config flow strings, read with `ast`.
* `dependencies`: dependencies, config_schema and services.

Rules implemented (hassfest in `--integration-path` mode, plus the HACS action):
manifest, json, translations, icons, dependencies, config_schema, services; HACS
hacsjson, information, integration_manifest, brands and license. Project rules that go
beyond them are marked "(project rule)".
"""

from .code import check_flow_strings, check_translation_keys_used
from .common import DOMAIN, INTEGRATION_DIR, REPO_ROOT, Problems
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

__all__ = [
    "DOMAIN",
    "INTEGRATION_DIR",
    "REPO_ROOT",
    "Problems",
    "check_brand",
    "check_config_schema",
    "check_dependencies",
    "check_flow_strings",
    "check_hacs_json",
    "check_icons",
    "check_json_files",
    "check_license",
    "check_manifest",
    "check_readme",
    "check_services",
    "check_single_integration",
    "check_translation_files",
    "check_translation_key_sets",
    "check_translation_keys_used",
    "check_translation_strings",
]
