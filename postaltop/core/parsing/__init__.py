"""Postal log lines: transport prefixes, v3 (Klogger go format), v2, the ingest scan and the full parse."""

from __future__ import annotations

from postaltop.core.parsing.fields import ParsedLine, parse_fields
from postaltop.core.parsing.prefixes import Stripped, strip_prefixes
from postaltop.core.parsing.scan import Scanner
from postaltop.core.parsing.scan_result import ScanResult, StreamState
from postaltop.core.parsing.v3 import KNOWN_TAG_KEYS

__all__ = [
    "KNOWN_TAG_KEYS",
    "ParsedLine",
    "ScanResult",
    "Scanner",
    "StreamState",
    "Stripped",
    "parse_fields",
    "strip_prefixes",
]
