"""Tests of config_flow.py: user, reauth, reconfigure and options flows."""
