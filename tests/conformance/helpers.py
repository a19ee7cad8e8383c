"""Recordings and the ``served`` fixture's value, shared by the conformance tests."""

from dataclasses import dataclass

import aiohttp
import pytest

from custom_components.nezha.client import NezhaV0Client, NezhaV1Client
from nezha_dev.conformance.recording import Recording, all_recordings
from nezha_dev.conformance.replay import ReplayServer, role_token

RECORDINGS = all_recordings()
V0 = [r for r in RECORDINGS if r.generation == "v0"]
V1 = [r for r in RECORDINGS if r.generation == "v1"]
D1 = next(r for r in V1 if r.directory.name == "v2-2.3.7-tsdb-off")


def by_recording(
    recordings: list[Recording], name: str = "recording", *, served: bool = False
) -> pytest.MarkDecorator:
    """Parametrise over recordings; ``served=True`` hands them to ``served``."""
    ids = [r.directory.name for r in recordings]
    if served:
        return pytest.mark.parametrize("served", recordings, ids=ids, indirect=True)
    return pytest.mark.parametrize(name, recordings, ids=ids)


@dataclass(slots=True)
class Served:
    """A recording served on loopback, and a session to read it with."""

    recording: Recording
    server: ReplayServer
    session: aiohttp.ClientSession

    def v0(self, role: str = "full") -> NezhaV0Client:
        """A v0 client holding ``role``'s token."""
        return NezhaV0Client(self.session, self.server.url, role_token(role, "v0"))

    def v1(self, role: str = "full") -> NezhaV1Client:
        """A v1 client holding ``role``'s token."""
        return NezhaV1Client(self.session, self.server.url, role_token(role, "v1"))
