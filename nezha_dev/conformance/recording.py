"""The on-disk format of recorded dashboard answers, and how they are sanitised.

One JSON file per exchange under ``tests/fixtures/real/<generation>-<version>/``:

    {"request": {"method": "GET", "path": "/api/v1/server", "query": {},
                 "auth": "full"},
     "response": {"status": 200, "headers": {"Content-Type": "..."},
                  "json": {...}}}          # or "text": "..." when not JSON

and one per WebSocket stretch (``"frames"`` instead of ``"response"``)::

    {
        "request": {"path": "/api/v1/ws/server", "auth": "full"},
        "handshake": {"status": 101, "headers": {...}},
        "frames": [{...}, ...],
        "gaps": [2.0, ...],
    }

``auth`` names the token's role (``none``, ``full``, ``member``, ...), never the
token itself. Sanitising replaces tokens, addresses outside the loopback and
documentation ranges, and the recording host's name by example values of the
same shape, so that shape comparisons stay meaningful.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
import ipaddress
import json
from pathlib import Path
import re
from typing import Any

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "real"
# Headers worth keeping: the ones the client or a user's report reads.
KEPT_HEADERS = ("Content-Type", "Date", "Location", "Retry-After", "Content-Encoding")

_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F]{0,4}(?![\w:])")
_PAT = re.compile(r"nzp_[0-9A-Za-z]{32}")
_SECRET_KEYS = re.compile(r"secret|password|token", re.IGNORECASE)


@dataclass(slots=True)
class _Answered:
    """A request (its path and how it authenticated) and the answer's status line."""

    path: str
    auth: str
    status: int
    headers: dict[str, str]


