"""Headless Chromium driven over the Chrome DevTools Protocol (CDP), with aiohttp.

Debian's ``chromium`` package (``apt-get install chromium``; ``scripts/test`` and
``scripts/screenshots`` install it when absent). No WebDriver, no Playwright: a
few CDP commands over the browser's DevTools WebSocket are all that is needed to
log in to Home Assistant, wait for a page to render and take a screenshot.

Home Assistant's frontend renders into nested shadow roots, so the page checks
below walk every shadow root (:data:`INSPECT_JS`).
"""

import asyncio
import base64
from collections.abc import AsyncIterator
import contextlib
import itertools
import json
import os
from pathlib import Path
import shutil
import signal
import subprocess
import time
from typing import Any

import aiohttp

# The flags of the environment's documented headless set-up: no GPU, no sandbox
# (we run as root), and no background traffic to Google's hosts (no network here).
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)

# A summary of what the frontend shows, across all shadow roots: the custom
# elements by tag, the texts of warning/error cards and whether the login page or
# a loading spinner is visible.
INSPECT_JS = """
(() => {
  const tags = {};
  const warnings = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll("*")) {
      const tag = el.localName;
      if (tag.includes("-")) tags[tag] = (tags[tag] || 0) + 1;
      if (tag === "hui-warning" || tag === "hui-warning-element"
          || tag === "hui-error-card") {
        warnings.push((el.textContent || "").replace(/\\s+/g, " ").trim());
      }
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(document);
  return {
    url: location.href,
    tags,
    warnings,
    login: location.pathname.startsWith("/auth/") || !!tags["ha-authorize"],
  };
})()
"""


class BrowserError(Exception):
    """Chromium could not be started or driven."""


def find_chromium() -> str | None:
    """Path of the Chromium binary (``$CHROMIUM`` overrides), or None."""
    if candidate := os.environ.get("CHROMIUM"):
        return candidate
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


class CDPConnection:
    """One DevTools WebSocket; commands of page sessions are multiplexed on it."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Start reading answers from ``ws``."""
        self._ws = ws
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.create_task(self._read(), name="cdp reader")

    async def _read(self) -> None:
        try:
            async for message in self._ws:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    break
                data = json.loads(message.data)
                future = self._pending.pop(data.get("id", -1), None)
                if future is not None and not future.done():
                    future.set_result(data)
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(BrowserError("DevTools connection closed"))
            self._pending.clear()

    async def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session_id: str | None = None,
        within: float = 60,
    ) -> dict[str, Any]:
        """Run a CDP command and return its result."""
        message_id = next(self._ids)
        message: dict[str, Any] = {"id": message_id, "method": method}
        if params:
            message["params"] = params
        if session_id:
            message["sessionId"] = session_id
        future: asyncio.Future[dict[str, Any]] = (
            asyncio.get_running_loop().create_future()
        )
        self._pending[message_id] = future
        await self._ws.send_str(json.dumps(message))
        answer = await asyncio.wait_for(future, within)
        if "error" in answer:
            raise BrowserError(f"{method}: {answer['error']}")
        result: dict[str, Any] = answer.get("result", {})
        return result

    async def close(self) -> None:
        """Close the connection and stop reading."""
        await self._ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


