"""Recordings of a monitoring session (log lines, metrics, alerts) for post-incident review and replay."""
