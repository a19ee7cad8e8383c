"""scripts/release.py: the checks and the asset of .github/workflows/release.yml."""

from collections.abc import Callable
import json
from pathlib import Path
import shutil
import subprocess
import sys
import zipfile

import pytest
import yaml

from scripts import release

ROOT = Path(__file__).parent.parent
type CLI = Callable[..., tuple[int, str, str]]
MANIFEST = "custom_components/nezha/manifest.json"
VERSION = json.loads((ROOT / MANIFEST).read_text())["version"]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """Override the conftest fixture: these tests read and write files only."""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A copy of what the release reads: hacs.json, CHANGELOG.md, the integration."""
    root = tmp_path / "repo"
    shutil.copytree(
        ROOT / "custom_components",
        root / "custom_components",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    for name in ("hacs.json", "CHANGELOG.md"):
        shutil.copy(ROOT / name, root / name)
    return root


def set_version(root: Path, version: object) -> None:
    """Write ``version`` into the copy's manifest.json."""
    path = root / MANIFEST
    manifest = json.loads(path.read_text())
    manifest["version"] = version
    path.write_text(json.dumps(manifest))


def run(root: Path, *args: str) -> tuple[int, str, str]:
    """scripts/release.py as the workflow runs it (a process), on ``root``."""
    proc = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, str(ROOT / "scripts/release.py"), "--root", str(root), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def cli(repo: Path, capsys: pytest.CaptureFixture[str]) -> CLI:
    """release.main on ``repo`` in this process: exit status, stdout, stderr."""

    def call(*args: str) -> tuple[int, str, str]:
        code = release.main(["--root", str(repo), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return call


BAD_TAGS = ["v1.4.3", "1.4.2", "v1.4.2-rc1", "v1.4", "release-1.4.2", "V1.4.2", ""]
BAD_VERSIONS = ["1.4", "01.2.3", "1.2.3-beta", "v1.2.3", 3, None]


@pytest.mark.parametrize(
    ("version", "tag"),
    [*(("1.4.2", tag) for tag in BAD_TAGS), *((v, f"v{v}") for v in BAD_VERSIONS)],
)
def test_check_tag_fails(repo: Path, cli: CLI, version: object, tag: str) -> None:
    """Another tag fails, naming both versions; so does a version not MAJOR.MINOR.PATCH."""
    set_version(repo, version)
    code, out, err = cli("check-tag", tag)
    assert (code, out) == (1, "")
    mismatch = f"tag {tag!r} does not match manifest.json's version '1.4.2'"
    assert (mismatch if version == "1.4.2" else "is not MAJOR.MINOR.PATCH") in err


def test_workflow_steps(repo: Path, cli: CLI, tmp_path: Path) -> None:
    """v<version> is the tag (printed); nezha.zip holds the integration's files, alone."""
    # The release commands as the workflow runs them (processes) on one copy.
    set_version(repo, "1.4.2")
    assert run(repo, "check-tag", "v1.4.2") == (0, "1.4.2\n", "")
    assert run(repo, "check-tag", "v1.4.3")[0] == 1
    # nezha.zip: the integration's files at its root, nothing else, reproducibly.
    (repo / "custom_components/nezha/__pycache__").mkdir()
    (repo / "custom_components/nezha/__pycache__/x.cpython-314.pyc").write_bytes(b"")
    code, out, _ = run(repo, "build", str(tmp_path / "dist"))
    assert code == 0
    asset = Path(out.strip())
    hacs = json.loads((ROOT / "hacs.json").read_text())
    assert hacs["zip_release"] is True
    assert asset == tmp_path / "dist" / hacs["filename"]
    source = repo / "custom_components/nezha"
    expected = sorted(
        p.relative_to(source).as_posix()
        for p in source.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    with zipfile.ZipFile(asset) as archive:
        assert sorted(archive.namelist()) == expected
        assert {"manifest.json", "brand/icon.png"} <= set(expected)
        for name in expected:
            assert archive.read(name) == (source / name).read_bytes()
    # The same files give the same bytes, whatever their dates on disk.
    for path in (repo / "custom_components").rglob("*"):
        path.touch()
    assert release.build(tmp_path / "b", repo).read_bytes() == asset.read_bytes()
    # Without zip_release and filename in hacs.json there is no asset to build.
    (repo / "hacs.json").write_text(json.dumps({"name": "Nezha Monitoring"}))
    code, _, err = cli("build", str(tmp_path / "dist"))
    assert code == 1
    assert "hacs.json declares no zip_release with a filename" in err


def test_notes_are_the_changelog_section(cli: CLI) -> None:
    """The notes are the version's CHANGELOG.md section without heading; none: no release."""
    code, out, _ = cli("notes", VERSION)
    assert code == 0
    assert out.strip()
    assert not out.startswith("## ")
    assert "## [" not in out
    assert out.strip() in (ROOT / "CHANGELOG.md").read_text()
    code, _, err = cli("notes", "9.9.9")
    assert code == 1
    assert "CHANGELOG.md has no dated section '## [9.9.9] - YYYY-MM-DD'" in err


def test_changelog_follows_keep_a_changelog() -> None:
    """Unreleased first, then dated versions newest first (the manifest's), with links."""
    text = (ROOT / "CHANGELOG.md").read_text()
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings[0] == "## [Unreleased]"
    versions = [h.split("]")[0].removeprefix("## [") for h in headings[1:]]
    assert versions, "no released version"
    # manifest.json names the newest release (MAJOR.MINOR.PATCH, the README's
    # policy) until the next release commit.
    assert versions[0] == release.manifest_version(ROOT) == VERSION
    keys = [tuple(int(part) for part in v.split(".")) for v in versions]
    assert keys == sorted(keys, reverse=True)
    for version in ["Unreleased", *versions]:
        assert f"\n[{version}]: https://github.com/nezha-ha/ha-nezha/" in text


def test_release_workflow_uses_these_checks() -> None:
    """release.yml runs on v* tags, after the gates, and through scripts/release.py."""
    workflow = yaml.safe_load((ROOT / ".github/workflows/release.yml").read_text())
    # PyYAML reads the key "on" as True.
    assert workflow[True] == {"push": {"tags": ["v*"]}}
    jobs = workflow["jobs"]
    assert jobs["tests"]["uses"] == "./.github/workflows/tests.yml"
    assert set(jobs["release"]["needs"]) == {"check", "tests"}
    scripts = "\n".join(
        step.get("run", "")
        for job in ("check", "release")
        for step in jobs[job]["steps"]
    )
    for command in ("check-tag", "notes", "build"):
        assert f"python scripts/release.py {command}" in scripts
    tests = yaml.safe_load((ROOT / ".github/workflows/tests.yml").read_text())
    assert "workflow_call" in tests[True]
