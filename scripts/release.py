"""Release helpers, used by .github/workflows/release.yml (and its tests).

    python scripts/release.py check-tag v0.2.0   the tag names manifest.json's version
    python scripts/release.py build dist          the asset hacs.json declares (dist/nezha.zip)
    python scripts/release.py notes 0.2.0         that version's CHANGELOG.md section

(``--root DIR`` before the command works on another checkout; the tests use it.)

A release is the tag ``v<version>`` of a commit whose manifest.json has that
version (semantic versioning, ``MAJOR.MINOR.PATCH``), with a CHANGELOG.md section
``## [<version>] - <date>``. hacs.json declares ``zip_release`` and ``filename``:
HACS and Home Assistant's Marketplace then install the release's ZIP asset of
that name, extracted into ``custom_components/<domain>/``, so the archive holds
the integration's files at its root.
"""

import argparse
from collections.abc import Sequence
import json
from pathlib import Path
import re
import sys
import zipfile

ROOT = Path(__file__).resolve().parent.parent
SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)")
# A fixed timestamp makes the archive depend on the files only (ZIP's epoch is 1980).
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
SKIPPED_PARTS = frozenset({"__pycache__"})
SKIPPED_SUFFIXES = frozenset({".pyc", ".pyo"})


class ReleaseError(Exception):
    """What makes a release impossible, in words for the workflow's log."""


def integration_dir(root: Path = ROOT) -> Path:
    """custom_components/<domain>/ (the repository holds exactly one)."""
    dirs = [
        path
        for path in sorted((root / "custom_components").iterdir())
        if path.is_dir() and not path.name.startswith((".", "__"))
    ]
    if len(dirs) != 1:
        raise ReleaseError(f"custom_components/ must hold one integration: {dirs}")
    return dirs[0]


def manifest_version(root: Path = ROOT) -> str:
    """The integration's version, checked to be MAJOR.MINOR.PATCH."""
    manifest = json.loads((integration_dir(root) / "manifest.json").read_text())
    version = manifest.get("version")
    if not isinstance(version, str) or not SEMVER.fullmatch(version):
        raise ReleaseError(
            f"manifest.json version {version!r} is not MAJOR.MINOR.PATCH"
        )
    return version


def check_tag(tag: str, root: Path = ROOT) -> str:
    """Return the version if ``tag`` is ``v`` + manifest.json's version."""
    version = manifest_version(root)
    if tag != f"v{version}":
        raise ReleaseError(
            f"tag {tag!r} does not match manifest.json's version {version!r}: "
            f"tag v{version}, or change the version in manifest.json first"
        )
    return version


def asset_name(root: Path = ROOT) -> str:
    """The file name hacs.json declares for the release asset."""
    hacs = json.loads((root / "hacs.json").read_text())
    filename = hacs.get("filename")
    if hacs.get("zip_release") is not True or not isinstance(filename, str):
        raise ReleaseError("hacs.json declares no zip_release with a filename")
    if not filename.endswith(".zip") or "/" in filename:
        raise ReleaseError(f"hacs.json filename {filename!r} is not a .zip file name")
    return filename


def release_files(root: Path = ROOT) -> list[Path]:
    """The integration's files, relative to its directory, sorted."""
    base = integration_dir(root)
    return sorted(
        path.relative_to(base)
        for path in base.rglob("*")
        if path.is_file()
        and not SKIPPED_PARTS & set(path.relative_to(base).parts)
        and path.suffix not in SKIPPED_SUFFIXES
    )


def build(out_dir: Path, root: Path = ROOT) -> Path:
    """Write the release asset into ``out_dir`` and return its path.

    The same files always give the same bytes (fixed dates and order).
    """
    base = integration_dir(root)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / asset_name(root)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for relative in release_files(root):
            info = zipfile.ZipInfo(relative.as_posix(), date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, (base / relative).read_bytes())
    return target


def release_notes(version: str, root: Path = ROOT) -> str:
    """The body of CHANGELOG.md's ``## [version]`` section."""
    text = (root / "CHANGELOG.md").read_text()
    match = re.search(
        rf"^## \[{re.escape(version)}\] - \d{{4}}-\d{{2}}-\d{{2}}\n(.*?)(?=^## |^\[|\Z)",
        text,
        re.M | re.S,
    )
    if not match or not match.group(1).strip():
        raise ReleaseError(
            f"CHANGELOG.md has no dated section '## [{version}] - YYYY-MM-DD'"
        )
    return match.group(1).strip() + "\n"


def main(argv: Sequence[str] | None = None, root: Path = ROOT) -> int:
    """Command line entry point; 1 with a message on stderr when it fails."""
    parser = argparse.ArgumentParser(prog="scripts/release.py")
    parser.add_argument(
        "--root", type=Path, default=root, help="the repository (default: this one)"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "check-tag", help="the tag names manifest.json's version"
    ).add_argument("tag")
    sub.add_parser("build", help="build the release asset").add_argument(
        "out_dir", type=Path
    )
    sub.add_parser("notes", help="print a version's CHANGELOG section").add_argument(
        "version"
    )
    args = parser.parse_args(argv)
    root = args.root
    try:
        if args.command == "check-tag":
            print(check_tag(args.tag, root))
        elif args.command == "build":
            print(build(args.out_dir, root))
        else:
            sys.stdout.write(release_notes(args.version, root))
    except ReleaseError as err:
        print(f"release: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
