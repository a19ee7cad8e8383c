"""manifest.json (hassfest's manifest and requirements checks, HACS) and JSON files."""

from __future__ import annotations

import json
from pathlib import Path
import re
from typing import Any
from urllib.parse import urlparse

from awesomeversion import (
    AwesomeVersion,
    AwesomeVersionException,
    AwesomeVersionStrategy,
)

from .common import Problems, _is_str_list, _load_manifest, _rel, _words

MANIFEST_KEYS = frozenset(
    _words(
        "after_dependencies bluetooth codeowners config_flow dependencies dhcp disabled"
        " documentation domain homekit import_executor integration_type iot_class"
        " issue_tracker loggers mqtt name preview_features quality_scale requirements"
        " single_config_entry ssdp usb version zeroconf"
    )
)
INTEGRATION_TYPES = frozenset(
    _words("device entity hardware helper hub service system")
)
IOT_CLASSES = frozenset(
    _words("assumed_state calculated cloud_polling cloud_push local_polling local_push")
)
QUALITY_SCALES = _words("no_score legacy custom internal bronze silver gold platinum")
VERSION_STRATEGIES = [
    AwesomeVersionStrategy.CALVER,
    AwesomeVersionStrategy.SEMVER,
    AwesomeVersionStrategy.SIMPLEVER,
    AwesomeVersionStrategy.BUILDVER,
    AwesomeVersionStrategy.PEP440,
]
RE_CODEOWNER = re.compile(r"^@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:/[\w.-]+)?$")
RE_REQUIREMENT = re.compile(
    r"^(?:--.+\s)?([-_,.\w\d\[\]]+)(==|>=|<=|~=|!=|<|>|===)*(.*)$"
)
RE_VERSION_PART = re.compile(r"^(==|>=|<=|~=|!=|<|>|===)?(.*)$")


def _version_problem(value: Any) -> str | None:
    """Check a version string the way hassfest's manifest check does."""
    if not isinstance(value, str):
        return f"must be a string, got {type(value).__name__}"
    try:
        AwesomeVersion(value, ensure_strategy=VERSION_STRATEGIES)
    except AwesomeVersionException:
        return f"{value!r} is not a valid version (CalVer, SemVer, SimpleVer, BuildVer or PEP 440)"
    return None


def _url_problem(value: Any, *, https_only: bool) -> str | None:
    if not isinstance(value, str):
        return f"must be a URL string, got {type(value).__name__}"
    parsed = urlparse(value)
    allowed = {"https"} if https_only else {"http", "https"}
    if parsed.scheme not in allowed or not parsed.netloc:
        return f"{value!r} is not an {' or '.join(sorted(allowed))} URL"
    return None


