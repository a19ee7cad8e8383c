"""Home Assistant's Marketplace (2026.11+) adds and installs this repository, offline."""

import base64
from collections.abc import AsyncIterator
import filecmp
import json
import logging
from pathlib import Path
import re
import shutil
import subprocess
from types import SimpleNamespace
from typing import Any

import aiohttp
from aiohttp import web
from awesomeversion import AwesomeVersion
from homeassistant.const import __version__
import pytest

if AwesomeVersion(__version__) < AwesomeVersion("2026.11.0"):
    pytest.skip(
        f"Home Assistant {__version__} has no Marketplace", allow_module_level=True
    )

from homeassistant import loader
from homeassistant.components.lovelace.const import LOVELACE_DATA
from homeassistant.components.marketplace import base as marketplace_base, profiles
from homeassistant.components.marketplace.base import MarketplaceManager
from homeassistant.components.marketplace.const import CONF_PROFILE
from homeassistant.components.marketplace.enums import RepositoryCategory
from homeassistant.components.marketplace.exceptions import MarketplaceError
from homeassistant.components.marketplace.utils.validate import (
    REPOSITORY_MANIFEST_VALUES,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from scripts import release

ROOT = Path(__file__).resolve().parents[2]
REPOSITORY = "nezha-ha/ha-nezha"
DEFAULT_BRANCH = "main"
HACS = json.loads((ROOT / "hacs.json").read_text())
MANIFEST = json.loads((ROOT / "custom_components/nezha/manifest.json").read_text())
TAG = f"v{MANIFEST['version']}"
# hacs.json keys for HACS alone: the Marketplace always shows the README.
HACS_ONLY_KEYS = {"render_readme"}


@pytest.fixture(autouse=True)
def _sockets(socket_enabled: None) -> None:
    """The stand-in for GitHub listens on 127.0.0.1."""


# ------------------------------------------------------------ the stand-in GitHub


def tracked_files() -> list[str]:
    """The files a clone of this repository has (git's index, as on GitHub)."""
    git = shutil.which("git")
    assert git, "git is needed to list the repository's files"
    out = subprocess.run(  # noqa: S603 - a fixed git command
        [git, "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    return sorted(path for path in out.split("\0") if path and (ROOT / path).is_file())


def git_tree(files: list[str]) -> list[dict[str, Any]]:
    """GitHub's recursive tree: every directory and file, as ``git/trees`` lists them."""
    entries: dict[str, str] = {}
    for path in files:
        parts = path.split("/")
        for depth in range(1, len(parts)):
            entries.setdefault("/".join(parts[:depth]), "tree")
        entries[path] = "blob"
    return [
        {"path": path, "mode": "040000" if kind == "tree" else "100644",
         "type": kind, "sha": f"{index:040x}", "url": ""}
        for index, (path, kind) in enumerate(sorted(entries.items()))
    ]  # fmt: skip


class FakeGitHub:
    """GitHub's REST API, raw file host and release downloads for one repository."""

    def __init__(self, asset: Path, hidden: frozenset[str] = frozenset()) -> None:
        """Serve this checkout (less ``hidden``) as the default branch and ``TAG``."""
        self.files = [path for path in tracked_files() if path not in hidden]
        self.asset = asset
        self.url = ""
        self.requests: list[str] = []
        self.app = web.Application(middlewares=[self._record])
        repo = f"/repos/{REPOSITORY}"
        routes = self.app.router
        routes.add_get(repo, self.repository)
        routes.add_get(f"{repo}/releases", self.releases)
        routes.add_get(f"{repo}/git/trees/{{ref:.+}}", self.tree)
        routes.add_get(f"{repo}/contents/{{path:.+}}", self.contents)
        routes.add_get(f"/raw/{REPOSITORY}/{{ref}}/{{path:.+}}", self.raw)
        routes.add_get(f"/{REPOSITORY}/releases/download/{TAG}/{asset.name}", self.zip)

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append(request.path_qs)
        return await handler(request)

    def profile(self) -> profiles.DownloadProfile:
        """A Marketplace download profile that sends everything here."""
        return profiles.DownloadProfile(
            id="nezha-test",
            operator="the Nezha tests",
            api=self.url,
            github=self.url,
            raw=f"{self.url}/raw",
            catalog=f"{self.url}/catalog",
        )

    def _file(self, path: str) -> bytes:
        if path not in self.files:
            raise web.HTTPNotFound
        return (ROOT / path).read_bytes()

    async def repository(self, request: web.Request) -> web.Response:
        owner, name = REPOSITORY.split("/")
        return web.json_response(
            {"id": 1234567, "name": name, "full_name": REPOSITORY,
             "default_branch": DEFAULT_BRANCH, "archived": False,
             "description": "Nezha Monitoring for Home Assistant",
             "pushed_at": "2026-11-29T20:12:08Z", "stargazers_count": 1,
             "open_issues_count": 0, "topics": ["home-assistant", "nezha"],
             "owner": {"login": owner}}
        )  # fmt: skip

    def _release(self) -> dict[str, Any]:
        name = self.asset.name
        url = f"{self.url}/{REPOSITORY}/releases/download/{TAG}/{name}"
        asset = {"name": name, "size": self.asset.stat().st_size,
                 "download_count": 0, "browser_download_url": url}  # fmt: skip
        return {"id": 1, "tag_name": TAG, "name": TAG, "prerelease": False,
                "draft": False, "published_at": "2026-12-03T00:00:00Z", "body": "",
                "assets": [asset]}  # fmt: skip

    async def releases(self, request: web.Request) -> web.Response:
        return web.json_response([self._release()])

    async def tree(self, request: web.Request) -> web.Response:
        if request.match_info["ref"] not in {TAG, DEFAULT_BRANCH}:
            raise web.HTTPNotFound
        return web.json_response(
            {"sha": "0" * 40, "tree": git_tree(self.files), "truncated": False}
        )

    async def contents(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        content = base64.b64encode(self._file(path)).decode()
        return web.json_response(
            {"type": "file", "path": path, "encoding": "base64", "content": content}
        )

    async def raw(self, request: web.Request) -> web.Response:
        return web.Response(body=self._file(request.match_info["path"]))

    async def zip(self, request: web.Request) -> web.Response:
        return web.Response(body=self.asset.read_bytes())


# ------------------------------------------------------------- the Marketplace


def files_below(directory: Path) -> list[Path]:
    """The files below ``directory``, relative to it, sorted ([] if it is absent)."""
    return sorted(p.relative_to(directory) for p in directory.rglob("*") if p.is_file())


@pytest.fixture
async def bare_hass(tmp_path: Path) -> AsyncIterator[HomeAssistant]:
    """A bare Home Assistant on an empty config dir (no integration set up)."""
    # Not PHCC's hass (.venv-new has no PHCC); the Marketplace needs little more.
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    instance = HomeAssistant(str(config_dir))
    instance.config.config_dir = str(config_dir)
    loader.async_setup(instance)
    await ir.async_load(instance)
    # The Marketplace reads the dashboards' resource mode at construction.
    instance.data[LOVELACE_DATA] = SimpleNamespace(resource_mode="storage")  # type: ignore[assignment]
    try:
        yield instance
    finally:
        await instance.async_stop(force=True)


@pytest.fixture
async def github(
    tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[FakeGitHub]:
    """The stand-in GitHub serving this checkout (less the files of an indirect param)."""
    hidden = getattr(request, "param", frozenset())
    fake = FakeGitHub(release.build(tmp_path / "dist", ROOT), hidden)
    runner = web.AppRunner(fake.app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    fake.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield fake
    await runner.cleanup()


@pytest.fixture
async def marketplace(
    bare_hass: HomeAssistant, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[MarketplaceManager]:
    """The real MarketplaceManager of ``bare_hass``, its download profile ``github``."""
    profile = github.profile()
    monkeypatch.setitem(profiles.PROFILES, profile.id, profile)
    entry = SimpleNamespace(options={CONF_PROFILE: profile.id}, data={})
    async with aiohttp.ClientSession() as session:
        # A plain session: HA's shared one needs the network integration (not set up).
        monkeypatch.setattr(
            marketplace_base, "async_get_clientsession", lambda _: session
        )
        manager = MarketplaceManager(bare_hass, entry)  # type: ignore[arg-type]
        assert manager.configuration.profile is profile
        manager.enable_category(RepositoryCategory.INTEGRATION)
        manager.status.startup = False  # log validation errors, as after startup
        yield manager


async def test_marketplace_adds_and_installs_a_release(
    bare_hass: HomeAssistant,
    marketplace: MarketplaceManager,
    github: FakeGitHub,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Custom repository, category detection, checks and a release install."""
    caplog.set_level(logging.DEBUG, "homeassistant.components.marketplace")

    # "Add from link": the Marketplace finds one kind of content, an integration.
    assert await marketplace.async_detect_categories(REPOSITORY) == [
        RepositoryCategory.INTEGRATION
    ]
    # Its checks of an integration repository (hacs.json, layout, manifest.json).
    errors = await marketplace.async_register_repository(
        REPOSITORY, RepositoryCategory.INTEGRATION
    )
    assert errors is None, [str(error) for error in errors or []]
    repository = marketplace.repositories.get_by_full_name(REPOSITORY)
    assert repository is not None
    assert repository.validate.success
    assert repository.data.domain == MANIFEST["domain"]
    assert repository.data.manifest_name == MANIFEST["name"]
    assert repository.data.config_flow is True
    assert repository.data.authors == MANIFEST["codeowners"]
    assert repository.data.last_version == TAG
    assert repository.content.path.remote == "custom_components/nezha"
    # hacs.json as the Marketplace parsed it: every key it reads keeps our value (its
    # parser keeps the valid values that differ from its defaults; zip_release and
    # filename included), and it reads all keys but HACS_ONLY_KEYS.
    assert repository.repository_manifest.to_dict()["manifest"] == {
        k: v for k, v in HACS.items() if k not in HACS_ONLY_KEYS
    }
    assert set(HACS) - set(REPOSITORY_MANIFEST_VALUES) == HACS_ONLY_KEYS
    assert repository.can_install
    assert not await repository.async_replaces_built_in()
    # hacs.json's minimum is what the Marketplace enforces (negative control).
    running, year = marketplace.version, int(HACS["homeassistant"].split(".")[0])
    marketplace.version = AwesomeVersion(f"{year - 1}.12.0")
    assert not repository.can_install
    marketplace.version = AwesomeVersion(HACS["homeassistant"])
    assert repository.can_install
    marketplace.version = running

    # The release, as the Marketplace installs it: the ZIP asset hacs.json names,
    # extracted into custom_components/nezha, then checked to be loadable.
    await repository.async_install_repository(ref=TAG)
    installed = Path(bare_hass.config.path("custom_components", "nezha"))
    assert repository.data.installed
    assert repository.data.installed_version == TAG
    # A first install of a config-flow integration needs no restart.
    assert not repository.pending_restart
    source = ROOT / "custom_components" / "nezha"
    assert files_below(installed) == release.release_files(ROOT)
    for relative in release.release_files(ROOT):
        assert filecmp.cmp(installed / relative, source / relative, shallow=False)
    assert f"/{REPOSITORY}/releases/download/{TAG}/nezha.zip" in github.requests
    assert marketplace_warnings(caplog) == []


# async_detect_categories copies the parsed manifest through to_dict/from_dict,
# which re-validates the keys hacs.json left unset as None and warns about them
# (Home Assistant 2026.11.0, for every repository): not about our file.
UNSET_KEY_WARNING = re.compile(r"Ignoring (\w+) in hacs\.json, None is not valid")


def marketplace_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The Marketplace's warnings and errors (hacs.json's included), but for the quirk."""
    return [
        message
        for record in caplog.records
        if record.levelno >= logging.WARNING
        and record.name.startswith("homeassistant.components.marketplace")
        and not (
            (unset := UNSET_KEY_WARNING.fullmatch(message := record.getMessage()))
            and unset.group(1) not in HACS
        )
    ]


@pytest.mark.parametrize("github", [frozenset({"hacs.json"})], indirect=True)
async def test_marketplace_refuses_a_repository_without_hacs_json(
    marketplace: MarketplaceManager,
) -> None:
    """The checks that pass above do fail a broken layout (negative control)."""
    errors = await marketplace.async_register_repository(
        REPOSITORY, RepositoryCategory.INTEGRATION
    )
    assert errors
    assert [error.translation_key for error in errors] == [
        "repository_manifest_not_in_root"
    ]


async def test_marketplace_refuses_an_asset_without_a_version(
    bare_hass: HomeAssistant,
    marketplace: MarketplaceManager,
    github: FakeGitHub,
    tmp_path: Path,
) -> None:
    """An asset whose manifest.json has no version is not installed."""
    broken, nezha = tmp_path / "broken", "custom_components/nezha"
    shutil.copytree(ROOT / nezha, broken / nezha)
    shutil.copy(ROOT / "hacs.json", broken / "hacs.json")
    manifest = {k: v for k, v in MANIFEST.items() if k != "version"}
    (broken / nezha / "manifest.json").write_text(json.dumps(manifest))
    github.asset = release.build(tmp_path / "broken-dist", broken)
    await marketplace.async_register_repository(
        REPOSITORY, RepositoryCategory.INTEGRATION
    )
    repository = marketplace.repositories.get_by_full_name(REPOSITORY)
    assert repository is not None
    with pytest.raises(MarketplaceError) as raised:
        await repository.async_install_repository(ref=TAG)
    assert raised.value.translation_key == "installed_manifest_without_version"
    assert not repository.data.installed
    assert files_below(Path(bare_hass.config.path("custom_components"))) == []
