"""Personal access tokens (``nzp_…``) of the v1 dashboard (v2.1.0+).

Spec: ``nezha-api.md`` B.3.2. The dashboard stores only a hash; here the plaintext is
the key, which changes nothing observable. Every token belongs to the admin user,
so a token that passes its scope check gets the admin view, narrowed only by its
optional ``server_ids`` allow-list.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
import secrets
import string
from typing import Final

PAT_PREFIX: Final = "nzp_"
PAT_ALPHABET: Final = string.digits + string.ascii_letters

SCOPE_INVENTORY_READ: Final = "nezha:inventory:read"
SCOPE_SERVER_READ: Final = "nezha:server:read"
SCOPE_SERVICE_READ: Final = "nezha:service:read"
# What the integration asks users for (B.3.2 "recommended minimal set").
DEFAULT_SCOPES: Final = (SCOPE_INVENTORY_READ, SCOPE_SERVICE_READ, SCOPE_SERVER_READ)


def generate_token() -> str:
    """A random v0-style API token: 32 characters of ``[0-9A-Za-z]``."""
    return "".join(secrets.choice(PAT_ALPHABET) for _ in range(32))


def generate_pat() -> str:
    """A random token in the dashboard's format: ``nzp_`` + 32 of ``[0-9A-Za-z]``."""
    return PAT_PREFIX + generate_token()


def scope_matches(owned: str, wanted: str) -> bool:
    """``model.scopeMatches``: exact, ``nezha:<res>:*`` or ``nezha:*`` (admin)."""
    if owned == wanted:
        return True
    if owned == "nezha:*":
        return wanted.startswith("nezha:")
    if owned.endswith(":*"):
        prefix = owned.removesuffix(":*")
        return wanted.startswith(prefix + ":") or wanted == prefix
    return False


@dataclass(slots=True)
class ApiToken:
    """One stored PAT."""

    id: int
    token: str
    scopes: tuple[str, ...]
    expires_at: float | None  # simulator clock; None = never
    server_ids: frozenset[int] | None  # allow-list; None (or empty) = all servers
    member: bool = False  # issued by a member (non-admin) user

    def has_scope(self, scope: str) -> bool:
        """Whether any granted scope covers ``scope``."""
        return any(scope_matches(owned, scope) for owned in self.scopes)

    def can_access(self, sid: int) -> bool:
        """``CanAccessServer``: an empty allow-list means every server."""
        return not self.server_ids or sid in self.server_ids

    def expired(self, now: float) -> bool:
        """``now.After(ExpiresAt)``: still valid at the exact expiry instant."""
        return self.expires_at is not None and now > self.expires_at


class TokenStore:
    """The ``api_tokens`` table: add, look up, delete."""

    def __init__(self) -> None:
        """Start empty."""
        self._tokens: dict[str, ApiToken] = {}
        self._next_id = 1

    def add(
        self,
        *,
        scopes: Iterable[str],
        expires_at: float | None,
        server_ids: Iterable[int] | None,
        token: str | None = None,
        member: bool = False,
    ) -> ApiToken:
        """Store a token (random plaintext unless given) and return it."""
        plaintext = generate_pat() if token is None else token
        if not plaintext.startswith(PAT_PREFIX):
            # The middleware only looks at "Bearer nzp_…"; anything else would
            # silently go to JWT handling, which is never what a test means.
            raise ValueError(f"a personal access token starts with {PAT_PREFIX!r}")
        if plaintext in self._tokens:
            raise ValueError("token already exists")
        if isinstance(scopes, str):
            raise TypeError("scopes must be an iterable of scope strings")
        scope_tuple = tuple(scopes)
        entry = ApiToken(
            id=self._next_id,
            token=plaintext,
            scopes=scope_tuple,
            expires_at=expires_at,
            server_ids=None if server_ids is None else frozenset(server_ids),
            member=member,
        )
        self._next_id += 1
        self._tokens[plaintext] = entry
        return entry

    def get(self, token: str) -> ApiToken | None:
        """The stored token, or ``None`` if unknown or deleted."""
        return self._tokens.get(token)

    def revoke(self, token: str) -> ApiToken | None:
        """Delete a token; returns it, or ``None`` if it did not exist."""
        return self._tokens.pop(token, None)

    def __iter__(self) -> Iterator[ApiToken]:
        """Tokens in creation order."""
        return iter(self._tokens.values())

    def __len__(self) -> int:
        """Number of stored tokens."""
        return len(self._tokens)
