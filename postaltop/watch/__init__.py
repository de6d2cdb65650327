"""``postaltop watch``: the engine, detectors, notifications, metrics and recording without a UI."""
