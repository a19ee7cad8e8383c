"""What the coordinators need from a client, whatever the dashboard's generation."""

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .models import (
        ApiGeneration,
        Fleet,
        PingMonitor,
        ServerSummary,
        ServiceOverview,
    )


class NezhaClient(Protocol):
    """A dashboard client: ``NezhaV0Client`` and ``NezhaV1Client`` both are one.

    Capabilities only one generation has (the v1 stream and tasks) stay on that
    client; everything here works on both, so callers need no ``isinstance``.
    """

    @property
    def generation(self) -> ApiGeneration:
        """The dashboard's API generation."""

    @property
    def base_url(self) -> str:
        """The dashboard's normalised base URL."""

    async def async_list_servers(self, tag: str | None = None) -> list[ServerSummary]:
        """Return id, name and groups of every server the token may see."""

    async def async_get_fleet(self, tag: str | None = None) -> Fleet:
        """Return every server (of group ``tag``) with host facts and state."""

    async def async_get_ping_monitors(self, server_id: int) -> list[PingMonitor]:
        """Return the ping monitors of one server with their newest point."""

    async def async_get_service_overview(self) -> ServiceOverview:
        """Return the service monitors and traffic quotas (none on v0, no request)."""