class Page:
    """A browser tab."""

    def __init__(self, cdp: CDPConnection, session_id: str) -> None:
        """Wrap an attached target session."""
        self._cdp = cdp
        self._session = session_id

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Run a CDP command in this tab."""
        return await self._cdp.send(method, params, self._session)

    async def set_viewport(self, width: int, height: int, scale: float = 1) -> None:
        """Emulate a window of this size."""
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=scale,
            mobile=False,
        )

    async def navigate(self, url: str) -> None:
        """Open ``url`` (returns once the navigation is committed)."""
        result = await self.send("Page.navigate", url=url)
        if result.get("errorText"):
            raise BrowserError(f"navigating to {url}: {result['errorText']}")

    async def evaluate(self, expression: str) -> Any:
        """Evaluate JavaScript (promises are awaited) and return its JSON value."""
        result = await self.send(
            "Runtime.evaluate",
            expression=expression,
            returnByValue=True,
            awaitPromise=True,
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"JavaScript error: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    async def inspect(self) -> dict[str, Any]:
        """What the frontend shows (see :data:`INSPECT_JS`)."""
        info: dict[str, Any] = await self.evaluate(INSPECT_JS)
        return info

    async def wait_for(
        self, what: str, expression: str, within: float = 60, interval: float = 0.5
    ) -> Any:
        """Poll a JavaScript expression until it is truthy; return its value."""
        deadline = time.monotonic() + within
        while True:
            with contextlib.suppress(BrowserError):  # e.g. during a navigation
                if value := await self.evaluate(expression):
                    return value
            if time.monotonic() > deadline:
                info = await self.inspect()
                raise BrowserError(
                    f"timed out after {within} s waiting for {what}; page "
                    f"{info['url']}, warnings {info['warnings']}, "
                    f"login page {info['login']}"
                )
            await asyncio.sleep(interval)

    async def screenshot(self, path: Path) -> None:
        """Save the viewport as a PNG."""
        result = await self.send("Page.captureScreenshot", format="png")
        data = base64.b64decode(result["data"])
        await asyncio.to_thread(_write, path, data)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


class Chromium:
    """A headless Chromium process with its own empty profile."""

    def __init__(self, workdir: Path) -> None:
        """Describe the browser; :meth:`start` runs it."""
        binary = find_chromium()
        if binary is None:
            raise BrowserError(
                "Chromium is not installed; as root: apt-get update && "
                "apt-get install -y chromium (scripts/test and scripts/screenshots "
                "do this when absent)"
            )
        self.binary = binary
        self.profile = workdir / "chromium-profile"
        self.log_path = workdir / "chromium.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> str:
        """Start Chromium; return the browser's DevTools WebSocket URL."""
        self.profile.mkdir(parents=True, exist_ok=True)
        port_file = self.profile / "DevToolsActivePort"
        port_file.unlink(missing_ok=True)
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(  # noqa: S603 - our own argv
                [
                    self.binary,
                    *CHROMIUM_FLAGS,
                    f"--user-data-dir={self.profile}",
                    "about:blank",
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise BrowserError(
                    f"Chromium exited with status {self._proc.returncode}; "
                    f"see {self.log_path}"
                )
            lines = port_file.read_text().split() if port_file.exists() else []
            if len(lines) == 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
            time.sleep(0.1)
        raise BrowserError(f"Chromium did not open DevTools; see {self.log_path}")

    def stop(self) -> None:
        """Stop Chromium and every process of its group."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)


@contextlib.asynccontextmanager
async def open_browser(
    session: aiohttp.ClientSession, workdir: Path
) -> AsyncIterator[CDPConnection]:
    """Start Chromium and connect to it; stop it on exit."""
    chromium = Chromium(workdir)
    try:
        ws_url = await asyncio.to_thread(chromium.start)
        ws = await session.ws_connect(ws_url, max_msg_size=0)
        cdp = CDPConnection(ws)
        try:
            yield cdp
        finally:
            await cdp.close()
    finally:
        await asyncio.to_thread(chromium.stop)


async def new_page(cdp: CDPConnection, width: int = 1280, height: int = 900) -> Page:
    """Open a tab with a ``width`` x ``height`` viewport."""
    target = await cdp.send("Target.createTarget", {"url": "about:blank"})
    attached = await cdp.send(
        "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
    )
    page = Page(cdp, attached["sessionId"])
    await page.send("Page.enable")
    await page.send("Runtime.enable")
    await page.set_viewport(width, height)
    return page


async def log_in(page: Page, hass_url: str, tokens_json: str) -> None:
    """Log the frontend in by storing tokens where it keeps them (``hassTokens``).

    ``tokens_json`` comes from :meth:`Tokens.local_storage`; the tokens must have
    been issued for the client id ``hass_url + "/"`` (the frontend's own), so that
    the frontend can refresh them.
    """
    await page.navigate(f"{hass_url}/auth/authorize")
    await page.wait_for("the login page", "document.readyState === 'complete'")
    await page.evaluate(
        f"localStorage.setItem('hassTokens', {json.dumps(tokens_json)})"
    )


# JavaScript for :meth:`Page.evaluate` and :meth:`Page.wait_for` ----------------------
#
# Each function below returns an expression. The frontend renders into nested shadow
# roots, which ``querySelectorAll`` does not enter: every script walks them itself.


def _call(function: str, *args: Any) -> str:
    """An expression that calls the JavaScript ``function`` with JSON arguments."""
    return f"({function.strip()})({', '.join(json.dumps(arg) for arg in args)})"


# Truthy once the page shows a warning or error card (for negative controls).
WARNINGS_SHOWN_JS = f"({INSPECT_JS.strip()}).warnings.length > 0"

_READY = """
(want) => {
  const tags = {};
  let charts = 0, loading = 0;
  const walk = (root, inGraph) => {
    for (const el of root.querySelectorAll("*")) {
      const tag = el.localName;
      tags[tag] = (tags[tag] || 0) + 1;
      const graph = inGraph || tag === "hui-history-graph-card";
      if (graph && tag === "ha-chart-base") charts++;
      if (graph && (tag === "ha-spinner" || tag === "ha-circular-progress")) loading++;
      if (el.shadowRoot) walk(el.shadowRoot, graph);
    }
  };
  walk(document, false);
  const missing = Object.entries(want).filter(([tag, n]) => (tags[tag] || 0) < n);
  const graphs = tags["hui-history-graph-card"] || 0;
  return missing.length === 0 && charts >= graphs && loading === 0 ? tags : null;
}
"""


def card_tags(config: dict[str, Any]) -> dict[str, int]:
    """How many elements of each card type a Lovelace config renders.

    A card of type ``gauge`` is the custom element ``hui-gauge-card``, and so on.
    """
    counts: dict[str, int] = {}

    def walk(cards: list[dict[str, Any]]) -> None:
        for card in cards:
            tag = f"hui-{card['type']}-card"
            counts[tag] = counts.get(tag, 0) + 1
            walk(card.get("cards", []))

    for view in config.get("views", []):
        walk(view.get("cards", []))
        for section in view.get("sections", []):
            walk(section.get("cards", []))
    return counts


def dashboard_ready_js(config: dict[str, Any]) -> str:
    """Truthy (the element counts by tag) once every card of ``config`` is rendered
    and every history graph has drawn its chart."""
    return _call(_READY, card_tags(config))


_TEXT_SHOWN = """
(texts) => {
  const parts = [];
  const walk = (root) => {
    const it = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
    for (let node = it.currentNode; node; node = it.nextNode()) {
      if (node.nodeType === Node.TEXT_NODE) parts.push(node.data);
      else if (node.shadowRoot) walk(node.shadowRoot);
    }
  };
  walk(document);
  const text = parts.join(" ").replace(/\\s+/g, " ");
  return texts.every((t) => text.includes(t));
}
"""


def text_shown_js(*texts: str) -> str:
    """Truthy once every one of ``texts`` is somewhere on the page."""
    return _call(_TEXT_SHOWN, list(texts))


_CLICK_BUTTON = """
(label) => {
  const walk = (root) => {
    for (const el of root.querySelectorAll("ha-button, mwc-button, button")) {
      if ((el.textContent || "").trim() === label && el.getClientRects().length > 0) {
        el.click();
        return true;
      }
    }
    for (const el of root.querySelectorAll("*")) {
      if (el.shadowRoot && walk(el.shadowRoot)) return true;
    }
    return false;
  };
  return walk(document);
}
"""


def click_button_js(label: str) -> str:
    """Click the first visible button labelled ``label``; truthy if one was found."""
    return _call(_CLICK_BUTTON, label)


_TEXT_INPUTS = """
(hostTag) => {
  const find = (root) => {
    for (const el of root.querySelectorAll("*")) {
      if (el.localName === hostTag) return el;
      const inner = el.shadowRoot && find(el.shadowRoot);
      if (inner) return inner;
    }
    return null;
  };
  const found = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll("*")) {
      if (el.localName === "input" && ["text", "url", "password"].includes(el.type)) {
        const r = el.getBoundingClientRect();
        if (r.width > 0 && r.height > 0) found.push([r.x + r.width / 2, r.y + r.height / 2]);
      }
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  const host = find(document);
  if (host) walk(host.shadowRoot || host);
  return found.length ? found : null;
}
"""


def text_inputs_js(host_tag: str) -> str:
    """The centres of the visible text inputs inside the element ``host_tag``.

    In document order, shadow roots included; null until there is one.
    """
    return _call(_TEXT_INPUTS, host_tag)


async def type_into(page: Page, x: float, y: float, text: str) -> None:
    """Click at (x, y) and type ``text`` as if from the keyboard."""
    for kind in ("mousePressed", "mouseReleased"):
        await page.send(
            "Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1
        )
    await page.send("Input.insertText", text=text)
