"""Resident memory of the running process, for every benchmark's JSON (``peak_rss_mb``).

``resource.getrusage(...).ru_maxrss`` is not used: Linux carries it over ``fork``/``exec`` from
the parent, so a benchmark started by another one (or by a test) would report the parent's peak.
``/proc/self/status`` has the process's own current (``VmRSS``) and peak (``VmHWM``) figures.
"""

from __future__ import annotations


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def rss_mb() -> float:
    """Resident memory now, in MiB."""
    return _status_kib("VmRSS") / 1024


def peak_rss_mb() -> float:
    """The most resident memory this process has had, in MiB."""
    return _status_kib("VmHWM") / 1024
