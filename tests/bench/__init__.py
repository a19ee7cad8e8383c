"""The performance benchmark behind ``scripts/bench`` (not part of the test suite)."""
