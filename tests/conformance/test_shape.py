"""Per recorded request, the simulator answers with the real dashboard's shape.

Same status, content type, error text and body shape (keys; null vs an empty list;
times with a zone, Go's zero time): a renamed or invented field fails here.
"""

import pytest

from nezha_dev.conformance.compare import compare
from nezha_dev.conformance.recording import Recording
from nezha_dev.simulator import v1, v1_render

from .helpers import RECORDINGS, by_recording


@by_recording(RECORDINGS)
async def test_simulator_answers_like_the_recording(
    recording: Recording, socket_enabled: None
) -> None:
    """Every request in the recorded order: REST answers and stream handshakes/frames."""
    problems = await compare(recording)
    assert not problems, "\n".join(problems)


async def test_the_comparison_is_not_vacuous(
    monkeypatch: pytest.MonkeyPatch, socket_enabled: None
) -> None:
    """Both generations are recorded, and one renamed simulator key fails it."""
    generations = {r.generation for r in RECORDINGS}
    assert generations == {"v0", "v1"}, generations
    original = v1_render.server_json

    def renamed(*args: object, **kwargs: object) -> dict[str, object]:
        record = original(*args, **kwargs)  # type: ignore[arg-type]
        record["lastActive"] = record.pop("last_active")
        return record

    monkeypatch.setattr(v1, "server_json", renamed)
    recording = next(r for r in RECORDINGS if r.directory.name == "v2-2.3.7-tsdb-on")
    problems = await compare(recording)
    for expected in (
        "$.data[].last_active: real ['time'], simulator lacks it",
        "$.data[].lastActive: simulator ['time'], real lacks it",
    ):
        assert any(expected in p for p in problems), problems
