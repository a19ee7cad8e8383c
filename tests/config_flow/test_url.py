"""URL normalisation: what the form accepts, and the entry title it gives."""

from __future__ import annotations

import pytest

from custom_components.nezha.validation import InvalidUrlError, normalize_url, title_for

# --------------------------------------------------------------------------------
# URL normalisation
# --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected", "title"),
    [
        ("http://nezha.example.com", "http://nezha.example.com", "nezha.example.com"),
        (
            "https://nezha.example.com/",
            "https://nezha.example.com",
            "nezha.example.com",
        ),
        ("https://Nezha.EXAMPLE.com", "https://nezha.example.com", "nezha.example.com"),
        ("HTTPS://nezha.example.com", "https://nezha.example.com", "nezha.example.com"),
        (
            "https://nezha.example.com:443",
            "https://nezha.example.com",
            "nezha.example.com",
        ),
        (
            "http://nezha.example.com:80/",
            "http://nezha.example.com",
            "nezha.example.com",
        ),
        (
            "http://nezha.example.com:443",
            "http://nezha.example.com:443",
            "nezha.example.com:443",
        ),
        ("http://10.0.0.5:8008/", "http://10.0.0.5:8008", "10.0.0.5:8008"),
        ("https://example.com/nezha/", "https://example.com/nezha", "example.com"),
        (
            "https://EXAMPLE.com/Nezha/Panel//",
            "https://example.com/Nezha/Panel",
            "example.com",
        ),
        (
            "https://example.com/nezha?x=1#top",
            "https://example.com/nezha",
            "example.com",
        ),
        ("  https://example.com/  ", "https://example.com", "example.com"),
        ("http://[::1]:8008/", "http://[::1]:8008", "[::1]:8008"),
    ],
)
def test_normalize_url(raw: str, expected: str, title: str) -> None:
    """Canonical URL and the entry title derived from it."""
    assert normalize_url(raw) == expected
    assert normalize_url(expected) == expected  # idempotent
    assert title_for(expected) == title


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "nezha.example.com",
        "nezha.example.com:8008",
        "/nezha",
        "ftp://nezha.example.com",
        "mailto:admin@example.com",
        "http://",
        "http:///path",
        "http://user:pw@nezha.example.com",
        "http://user@nezha.example.com",
        "http://nezha example.com",
        "http://nezha.example.com/my dashboard",
        "http://nezha.example.com:abc",
        "http://nezha.example.com:99999",
        "http://nezha.example.com:0",
        "http://[::1",
        "http://nezha<example.com",
    ],
)
def test_normalize_url_rejects(raw: str) -> None:
    """Anything that is not an http(s) URL with a host is refused."""
    with pytest.raises(InvalidUrlError):
        normalize_url(raw)
