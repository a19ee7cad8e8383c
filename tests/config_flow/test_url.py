"""URL normalisation: what the form accepts, and the entry title it gives."""

from __future__ import annotations

import pytest

from custom_components.nezha.validation import InvalidUrlError, normalize_url, title_for

H = "nezha.example.com"


@pytest.mark.parametrize(
    ("raw", "expected", "title"),
    [
        (f"http://{H}", f"http://{H}", H),
        (f"https://{H}/", f"https://{H}", H),
        ("https://Nezha.EXAMPLE.com", f"https://{H}", H),
        (f"HTTPS://{H}", f"https://{H}", H),
        (f"https://{H}:443", f"https://{H}", H),
        (f"http://{H}:80/", f"http://{H}", H),
        (f"http://{H}:443", f"http://{H}:443", f"{H}:443"),
        ("http://10.0.0.5:8008/", "http://10.0.0.5:8008", "10.0.0.5:8008"),
        ("https://example.com/nezha/", "https://example.com/nezha", "example.com"),
        ("https://EXAMPLE.com/Nezha/Panel//", "https://example.com/Nezha/Panel", "example.com"),
        ("https://example.com/nezha?x=1#top", "https://example.com/nezha", "example.com"),
        ("  https://example.com/  ", "https://example.com", "example.com"),
        ("http://[::1]:8008/", "http://[::1]:8008", "[::1]:8008"),
    ],
)  # fmt: skip
def test_normalize_url(raw: str, expected: str, title: str) -> None:
    """Canonical URL and the entry title derived from it."""
    assert normalize_url(raw) == expected
    assert normalize_url(expected) == expected  # idempotent
    assert title_for(expected) == title


@pytest.mark.parametrize(
    "raw",
    [
        "", "   ", H, f"{H}:8008", "/nezha", f"ftp://{H}", "mailto:admin@example.com",
        "http://", "http:///path", f"http://user:pw@{H}", f"http://user@{H}",
        "http://nezha example.com", f"http://{H}/my dashboard", f"http://{H}:abc",
        f"http://{H}:99999", f"http://{H}:0", "http://[::1", "http://nezha<example.com",
    ],
)  # fmt: skip
def test_normalize_url_rejects(raw: str) -> None:
    """Anything that is not an http(s) URL with a host is refused."""
    with pytest.raises(InvalidUrlError):
        normalize_url(raw)
