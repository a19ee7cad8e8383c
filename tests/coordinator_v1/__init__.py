"""Tests of coordinator_v1.py: live stream, auth failures, frozen-clock behaviour."""
