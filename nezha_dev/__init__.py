"""Development tools shared by tests/ and scripts/: the simulated dashboard and the demo."""
