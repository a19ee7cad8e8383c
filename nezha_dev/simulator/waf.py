"""The v1 dashboard's WAF: strike counting and IP blocking.

Spec: ``nezha-api.md`` B.9 (source: ``model/waf.go``, ``controller/waf/waf.go``).
Rows are keyed by (client IP, identifier); a failed credential adds one strike to its
row. An IP is blocked while ``now < last_strike + max(3, n**4)`` seconds, ``n`` being
the sum over all of its rows. Strikes never decay: only a later success of the same
kind deletes its row. Timestamps are whole seconds, like the ``uint64`` column.
"""

from collections.abc import Callable
from dataclasses import dataclass
import ipaddress
import math
from typing import Final

from aiohttp import web

from .encoding import html_response
from .pages import WAF_BLOCK_PAGE

# Block identifiers (model/waf.go): negative ones are not user ids.
BLOCK_ID_MANUAL: Final = -124  # admin blocked an online user
BLOCK_ID_UNKNOWN_USER: Final = -125
BLOCK_ID_TOKEN: Final = -126  # bad PAT / JWT session
BLOCK_ID_GRPC: Final = -127
MANUAL_BLOCK_COUNT: Final = 99999
# web_real_ip_header value meaning "use the TCP peer address".
USE_PEER_IP: Final = "NZ::Use-Peer-IP"
BLOCK_MESSAGE: Final = "you were blocked by nezha WAF"


@dataclass(slots=True)
class _Row:
    count: int
    timestamp: int  # unix seconds of the latest strike


class Waf:
    """Strike table plus the global ``RealIp``/``Waf`` middleware logic."""

    def __init__(self, clock: Callable[[], float]) -> None:
        """Create an empty table that reads time from the simulator ``clock``."""
        self._clock = clock
        self._rows: dict[str, dict[int, _Row]] = {}
        self.real_ip_header = USE_PEER_IP

    # -- real IP ------------------------------------------------------------------

    def real_ip(self, request: web.Request) -> tuple[str, str | None]:
        """``waf.RealIp``: (client IP or "" when not configured, error text).

        With an empty ``web_real_ip_header`` no IP is known, so nothing is ever
        counted or blocked. A configured header that is missing or not an IP
        makes every request fail with a JSON error (HTTP 200).
        """
        header = self.real_ip_header
        if not header:
            return "", None
        if header == USE_PEER_IP:
            return request.remote or "", None
        value = request.headers.get(header, "")
        if not value:
            return "", "real ip header not found"
        last = value.split(",")[-1].strip()  # the proxy nearest to the dashboard
        try:
            return str(ipaddress.ip_address(last)), None
        except ValueError:
            return "", f'ParseAddr("{last}"): unable to parse IP'

    # -- strikes ------------------------------------------------------------------

    def strike(self, ip: str, identifier: int = BLOCK_ID_TOKEN) -> None:
        """``BlockIP``: one more strike (a manual block sets 99999)."""
        if not ip:
            return
        now = math.floor(self._clock())
        row = self._rows.setdefault(ip, {}).setdefault(identifier, _Row(0, now))
        row.count = (
            MANUAL_BLOCK_COUNT if identifier == BLOCK_ID_MANUAL else row.count + 1
        )
        row.timestamp = now

    def unblock(self, ip: str, identifier: int) -> None:
        """``UnblockIP``: a success deletes the row of its own identifier only."""
        rows = self._rows.get(ip)
        if rows is not None:
            rows.pop(identifier, None)
            if not rows:
                del self._rows[ip]

    def strikes(self, ip: str) -> int:
        """Sum of the strike counts of ``ip`` over all identifiers."""
        return sum(row.count for row in self._rows.get(ip, {}).values())

    def blocked_until(self, ip: str) -> int | None:
        """Unix second from which ``ip`` is allowed again, ``None`` if no rows."""
        rows = self._rows.get(ip)
        if not ip or not rows:
            return None
        latest = max(row.timestamp for row in rows.values())
        return latest + max(3, self.strikes(ip) ** 4)

    def is_blocked(self, ip: str) -> bool:
        """``CheckIP``: compared in whole seconds like the dashboard does."""
        until = self.blocked_until(ip)
        return until is not None and math.floor(self._clock()) < until

    def clear(self, ip: str | None = None) -> None:
        """Delete the rows of one IP, or all (Settings → WAF → delete)."""
        if ip is None:
            self._rows.clear()
        else:
            self._rows.pop(ip, None)

    def table(self) -> list[dict[str, object]]:
        """The rows as the admin API shows them."""
        return [
            {"ip": ip, "identifier": ident, "count": r.count, "timestamp": r.timestamp}
            for ip, rows in self._rows.items()
            for ident, r in rows.items()
        ]


def block_page() -> web.Response:
    """``ShowBlockPage``: HTTP 403 HTML, whatever the path or the client wanted."""
    return html_response(WAF_BLOCK_PAGE.replace("{error}", BLOCK_MESSAGE, 1), 403)
