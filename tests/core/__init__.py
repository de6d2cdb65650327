"""Tests of the pure core: parsing, facts, sanitising, ingest and line splitting."""

from __future__ import annotations

from pathlib import Path

SAMPLES = Path(__file__).resolve().parent / "samples"


def sample_lines(name: str) -> list[bytes]:
    """The physical lines of a sample file, as the line splitter would hand them over."""
    return (SAMPLES / name).read_bytes().split(b"\n")[:-1]