@dataclass(slots=True)
class Exchange(_Answered):
    """One recorded request and the dashboard's answer."""

    body: Any
    """The parsed JSON body, or the text when the body is not JSON."""
    is_json: bool
    query: dict[str, str] = field(default_factory=dict)
    method: str = "GET"

    @property
    def content_type(self) -> str:
        """The media type without parameters, as aiohttp reports it."""
        return self.headers.get("Content-Type", "").split(";", 1)[0].strip()

    def body_bytes(self) -> bytes:
        """The body as the dashboard sent it (JSON re-encoded compactly)."""
        if self.is_json:
            return json.dumps(self.body, ensure_ascii=False).encode()
        return str(self.body).encode()

    def to_json(self) -> dict[str, Any]:
        """The file representation."""
        response: dict[str, Any] = {"status": self.status, "headers": self.headers}
        response["json" if self.is_json else "text"] = self.body
        return {
            "request": {
                "method": self.method,
                "path": self.path,
                "query": self.query,
                "auth": self.auth,
            },
            "response": response,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Exchange:
        """Read the file representation."""
        request, response = data["request"], data["response"]
        is_json = "json" in response
        return cls(
            path=request["path"],
            auth=request["auth"],
            status=response["status"],
            headers=response["headers"],
            body=response["json"] if is_json else response["text"],
            is_json=is_json,
            query=request.get("query", {}),
            method=request.get("method", "GET"),
        )


@dataclass(slots=True)
class StreamRecording(_Answered):
    """A stretch of ``/api/v1/ws/server`` as one token saw it (status: the handshake's)."""

    frames: list[Any]
    gaps: list[float]
    """Seconds between consecutive frames."""

    def to_json(self) -> dict[str, Any]:
        """The file representation."""
        return {
            "request": {"path": self.path, "auth": self.auth},
            "handshake": {"status": self.status, "headers": self.headers},
            "frames": self.frames,
            "gaps": self.gaps,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StreamRecording:
        """Read the file representation."""
        return cls(
            path=data["request"]["path"],
            auth=data["request"]["auth"],
            status=data["handshake"]["status"],
            headers=data["handshake"]["headers"],
            frames=data["frames"],
            gaps=data["gaps"],
        )


@dataclass(slots=True)
class Recording:
    """Everything recorded from one dashboard."""

    directory: Path
    meta: dict[str, Any]
    exchanges: dict[str, Exchange]
    streams: dict[str, StreamRecording]

    @property
    def generation(self) -> str:
        """``v0`` or ``v1`` (the API generation, v2 dashboards speak v1)."""
        return str(self.meta["generation"])

    def exchange(self, name: str) -> Exchange:
        """The exchange recorded under ``name`` (the file name without .json)."""
        return self.exchanges[name]

    def matching(
        self, path_pattern: str, auth: str | None = None
    ) -> Iterator[Exchange]:
        """Exchanges whose path matches the regular expression (and role)."""
        pattern = re.compile(path_pattern)
        for exchange in self.exchanges.values():
            if pattern.fullmatch(exchange.path) and auth in (None, exchange.auth):
                yield exchange


def load(directory: Path) -> Recording:
    """Read a recording directory."""
    meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
    exchanges: dict[str, Exchange] = {}
    streams: dict[str, StreamRecording] = {}
    for file in sorted(directory.glob("*.json")):
        if file.name == "meta.json":
            continue
        data = json.loads(file.read_text(encoding="utf-8"))
        if "frames" in data:
            streams[file.stem] = StreamRecording.from_json(data)
        else:
            exchanges[file.stem] = Exchange.from_json(data)
    return Recording(directory, meta, exchanges, streams)


def all_recordings() -> list[Recording]:
    """Every recording directory under tests/fixtures/real."""
    if not FIXTURES.is_dir():
        return []
    return [load(d) for d in sorted(FIXTURES.iterdir()) if (d / "meta.json").is_file()]


def save(directory: Path, name: str, item: Exchange | StreamRecording) -> None:
    """Write one exchange or stream, pretty-printed for reviewable diffs."""
    directory.mkdir(parents=True, exist_ok=True)
    text = json.dumps(item.to_json(), ensure_ascii=False, indent=1, sort_keys=False)
    (directory / f"{name}.json").write_text(text + "\n", encoding="utf-8")


class Sanitiser:
    """Replaces what identifies the recording machine or grants access.

    Replacements keep the shape: a token stays ``nzp_`` + 32 alphanumerics, an
    IPv4 address stays a dotted quad (from 192.0.2.0/24), an IPv6 address one of
    2001:db8::/32, and equal inputs map to equal outputs.
    """

    def __init__(
        self, secrets: Iterable[str] = (), hostnames: Iterable[str] = ()
    ) -> None:
        """``secrets`` are replaced wherever they occur, longest first."""
        self._secrets = sorted(
            {s for s in secrets if len(s) >= 4}, key=len, reverse=True
        )
        self._hostnames = sorted(
            {h for h in hostnames if len(h) >= 3}, key=len, reverse=True
        )
        self._ipv4: dict[str, str] = {}
        self._ipv6: dict[str, str] = {}

    def text(self, value: str) -> str:
        """Sanitise one string."""
        for index, secret in enumerate(self._secrets):
            if secret in value:
                value = value.replace(secret, _placeholder(secret, index))
        for hostname in self._hostnames:
            value = value.replace(hostname, "example-host")
        value = _PAT.sub(_unknown_token, value)
        value = _IPV4.sub(self._v4, value)
        return _IPV6.sub(self._v6, value)

    def value(self, value: Any, key: str = "") -> Any:
        """Sanitise a JSON value recursively; secret-looking keys are blanked."""
        if isinstance(value, dict):
            return {k: self.value(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v, key) for v in value]
        if isinstance(value, str):
            if value and _SECRET_KEYS.search(key):
                return "x" * min(len(value), 32)
            return self.text(value)
        return value

    def _v4(self, match: re.Match[str]) -> str:
        text = match[0]
        try:
            address = ipaddress.IPv4Address(text)
        except ValueError:
            return text  # a version number such as 1.2.3.4 that is no address
        if _documentation(address) or address.is_loopback or address.is_unspecified:
            return text
        return self._ipv4.setdefault(text, f"192.0.2.{len(self._ipv4) + 1}")

    def _v6(self, match: re.Match[str]) -> str:
        text = match[0]
        try:
            address = ipaddress.IPv6Address(text)
        except ValueError:
            return text  # a clock time such as 12:00:00
        if _documentation(address) or address.is_loopback or address.is_unspecified:
            return text
        return self._ipv6.setdefault(text, f"2001:db8::{len(self._ipv6) + 1:x}")


def _documentation(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    nets = (
        ipaddress.ip_network("192.0.2.0/24"),
        ipaddress.ip_network("198.51.100.0/24"),
        ipaddress.ip_network("203.0.113.0/24"),
        ipaddress.ip_network("2001:db8::/32"),
    )
    return any(address.version == net.version and address in net for net in nets)


def _unknown_token(match: re.Match[str]) -> str:
    token = match[0]
    return token if token.startswith("nzp_example") else "nzp_" + "0" * 28 + "dead"


def _placeholder(secret: str, index: int) -> str:
    """An example value of the same shape as ``secret``."""
    if _PAT.fullmatch(secret):
        return "nzp_" + f"example{index:02d}".ljust(32, "0")
    filler = f"example{index:02d}"
    return (filler * (len(secret) // len(filler) + 1))[: len(secret)]
