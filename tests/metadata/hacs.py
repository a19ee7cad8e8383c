"""What the HACS action checks: hacs.json, README, LICENSE, repository layout, brand."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
import re
import struct

from awesomeversion import AwesomeVersion, AwesomeVersionStrategy

from .common import Problems, _is_str_list, _load_json, _rel, _words

HACS_BOOL_KEYS = _words("content_in_root hide_default_branch render_readme zip_release")
HACS_STR_KEYS = _words("name filename hacs homeassistant persistent_directory")
HACS_KEYS = frozenset((*HACS_BOOL_KEYS, *HACS_STR_KEYS, "country"))
README_NAMES = frozenset(_words("readme readme.md info info.md"))
LICENSE_NAMES = frozenset(
    _words("license license.md license.txt licence copying copying.md")
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
    if (data := _load_json(repo / "hacs.json", problems)) is None:
        return problems
    if not isinstance(data, dict):
        return ["hacs.json must contain a JSON object"]
    if unknown := sorted(set(data) - HACS_KEYS):
        problems.append(f"extra keys not allowed: {', '.join(unknown)}")
    if "name" not in data:
        problems.append("'name' is required")
    problems.extend(
        f"'{key}' must be a string, got {type(data[key]).__name__}"
        for key in sorted(set(HACS_STR_KEYS) & set(data))
        if not isinstance(data[key], str)
    )
    problems.extend(
        f"expected bool for '{key}', got {data[key]!r}"
        for key in sorted(set(HACS_BOOL_KEYS) & set(data))
        if not isinstance(data[key], bool)
    )
    problems.extend(
        f"'{key}' {value!r} is not a valid version"
        for key in ("homeassistant", "hacs")
        if isinstance(value := data.get(key), str)
        and AwesomeVersion(value).strategy == AwesomeVersionStrategy.UNKNOWN
    )
    codes = (
        [data["country"]]
        if isinstance(data.get("country"), str)
        else data.get("country", [])
    )
    if not _is_str_list(codes) or not all(
        re.fullmatch(r"[A-Za-z]{2}|ALL", c) for c in codes
    ):
        problems.append("'country' must be an ISO code or a list of them")
    if data.get("zip_release") is True and "filename" not in data:
        problems.append("'zip_release' needs 'filename'")
    if data.get("content_in_root") is True:
        problems.append(
            "'content_in_root' must not be true; the integration lives in "
            "custom_components/ (project rule)"
        )
    return [f"hacs.json: {problem}" for problem in problems]


def _root_file(names: frozenset[str], problem: str) -> Callable[[Path], Problems]:
    """A check that the repository root holds a file named one of ``names``."""

    def check(repo: Path) -> Problems:
        files = (path.name.lower() for path in repo.iterdir() if path.is_file())
        return [] if any(name in names for name in files) else [problem]

    return check


# The HACS action's information check: a README or info file at the root.
check_readme = _root_file(
    README_NAMES, "no README.md (or readme/info/info.md) at the repository root"
)
# The local part of the HACS action's license check: a LICENSE file exists.
check_license = _root_file(
    LICENSE_NAMES,
    "no LICENSE file at the repository root; the HACS action's 'license' "
    "check needs a GitHub-detected, OSI-approved license",
)


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
    if not (icon := brand / "icon.png").is_file():
        return [f"{_rel(icon)} does not exist (HACS 'brands' check: a 256x256 PNG)"]
    problems: Problems = []
    for path in sorted(brand.iterdir()):
        name = path.name
        if name not in BRAND_IMAGES:
            allowed = ", ".join(sorted(BRAND_IMAGES))
            problems.append(
                f"brand/{name} is not an allowed brand image name ({allowed})"
            )
        elif isinstance(size := _png_size(path), str):
            problems.append(f"brand/{name} {size}")
        else:
            width, height = size
            scale = 2 if "@2x" in name else 1
            low, high = 128 * scale, 256 * scale
            if "icon" in name and size != (high, high):
                problems.append(
                    f"brand/{name} is {width}x{height}, must be {high}x{high}"
                )
            elif "icon" not in name and not low <= min(size) <= high:
                problems.append(
                    f"brand/{name} is {width}x{height}; a logo's shortest side must be "
                    f"{low}-{high} px"
                )
    return problems
