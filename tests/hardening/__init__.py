"""Hardening: a hostile or broken dashboard, flooding agents, a clean shutdown."""
