"""Conformance tooling: record real dashboards, replay them, compare shapes, check one live."""
