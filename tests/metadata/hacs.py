"""What the HACS action checks: hacs.json, README, LICENSE, repository layout, brand."""

from __future__ import annotations

from pathlib import Path
import re
import struct

from awesomeversion import AwesomeVersion, AwesomeVersionStrategy

from .common import Problems, _is_str_list, _load_json, _rel

HACS_BOOL_KEYS = frozenset(
    {"content_in_root", "hide_default_branch", "render_readme", "zip_release"}
)
HACS_STR_KEYS = frozenset(
    {"name", "filename", "hacs", "homeassistant", "persistent_directory"}
)
HACS_KEYS = HACS_BOOL_KEYS | HACS_STR_KEYS | {"country"}
README_NAMES = frozenset({"readme", "readme.md", "info", "info.md"})
LICENSE_NAMES = frozenset(
    {"license", "license.md", "license.txt", "licence", "copying", "copying.md"}
)


# --------------------------------------------------------------------------- brand

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BRAND_IMAGES = frozenset(
    f"{dark}{kind}{size}.png"
    for dark in ("", "dark_")
    for kind in ("icon", "logo")
    for size in ("", "@2x")
)


def _png_size(path: Path) -> tuple[int, int] | str:
    """Return (width, height) from a PNG's IHDR chunk, or a problem string."""
    with path.open("rb") as file:
        header = file.read(24)
    if len(header) < 24 or header[:8] != PNG_SIGNATURE:
        return "is not a PNG file (bad signature)"
    if header[12:16] != b"IHDR":
        return "is not a valid PNG file (first chunk is not IHDR)"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def check_hacs_json(repo: Path) -> Problems:
    """The HACS action's hacsjson check (schema with PREVENT_EXTRA)."""
    problems: Problems = []
    data = _load_json(repo / "hacs.json", problems)
    if data is None:
        return problems
    if not isinstance(data, dict):
        return ["hacs.json must contain a JSON object"]
    if unknown := sorted(set(data) - HACS_KEYS):
        problems.append(f"hacs.json: extra keys not allowed: {', '.join(unknown)}")
    if "name" not in data:
        problems.append("hacs.json: 'name' is required")
    for key in sorted(HACS_STR_KEYS & set(data)):
        if not isinstance(data[key], str):
            problems.append(
                f"hacs.json: '{key}' must be a string, got {type(data[key]).__name__}"
            )
    for key in sorted(HACS_BOOL_KEYS & set(data)):
        if not isinstance(data[key], bool):
            problems.append(f"hacs.json: expected bool for '{key}', got {data[key]!r}")
    for key in ("homeassistant", "hacs"):
        value = data.get(key)
        if isinstance(value, str) and AwesomeVersion(value).strategy == (
            AwesomeVersionStrategy.UNKNOWN
        ):
            problems.append(f"hacs.json: '{key}' {value!r} is not a valid version")
    if "country" in data:
        country = data["country"]
        codes = [country] if isinstance(country, str) else country
        if not _is_str_list(codes) or not all(
            re.fullmatch(r"[A-Za-z]{2}|ALL", code) for code in codes
        ):
            problems.append(
                "hacs.json: 'country' must be an ISO code or a list of them"
            )
    if data.get("zip_release") is True and "filename" not in data:
        problems.append("hacs.json: 'zip_release' needs 'filename'")
    if data.get("content_in_root") is True:
        problems.append(
            "hacs.json: 'content_in_root' must not be true; the integration lives in "
            "custom_components/ (project rule)"
        )
    return problems


def _has_root_file(repo: Path, names: frozenset[str]) -> bool:
    return any(path.name.lower() in names for path in repo.iterdir() if path.is_file())


def check_readme(repo: Path) -> Problems:
    """The HACS action's information check: a README or info file at the root."""
    if _has_root_file(repo, README_NAMES):
        return []
    return ["no README.md (or readme/info/info.md) at the repository root"]


def check_license(repo: Path) -> Problems:
    """The local part of the HACS action's license check: a LICENSE file exists."""
    if _has_root_file(repo, LICENSE_NAMES):
        return []
    return [
        (
            "no LICENSE file at the repository root; the HACS action's 'license' "
            "check needs a GitHub-detected, OSI-approved license"
        )
    ]


def check_single_integration(repo: Path) -> Problems:
    """HACS uses the first directory under custom_components/: there must be one."""
    base = repo / "custom_components"
    if not base.is_dir():
        return ["custom_components/ does not exist"]
    dirs = sorted(
        path.name
        for path in base.iterdir()
        if path.is_dir() and not path.name.startswith((".", "__"))
    )
    if len(dirs) != 1:
        return [f"custom_components/ must hold exactly one integration, found {dirs}"]
    return []


def check_brand(integration: Path) -> Problems:
    """HACS brands check (brand/icon.png) and the brand image rules of HA 2026.3+."""
    brand = integration / "brand"
    if not (brand / "icon.png").is_file():
        return [
            (
                f"{_rel(brand / 'icon.png')} does not exist (HACS 'brands' check: a "
                "256x256 PNG is needed)"
            )
        ]
    problems: Problems = []
    for path in sorted(brand.iterdir()):
        name = path.name
        if name not in BRAND_IMAGES:
            problems.append(
                f"brand/{name} is not an allowed brand image name "
                f"({', '.join(sorted(BRAND_IMAGES))})"
            )
            continue
        size = _png_size(path)
        if isinstance(size, str):
            problems.append(f"brand/{name} {size}")
            continue
        width, height = size
        scale = 2 if "@2x" in name else 1
        if "icon" in name:
            expected = 256 * scale
            if (width, height) != (expected, expected):
                problems.append(
                    f"brand/{name} is {width}x{height}, must be {expected}x{expected}"
                )
        elif not 128 * scale <= min(width, height) <= 256 * scale:
            problems.append(
                f"brand/{name} is {width}x{height}; a logo's shortest side must be "
                f"{128 * scale}-{256 * scale} px"
            )
    return problems
