"""Shared test helpers: service gating, real MariaDB and sshd fixtures."""
