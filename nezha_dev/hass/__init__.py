"""A real Home Assistant next to the simulator: the processes, a headless browser, screenshots."""