def check_manifest(integration: Path) -> Problems:
    """Check manifest.json like hassfest (manifest, requirements, config_flow) and HACS."""
    problems: Problems = []
    manifest = _load_manifest(integration, problems)
    if manifest is None:
        return problems

    def bad(key: str, message: str) -> None:
        problems.append(f"manifest.json '{key}': {message}")

    if unknown := sorted(set(manifest) - MANIFEST_KEYS):
        problems.append(
            f"manifest.json has keys that hassfest rejects: {', '.join(unknown)}"
        )

    keys = list(manifest)
    expected_order = sorted(
        keys, key=lambda key: {"domain": "", "name": " "}.get(key, key)
    )
    if keys != expected_order:
        problems.append(
            "manifest.json keys are not sorted correctly: domain, name, then "
            f"alphabetical order; expected {expected_order}"
        )

    for key in (
        "domain",
        "name",
        "documentation",
        "codeowners",
        "version",
        "iot_class",
    ):
        if key not in manifest:
            bad(key, "is required")

    domain = manifest.get("domain")
    if "domain" in manifest and domain != integration.name:
        bad(
            "domain",
            f"{domain!r} does not match the directory name {integration.name!r}",
        )
    if "name" in manifest and (
        not isinstance(manifest["name"], str) or not manifest["name"].strip()
    ):
        bad("name", "must be a non-empty string")

    if "version" in manifest and (problem := _version_problem(manifest["version"])):
        bad("version", problem)

    if "documentation" in manifest:
        documentation = manifest["documentation"]
        if problem := _url_problem(documentation, https_only=True):
            bad("documentation", problem)
        else:
            parsed = urlparse(documentation)
            if parsed.netloc.removeprefix("www.") == "home-assistant.io" and (
                parsed.path.startswith("/integrations")
            ):
                bad(
                    "documentation",
                    "should point to the custom integration's own documentation, "
                    "not www.home-assistant.io/integrations",
                )

    # The HACS action's integration_manifest check requires issue_tracker.
    if "issue_tracker" not in manifest:
        bad("issue_tracker", "is required by the HACS action")
    elif problem := _url_problem(manifest["issue_tracker"], https_only=False):
        bad("issue_tracker", problem)

    if "codeowners" in manifest:
        codeowners = manifest["codeowners"]
        if not _is_str_list(codeowners):
            bad("codeowners", "must be a list of strings")
        else:
            if not codeowners:
                bad(
                    "codeowners", "must list at least one GitHub @handle (project rule)"
                )
            for owner in codeowners:
                if not RE_CODEOWNER.match(owner):
                    bad("codeowners", f"{owner!r} is not a GitHub handle like '@user'")

    if "iot_class" in manifest and manifest["iot_class"] not in IOT_CLASSES:
        bad(
            "iot_class",
            f"{manifest['iot_class']!r} is not one of {sorted(IOT_CLASSES)}",
        )

    # hassfest defaults it to "hub", but its integration_type check errors on a config
    # flow without it (one version applies that to custom integrations too).
    if "integration_type" not in manifest:
        bad("integration_type", "must be set explicitly (for example 'hub')")
    elif manifest["integration_type"] not in INTEGRATION_TYPES:
        bad(
            "integration_type",
            f"{manifest['integration_type']!r} is not one of {sorted(INTEGRATION_TYPES)}",
        )

    for key in ("config_flow", "single_config_entry", "import_executor"):
        if key in manifest and not isinstance(manifest[key], bool):
            bad(key, "must be true or false")
    if "disabled" in manifest and not isinstance(manifest["disabled"], str):
        bad("disabled", "must be a string")

    config_flow_file = integration / "config_flow.py"
    if manifest.get("config_flow") is True and not config_flow_file.is_file():
        bad("config_flow", "is true but config_flow.py does not exist")
    if config_flow_file.is_file() and manifest.get("config_flow") is not True:
        bad("config_flow", "must be true because config_flow.py exists (project rule)")

    quality_scale = manifest.get("quality_scale")
    if quality_scale is not None:
        if quality_scale not in QUALITY_SCALES:
            bad(
                "quality_scale",
                f"{quality_scale!r} is not one of {list(QUALITY_SCALES)}",
            )
        elif (
            quality_scale in {"gold", "platinum"}
            and not (integration / "diagnostics.py").is_file()
        ):
            bad(
                "quality_scale",
                f"a {quality_scale} integration must implement diagnostics.py",
            )

    for key in ("requirements", "dependencies", "after_dependencies", "loggers"):
        if key in manifest and not _is_str_list(manifest[key]):
            bad(key, "must be a list of strings")
    if _is_str_list(manifest.get("requirements")):
        problems.extend(_requirement_problems(manifest["requirements"]))

    for key in ("dependencies", "after_dependencies"):
        if _is_str_list(manifest.get(key)) and domain in manifest[key]:
            bad(key, "must not list the integration itself")
    return problems


def _requirement_problems(requirements: list[str]) -> Problems:
    problems: Problems = []
    for requirement in requirements:
        if " " in requirement:
            problems.append(
                f'manifest.json requirement "{requirement}" contains a space'
            )
            continue
        if not (match := RE_REQUIREMENT.match(requirement)):
            problems.append(
                f'manifest.json requirement "{requirement}" does not match the package pattern'
            )
            continue
        package, _, version = match.groups()
        for part in version.split(";", 1)[0].split(","):
            if not part:
                continue
            version_part = RE_VERSION_PART.match(part)
            if (
                version_part
                and AwesomeVersion(version_part.group(2)).strategy
                == AwesomeVersionStrategy.UNKNOWN
            ):
                problems.append(
                    f"manifest.json requirement {requirement!r}: unable to parse the "
                    f"version {version!r} of {package}"
                )
    return problems


def check_json_files(integration: Path) -> Problems:
    """Hassfest's json check: every *.json in the integration parses."""
    if not integration.is_dir():
        return [f"{_rel(integration)} does not exist"]
    problems: Problems = []
    files = sorted(integration.rglob("*.json"))
    if not files:
        problems.append(f"{_rel(integration)} contains no JSON files (manifest.json?)")
    for path in files:
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as err:
            problems.append(f"Invalid JSON file {_rel(path)}: {err}")
    return problems
