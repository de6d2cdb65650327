"""Adapters that persist postaltop state on disk (XDG state/data directories)."""
