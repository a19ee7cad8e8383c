"""Custom integrations; this file makes the directory an importable package for tests."""
