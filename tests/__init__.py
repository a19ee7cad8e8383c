"""Tests of the Nezha integration."""
